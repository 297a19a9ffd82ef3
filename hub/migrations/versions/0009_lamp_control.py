"""lamp control: programs, their assignments, each node's retained config and its
acknowledgement, overrides, energy against the full-on baseline (DESIGN.md §11)

Revision ID: 0009_lamp_control
Revises: 0008
"""
import sqlalchemy as sa
from alembic import op

revision = "0009_lamp_control"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "programs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False, index=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("sha", sa.String(64), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.UniqueConstraint("name", "version"))
    op.create_table(
        "program_assignments",
        sa.Column("scope", sa.String(8), primary_key=True),
        sa.Column("target", sa.String(64), primary_key=True),
        sa.Column("program", sa.String(64), nullable=False, index=True),
        sa.Column("assigned_by", sa.String(64), nullable=False),
        sa.Column("assigned_at", sa.Float, nullable=False))
    op.create_table(
        "node_config",
        sa.Column("node_id", sa.String(63), sa.ForeignKey("nodes.id"), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("sha", sa.String(64)),
        sa.Column("content", sa.Text),
        sa.Column("program", sa.String(64)),
        sa.Column("program_version", sa.Integer),
        sa.Column("floor", sa.Boolean, nullable=False),
        sa.Column("changed_at", sa.Float),
        sa.Column("published_version", sa.Integer, nullable=False, index=True),
        sa.Column("published_at", sa.Float),
        sa.Column("acked_version", sa.Integer),
        sa.Column("running_sha", sa.String(128)),
        sa.Column("acked_at", sa.Float),
        sa.Column("rejected_version", sa.Integer),
        sa.Column("rejected_reason", sa.String(256)))
    op.create_table(
        "overrides",
        sa.Column("node_id", sa.String(63), sa.ForeignKey("nodes.id"), primary_key=True),
        sa.Column("level", sa.Integer, nullable=False),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("until", sa.Float, nullable=False, index=True),
        sa.Column("issued_by", sa.String(64), nullable=False),
        sa.Column("command_id", sa.String(64), nullable=False),
        sa.Column("ended_at", sa.Float))
    op.create_table(
        "lamp_energy",
        sa.Column("node_id", sa.String(63), sa.ForeignKey("nodes.id"), primary_key=True),
        sa.Column("used_wh", sa.Float, nullable=False),
        sa.Column("baseline_wh", sa.Float, nullable=False),
        sa.Column("last_ts", sa.Float, nullable=False))


def downgrade() -> None:
    for table in ("lamp_energy", "overrides", "node_config", "program_assignments",
                  "programs"):
        op.drop_table(table)
