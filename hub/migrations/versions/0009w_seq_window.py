"""node_seq.seen: which seqs below the mark were stored, for several ingest workers

Revision ID: 0009w
Revises: 0008

Workers sharing a node's messages round-robin commit them out of order, so the mark alone
cannot tell a duplicate from a reading another worker has not committed yet (hub/dedup.py).
NULL (rows from before): everything below the mark counts as seen, as it did.
"""
import sqlalchemy as sa
from alembic import op

revision = "0009w"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("node_seq", sa.Column("seen", sa.LargeBinary()))


def downgrade() -> None:
    op.execute("ALTER TABLE node_seq DROP COLUMN seen")
