"""alerts, tickets and their history, rule timers, lamp counters, unsafe-spot scores,
imported incidents, notification outbox

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("rule", sa.String(32), nullable=False, index=True),
        sa.Column("state", sa.String(16), nullable=False, index=True),
        sa.Column("node_id", sa.String(63), sa.ForeignKey("nodes.id"), index=True),
        sa.Column("district_id", sa.String(32), sa.ForeignKey("districts.id"), nullable=False,
                  index=True),
        sa.Column("area_id", sa.String(64), sa.ForeignKey("areas.id"), nullable=False,
                  index=True),
        sa.Column("started_at", sa.Float, nullable=False, index=True),
        sa.Column("ended_at", sa.Float),
        sa.Column("ticket_id", sa.Integer),
        sa.Column("historical", sa.Boolean, nullable=False),
        sa.Column("acknowledged_by", sa.String(64)),
        sa.Column("acknowledged_at", sa.Float),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("open_key", sa.String(128), unique=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False, index=True),
    )
    op.create_table(
        "tickets",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("alert_id", sa.Integer, sa.ForeignKey("alerts.id"), index=True),
        sa.Column("node_id", sa.String(63), sa.ForeignKey("nodes.id"), nullable=False,
                  index=True),
        sa.Column("district_id", sa.String(32), sa.ForeignKey("districts.id"), nullable=False,
                  index=True),
        sa.Column("area_id", sa.String(64), sa.ForeignKey("areas.id"), nullable=False,
                  index=True),
        sa.Column("fault", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("priority", sa.Integer, nullable=False, index=True),
        sa.Column("opened_at", sa.Float, nullable=False),
        sa.Column("sla_due", sa.Float, nullable=False, index=True),
        sa.Column("assigned_to", sa.String(64)),
        sa.Column("fixed_at", sa.Float),
        sa.Column("verified_at", sa.Float),
        sa.Column("escalated_at", sa.Float),
        sa.Column("evidence", sa.Text, nullable=False),
        sa.Column("open_key", sa.String(128), unique=True),
        sa.Column("updated_at", sa.Float, nullable=False, index=True),
    )
    op.create_table(
        "ticket_history",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id"), nullable=False,
                  index=True),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("from_status", sa.String(16)),
        sa.Column("to_status", sa.String(16), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
    )
    op.create_table(
        "rule_state",
        sa.Column("subject", sa.String(128), primary_key=True),
        sa.Column("rule", sa.String(32), primary_key=True),
        sa.Column("state", sa.Text, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "lamp_stats",
        sa.Column("node_id", sa.String(63), sa.ForeignKey("nodes.id"), primary_key=True),
        sa.Column("burning_s", sa.Float, nullable=False),
        sa.Column("switch_on_count", sa.Integer, nullable=False),
        sa.Column("energy_wh", sa.Float, nullable=False),
        sa.Column("lamp_on", sa.Boolean),
        sa.Column("last_ts", sa.Float),
        sa.Column("last_energy_wh", sa.Float),
    )
    op.create_table(
        "spot_scores",
        sa.Column("node_id", sa.String(63), sa.ForeignKey("nodes.id"), primary_key=True),
        sa.Column("night", sa.String(10), primary_key=True),
        sa.Column("dark_minutes", sa.Float, nullable=False),
        sa.Column("exposure", sa.Float, nullable=False),
        sa.Column("score", sa.Float, nullable=False, index=True),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_table(
        "incidents",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ts", sa.Float, nullable=False, index=True),
        sa.Column("lat", sa.Float, nullable=False),
        sa.Column("lon", sa.Float, nullable=False),
        sa.Column("category", sa.String(64), nullable=False),
        sa.Column("source", sa.String(256), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False, unique=True),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_key", sa.String(160), nullable=False),
        sa.Column("subscriber", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.Float, nullable=False, index=True),
        sa.Column("delivered_at", sa.Float, index=True),
        sa.Column("last_error", sa.Text),
        sa.UniqueConstraint("event_key", "subscriber"),
    )


def downgrade() -> None:
    for table in ("outbox", "incidents", "spot_scores", "lamp_stats", "rule_state",
                  "ticket_history", "tickets", "alerts"):
        op.drop_table(table)
