"""commissioning and commands: a node's lamp model, its last self-test and when it was
commissioned; commands sent to nodes and their answers

Revision ID: 0006
Revises: 0005
"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMNs (nullable, no constraint): no table rebuild on SQLite.
    op.add_column("nodes", sa.Column("lamp_model", sa.String(64)))
    op.add_column("nodes", sa.Column("commissioned_at", sa.Float))
    op.add_column("nodes", sa.Column("selftest_at", sa.Float))
    op.add_column("nodes", sa.Column("selftest_ok", sa.Boolean))
    op.add_column("nodes", sa.Column("selftest", sa.Text))
    op.create_table(
        "commands",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("node_id", sa.String(63), sa.ForeignKey("nodes.id"), nullable=False,
                  index=True),
        sa.Column("cmd", sa.String(32), nullable=False),
        sa.Column("args", sa.Text, nullable=False),
        sa.Column("issued_by", sa.String(64), nullable=False),
        sa.Column("issued_at", sa.Float, nullable=False, index=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("ok", sa.Boolean),
        sa.Column("result", sa.Text),
        sa.Column("answered_at", sa.Float),
    )


def downgrade() -> None:
    op.drop_table("commands")
    with op.batch_alter_table("nodes") as batch:
        for column in ("selftest", "selftest_ok", "selftest_at", "commissioned_at",
                       "lamp_model"):
            batch.drop_column(column)
