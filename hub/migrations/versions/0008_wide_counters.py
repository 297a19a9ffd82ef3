"""node_seq.max_seq and nodes.session as 64-bit integers

Revision ID: 0008
Revises: 0007

Both are numbers a node chooses (DESIGN.md §4 only asks that they increase); firmware that
counts in clock milliseconds passes 2**31 at once. SQLite's INTEGER holds 64 bits already;
PostgreSQL's is 32, and a reading it refused would hold ingest on its batch for good.
"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

COLUMNS = (("node_seq", "max_seq"), ("nodes", "session"))


def upgrade() -> None:
    # Only PostgreSQL: on SQLite the type is the same, and changing it there would copy
    # `nodes` (batch mode), which the foreign keys of alerts and tickets refuse.
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in COLUMNS:
        op.alter_column(table, column, type_=sa.BigInteger(), existing_type=sa.Integer(),
                        existing_nullable=False)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for table, column in COLUMNS:
        op.alter_column(table, column, type_=sa.Integer(), existing_type=sa.BigInteger(),
                        existing_nullable=False)
