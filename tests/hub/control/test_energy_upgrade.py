"""Lamp control's energy across the upgrade that moved it into the lamps' statistics
(migration 0012): what a city counted before is still there after it, and counting goes
on from it."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text, true

from hub.control import energy
from hub.core.rules_settings import RulesSettings
from hub.db import MIGRATIONS, make_engine, migrate, writing
from hub.pipeline import Batch, Stored
from hub.registry import NodeInfo
from hub.rules.engine import RulesEngine
from hub.rules.sun import SunCache
from protocol.payloads import Reading

LAT, LON = 24.84, 67.14
JUDGED, COUNTED_ONLY = "khi-kor-0101", "khi-kor-0102"


def test_energy_counted_before_the_upgrade_is_kept_and_added_to(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url)
    for before in ("0011_fewer_writes", "0009_lamp_control"):
        command.upgrade(cfg, before)
    db = make_engine(url)
    with db.begin() as conn:
        conn.execute(text("INSERT INTO areas (id, district_id, name) "
                          "VALUES ('korangi-9', 'korangi', 'Korangi 9')"))
        for node in (JUDGED, COUNTED_ONLY):
            conn.execute(text(
                "INSERT INTO nodes (id, state, district_id, area_id, lat, lon, rated_w, "
                "status, session, clock_faults, updated_at) VALUES (:id, 'active', "
                "'korangi', 'korangi-9', :lat, :lon, 60, 'online', 1, 0, 1)"),
                dict(id=node, lat=LAT, lon=LON))
        # one lamp the rules had judged too, one whose energy alone was counted
        conn.execute(text("INSERT INTO lamp_stats (node_id, burning_s, switch_on_count, "
                          "energy_wh, last_ts) VALUES (:n, 36000, 3, 580, 1)"),
                     dict(n=JUDGED))
        conn.execute(text("INSERT INTO lamp_energy (node_id, used_wh, baseline_wh, last_ts) "
                          "VALUES (:a, 250, 600, 1), (:b, 100, 300, 1)"),
                     dict(a=JUDGED, b=COUNTED_ONLY))
    migrate(url)

    def per_lamp() -> dict[str, tuple[float, float]]:
        with db.connect() as conn:
            return {r["id"]: (r["used_kwh"], r["baseline_kwh"])
                    for r in energy.totals(conn, "node", true(), tariff=40.0)}

    assert per_lamp() == {JUDGED: (0.25, 0.6), COUNTED_ONLY: (0.1, 0.3)}

    # a hub started on the upgraded database counts an hour at night on top
    sun = SunCache()
    night = next(t for t in range(1_764_950_000, 1_765_050_000, 600)
                 if sun.is_night(LAT, LON, t) and sun.is_night(LAT, LON, t + 3600))
    rules = RulesSettings(fresh_clock_from_wall=False)
    engine = RulesEngine(rules, db, wall=lambda: night + 3600)
    batch = Batch()
    for node in (JUDGED, COUNTED_ONLY):
        info = NodeInfo(node, "active", "korangi", "korangi-9", None, None)
        batch.stored.append(Stored(info, Reading(
            v=1, node=node, seq=5, ts=night + 3600, lamp_on=True, lamp_w=30.0,
            interval_s=3600), night + 3600, night + 3600))
    with writing(db) as conn:
        engine.evaluate(conn, batch)
    engine.committed()
    assert per_lamp() == {JUDGED: (0.28, 0.66), COUNTED_ONLY: (0.13, 0.36)}
    with db.connect() as conn:
        assert conn.execute(text("SELECT burning_s, switch_on_count FROM lamp_stats "
                                 "WHERE node_id = :n"), dict(n=JUDGED)).one() == (39600, 3)
    db.dispose()
