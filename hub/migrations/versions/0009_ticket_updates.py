"""ticket_history.idempotency_key and .recorded_at: crews' updates sent again after a bad
network are applied once

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


def downgrade() -> None:
    op.drop_index("ix_ticket_history_idempotency_key", table_name="ticket_history")
    # SQLite drops a column itself since 3.35 (batch mode would copy the table).
    op.execute("ALTER TABLE ticket_history DROP COLUMN recorded_at")
    op.execute("ALTER TABLE ticket_history DROP COLUMN idempotency_key")
