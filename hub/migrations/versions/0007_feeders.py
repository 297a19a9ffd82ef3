"""nodes.feeder: the electricity feeder a lamp is supplied from, for feeder power cuts

Revision ID: 0007
Revises: 0005

(A branch from 0005, beside 0006: hub.db.migrate upgrades every head.)
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A slug like an area's id, set at provisioning; NULL where nobody knows the feeder
    # (the node's area still counts for power cuts).
    op.add_column("nodes", sa.Column("feeder", sa.String(64)))
    op.create_index("ix_nodes_feeder", "nodes", ["feeder"])


def downgrade() -> None:
    op.drop_index("ix_nodes_feeder", table_name="nodes")
    # Not batch mode: on SQLite that copies `nodes` and drops the original, which the
    # foreign keys of alerts and tickets refuse; SQLite drops a column itself since 3.35.
    op.execute("ALTER TABLE nodes DROP COLUMN feeder")
