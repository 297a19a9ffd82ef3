"""users and their areas, audit log, login throttling, citizens' Open311 requests;
indexes for the API's lists

Revision ID: 0005
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("district_id", sa.String(32), sa.ForeignKey("districts.id")),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        # Bumped to make every token issued so far invalid (password change, disabling).
        sa.Column("token_version", sa.Integer, nullable=False),
        sa.Column("disabled", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "user_areas",
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("area_id", sa.String(64), sa.ForeignKey("areas.id"), primary_key=True),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.Float, nullable=False, index=True),
        sa.Column("actor", sa.String(64), nullable=False, index=True),
        sa.Column("action", sa.String(48), nullable=False, index=True),
        sa.Column("target", sa.String(128), nullable=False, index=True),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("ip", sa.String(64)),
    )
    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("at", sa.Float, nullable=False),
    )
    op.create_index("ix_login_failures_key_at", "login_failures", ["key", "at"])
    op.create_table(
        "citizen_requests",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("service_code", sa.String(64), nullable=False),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("lat", sa.Float), sa.Column("lon", sa.Float),
        sa.Column("address", sa.String(500)),
        # Who reported it: never shown by the public Open311 endpoints.
        sa.Column("email", sa.String(254)), sa.Column("first_name", sa.String(100)),
        sa.Column("last_name", sa.String(100)), sa.Column("phone", sa.String(50)),
        sa.Column("media_url", sa.String(1000)),
        sa.Column("attributes", sa.Text, nullable=False),  # JSON: attribute[...] as sent
        sa.Column("external_id", sa.String(100)),  # e.g. FixMyStreet's report id
        sa.Column("client", sa.String(64)),  # which api_key (by index) or "public"
        sa.Column("requested_at", sa.Float, nullable=False, index=True),
        sa.Column("updated_at", sa.Float, nullable=False, index=True),
        sa.Column("status", sa.String(16), nullable=False, index=True),  # open | closed
        sa.Column("status_notes", sa.Text, nullable=False),
        # The nearest node and what its sensor said when the report came in.
        sa.Column("node_id", sa.String(63), sa.ForeignKey("nodes.id"), index=True),
        sa.Column("distance_m", sa.Float),
        sa.Column("verdict", sa.String(16), nullable=False),
        sa.Column("district_id", sa.String(32), sa.ForeignKey("districts.id"), index=True),
        sa.Column("area_id", sa.String(64), sa.ForeignKey("areas.id"), index=True),
        sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id"), index=True),
        sa.Column("alert_id", sa.Integer, sa.ForeignKey("alerts.id"), index=True),
        sa.Column("evidence", sa.Text, nullable=False),  # JSON: the node's last readings
        sa.Column("closed_by", sa.String(64)),
        sa.Column("closed_at", sa.Float),
    )
    # The crew's queue (district, outstanding, by priority then SLA) and the admin's.
    op.create_index("ix_tickets_district_queue", "tickets",
                    ["district_id", "status", "priority", "sla_due", "id"])
    op.create_index("ix_tickets_queue", "tickets", ["priority", "sla_due", "id"])
    op.create_index("ix_tickets_area_queue", "tickets", ["area_id", "priority", "sla_due"])
    # The alert feed of an area or district, newest first.
    op.create_index("ix_alerts_area_started", "alerts", ["area_id", "started_at"])
    op.create_index("ix_alerts_district_started", "alerts", ["district_id", "started_at"])
    # Nearest node to a citizen's report (a bounding box on latitude first).
    op.create_index("ix_nodes_lat_lon", "nodes", ["lat", "lon"])


def downgrade() -> None:
    for name, table in (("ix_nodes_lat_lon", "nodes"),
                        ("ix_alerts_district_started", "alerts"),
                        ("ix_alerts_area_started", "alerts"),
                        ("ix_tickets_area_queue", "tickets"), ("ix_tickets_queue", "tickets"),
                        ("ix_tickets_district_queue", "tickets")):
        op.drop_index(name, table_name=table)
    for table in ("citizen_requests", "login_failures", "audit_log", "user_areas", "users"):
        op.drop_table(table)
