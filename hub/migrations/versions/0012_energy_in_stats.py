"""lamp control's energy kept with the lamp's statistics: one row per reading less

Revision ID: 0012_energy_in_stats
Revises: 0011_fewer_writes, 0009_lamp_control

The rules engine counts a lamp's burning hours and energy in `lamp_stats` for every
reading; `lamp_energy` (energy used, the full-on baseline) was a second row per reading,
written by a stage of its own after the rules, which looked up each lamp's rated power and
place again (bench/city.py: about a quarter of PostgreSQL's work per reading). Its columns
move to `lamp_stats`, with what was counted so far.
"""
import sqlalchemy as sa
from alembic import op

revision = "0012_energy_in_stats"
down_revision = ("0011_fewer_writes", "0009_lamp_control")
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("lamp_stats", sa.Column("used_wh", sa.Float, nullable=False,
                                          server_default="0"))
    op.add_column("lamp_stats", sa.Column("baseline_wh", sa.Float, nullable=False,
                                          server_default="0"))
    op.execute("UPDATE lamp_stats SET "
               "used_wh = (SELECT e.used_wh FROM lamp_energy e "
               "WHERE e.node_id = lamp_stats.node_id), "
               "baseline_wh = (SELECT e.baseline_wh FROM lamp_energy e "
               "WHERE e.node_id = lamp_stats.node_id) "
               "WHERE node_id IN (SELECT node_id FROM lamp_energy)")
    op.execute("INSERT INTO lamp_stats (node_id, burning_s, switch_on_count, energy_wh, "
               "used_wh, baseline_wh) SELECT node_id, 0, 0, 0, used_wh, baseline_wh "
               "FROM lamp_energy WHERE node_id NOT IN (SELECT node_id FROM lamp_stats)")
    op.drop_table("lamp_energy")


def downgrade() -> None:
    op.create_table(
        "lamp_energy",
        sa.Column("node_id", sa.String(63), sa.ForeignKey("nodes.id"), primary_key=True),
        sa.Column("used_wh", sa.Float, nullable=False, server_default="0"),
        sa.Column("baseline_wh", sa.Float, nullable=False, server_default="0"),
        sa.Column("last_ts", sa.Float, nullable=False, server_default="0"))
    op.execute("INSERT INTO lamp_energy (node_id, used_wh, baseline_wh, last_ts) "
               "SELECT node_id, used_wh, baseline_wh, coalesce(last_ts, 0) FROM lamp_stats")
    with op.batch_alter_table("lamp_stats") as t:
        t.drop_column("baseline_wh")
        t.drop_column("used_wh")
