"""fewer rows written per reading: the rules' inbox in packs, last heard with the seq mark

Revision ID: 0011_fewer_writes
Revises: 0010_workers

With 100 000 nodes each reading cost PostgreSQL an inbox INSERT and DELETE and an UPDATE
of `nodes.last_seen`, besides its seq mark (bench/city.py).
- rule_inbox: a pack (`kind` 'p') holds a batch's entries of one partition, `n` of them,
  `ts` the newest event time among them, and no single node. Rows filed before this
  migration are single entries (`n` 1) and are still read as they were.
- node_seq.heard_at: when the node's newest reading or event was received, written with
  the mark; `nodes.last_seen` keeps the other messages (status, command results). A node's
  last seen is the later of the two. NULL: nothing received since the migration.
"""
import sqlalchemy as sa
from alembic import op

revision = "0011_fewer_writes"
down_revision = "0010_workers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rule_inbox") as t:
        t.add_column(sa.Column("n", sa.Integer, nullable=False, server_default="1"))
        t.alter_column("node_id", existing_type=sa.String(63), nullable=True)
    op.add_column("node_seq", sa.Column("heard_at", sa.Float))


def downgrade() -> None:
    op.execute("ALTER TABLE node_seq DROP COLUMN heard_at")
    with op.batch_alter_table("rule_inbox") as t:
        t.drop_column("n")
