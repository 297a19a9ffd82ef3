"""The rules' inbox across an upgrade: what ingest filed one row per entry before packs
existed (migration 0011) is judged after the upgrade, in filing order, with the packs
filed after it."""

from __future__ import annotations

import json
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from hub.core.rules_settings import RulesSettings
from hub.db import MIGRATIONS, make_engine, migrate
from hub.pipeline import Batch, StatusChange, Stored
from hub.registry import NodeInfo
from hub.rules import inbox
from hub.rules.partitions import Partitions
from protocol.payloads import Reading

NIGHT = 1_764_957_600.0  # 2025-12-05 22:00 in Karachi


def test_entries_filed_before_the_upgrade_are_judged_after_it_with_the_new_ones(
        tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url)
    command.upgrade(cfg, "0010_workers")
    node = NodeInfo("khi-sou-0001", "active", "south", "saddar", None, None)
    partitions = Partitions(16)
    part = partitions.of_area("saddar")
    old = {"n": {"id": node.id, "st": "active", "d": "south", "a": "saddar"},
           "r": {"v": 1, "node": node.id, "seq": 7, "ts": NIGHT, "lamp_on": True},
           "ts": NIGHT, "at": NIGHT + 1, "late": False}
    db = make_engine(url)
    with db.begin() as conn:
        conn.execute(text("INSERT INTO rule_inbox (part, kind, node_id, ts, body) "
                          "VALUES (:p, 'r', :n, :ts, :b)"),
                     dict(p=part, n=node.id, ts=NIGHT, b=json.dumps(old)))
    migrate(url)

    batch = Batch()
    batch.stored.append(Stored(node, Reading(v=1, node=node.id, seq=8, ts=NIGHT + 60,
                                             lamp_on=False), NIGHT + 60, NIGHT + 61))
    batch.changes.append(StatusChange(node, "offline", 3, "lost", NIGHT + 90))
    with db.begin() as conn:
        inbox.RulesInbox(partitions, RulesSettings()).evaluate(conn, batch)

    with db.begin() as conn:
        assert inbox.waiting(conn, [part], cap=10) == {part: 3}
        taken, ids = inbox.take(conn, part, limit=100)
        assert [(s.reading.seq, s.reading.lamp_on, s.late) for s in taken.stored] == [
            (7, True, False), (8, False, False)]
        assert [(c.state, c.session, c.reason) for c in taken.changes] == [
            ("offline", 3, "lost")]
        inbox.remove(conn, ids)
        assert inbox.waiting(conn, [part], cap=10) == {}
    db.dispose()
