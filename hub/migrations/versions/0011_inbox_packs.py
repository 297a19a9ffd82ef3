"""the rules' inbox in packs: one row per partition per ingest batch

Revision ID: 0011_inbox_packs
Revises: 0010_workers

A row per reading was an INSERT by ingest and a DELETE by the rules for every reading, a
third of the database's work with 100 000 nodes (bench/city.py). A pack (`kind` 'p') holds
a batch's entries of one partition, `n` of them, `ts` the newest event time among them,
and no single node. Rows filed before this migration are single entries (`n` 1) and are
still read as they were.
"""
import sqlalchemy as sa
from alembic import op

revision = "0011_inbox_packs"
down_revision = "0010_workers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rule_inbox") as t:
        t.add_column(sa.Column("n", sa.Integer, nullable=False, server_default="1"))
        t.alter_column("node_id", existing_type=sa.String(63), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("rule_inbox") as t:
        t.drop_column("n")
