"""node registry, ingest cursor, deduplication and dead letters

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

KARACHI_DISTRICTS = [
    ("central", "Central"), ("east", "East"), ("keamari", "Keamari"), ("korangi", "Korangi"),
    ("malir", "Malir"), ("south", "South"), ("west", "West"), ("unassigned", "Unassigned"),
]


def upgrade() -> None:
    districts = op.create_table(
        "districts",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("name", sa.String(100), nullable=False),
    )
    areas = op.create_table(
        "areas",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("district_id", sa.String(32), sa.ForeignKey("districts.id"), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
    )
    op.create_table(
        "nodes",
        sa.Column("id", sa.String(63), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("district_id", sa.String(32), sa.ForeignKey("districts.id"), nullable=False),
        sa.Column("area_id", sa.String(64), sa.ForeignKey("areas.id"), nullable=False),
        sa.Column("lat", sa.Float), sa.Column("lon", sa.Float),
        sa.Column("pole", sa.String(32)), sa.Column("rated_w", sa.Float),
        sa.Column("profile", sa.String(128)),
        sa.Column("provisioned_at", sa.Float), sa.Column("first_seen", sa.Float),
        sa.Column("last_seen", sa.Float),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("status_reason", sa.String(16)), sa.Column("status_at", sa.Float),
        sa.Column("session", sa.Integer, nullable=False),
        sa.Column("fw", sa.String(64)), sa.Column("reported_profile", sa.String(128)),
        sa.Column("config_sha", sa.String(128)),
        sa.Column("clock_faults", sa.Integer, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False, server_default="0"),
    )
    op.create_index("ix_nodes_district_id", "nodes", ["district_id"])
    op.create_index("ix_nodes_area_id", "nodes", ["area_id"])
    op.create_index("ix_nodes_updated_at", "nodes", ["updated_at"])
    op.create_table(
        "node_seq",
        sa.Column("node_id", sa.String(63), primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("max_seq", sa.Integer, nullable=False),
        sa.Column("last_ts", sa.Float, nullable=False),
    )
    op.create_table(
        "ingest_cursor",
        sa.Column("worker", sa.String(128), primary_key=True),
        sa.Column("cursor", sa.String(64), nullable=False),
    )
    op.create_table(
        "dead_letters",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("received_at", sa.Float, nullable=False),
        sa.Column("topic", sa.String(256), nullable=False),
        sa.Column("node_id", sa.String(256)),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("payload", sa.LargeBinary, nullable=False),
    )
    op.create_index("ix_dead_letters_received_at", "dead_letters", ["received_at"])
    op.create_index("ix_dead_letters_node_id", "dead_letters", ["node_id"])
    op.create_index("ix_dead_letters_reason", "dead_letters", ["reason"])
    op.bulk_insert(districts, [{"id": i, "name": n} for i, n in KARACHI_DISTRICTS])
    op.bulk_insert(areas, [{"id": "unassigned", "district_id": "unassigned",
                            "name": "Unassigned"}])


def downgrade() -> None:
    for table in ("dead_letters", "ingest_cursor", "node_seq", "nodes", "areas", "districts"):
        op.drop_table(table)
