"""Open311's public text apart from staff notes: ticket_public_notes, and the internal
note of the person who closes a citizen's report (citizen_requests.check_note)

Revision ID: 0009_public_notes
Revises: 0008

Open311 is public; a crew's note ("the junction box was looted, see Rashid") and the
login name of whoever closed a report are not.
"""
import sqlalchemy as sa
from alembic import op

revision = "0009_public_notes"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ticket_public_notes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ticket_id", sa.Integer, sa.ForeignKey("tickets.id"), nullable=False),
        sa.Column("at", sa.Float, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
    )
    op.create_index("ix_ticket_public_notes_ticket_id", "ticket_public_notes", ["ticket_id"])
    op.add_column("citizen_requests", sa.Column("check_note", sa.Text, nullable=True))


def downgrade() -> None:
    op.drop_column("citizen_requests", "check_note")
    op.drop_index("ix_ticket_public_notes_ticket_id", "ticket_public_notes")
    op.drop_table("ticket_public_notes")
