"""several hub workers: the rules' inbox per partition, partition leases, and the workers'
membership (DESIGN.md §9)

Revision ID: 0010_workers
Revises: 0009w
"""
import sqlalchemy as sa
from alembic import op

revision = "0010_workers"
down_revision = "0009w"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rule_inbox",
        # BIGINT on PostgreSQL; SQLite's INTEGER PRIMARY KEY is the rowid (64-bit anyway)
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True,
                  autoincrement=True),
        sa.Column("part", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(1), nullable=False),
        sa.Column("node_id", sa.String(63), nullable=False),
        # event time a reading or event is judged in order of (NULL: a status change)
        sa.Column("ts", sa.Float),
        sa.Column("body", sa.Text, nullable=False))
    op.create_index("ix_rule_inbox_part_id", "rule_inbox", ["part", "id"])
    op.create_table(
        "rule_leases",
        sa.Column("part", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("owner", sa.String(128), nullable=False),
        sa.Column("epoch", sa.Integer, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False))
    op.create_table(
        "hub_workers",
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("roles", sa.String(64), nullable=False),
        sa.Column("heard_at", sa.Float, nullable=False),
        sa.Column("listening", sa.Boolean, nullable=False),
        sa.Column("backlog", sa.Integer, nullable=False),
        sa.Column("session", sa.Boolean, nullable=False),
        sa.Column("watermark", sa.Float),
        sa.Column("adopted_by", sa.String(128)),
        sa.Column("adopted_at", sa.Float))


def downgrade() -> None:
    op.drop_table("hub_workers")
    op.drop_table("rule_leases")
    op.drop_table("rule_inbox")
