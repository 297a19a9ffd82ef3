"""ticket_history.idempotency_key and .recorded_at: crews' updates sent again after a bad
network are applied once; ticket_photos: the photos that prove a repair

Revision ID: 0009_ticket_updates
Revises: 0008

A phone that queued a ticket update offline sends it with a key it made up; the unique
index lets the database, not a hub worker's memory, decide that a retry (to any worker)
was applied already. `at` becomes the time the crew acted, `recorded_at` when the hub
heard of it (NULL for rows from before: they were the same).
"""
import sqlalchemy as sa
from alembic import op

revision = "0009_ticket_updates"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("ticket_history", sa.Column("idempotency_key", sa.String(64)))
    op.add_column("ticket_history", sa.Column("recorded_at", sa.Float()))
    op.create_index("ix_ticket_history_idempotency_key", "ticket_history",
                    ["idempotency_key"], unique=True)
    op.create_table(
        "ticket_photos",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("ticket_id", sa.Integer(), sa.ForeignKey("tickets.id"), nullable=False),
        sa.Column("history_id", sa.Integer(), sa.ForeignKey("ticket_history.id")),
        sa.Column("key", sa.String(64), nullable=False, unique=True),
        sa.Column("token", sa.String(64), nullable=False, unique=True),
        sa.Column("content_type", sa.String(32), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by", sa.String(64), nullable=False),
        sa.Column("uploaded_at", sa.Float(), nullable=False),
    )
    op.create_index("ix_ticket_photos_ticket_id", "ticket_photos", ["ticket_id"])
    op.create_index("ix_ticket_photos_history_id", "ticket_photos", ["history_id"])


def downgrade() -> None:
    op.drop_table("ticket_photos")
    op.drop_index("ix_ticket_history_idempotency_key", table_name="ticket_history")
    # SQLite drops a column itself since 3.35 (batch mode would copy the table).
    op.execute("ALTER TABLE ticket_history DROP COLUMN recorded_at")
    op.execute("ALTER TABLE ticket_history DROP COLUMN idempotency_key")
