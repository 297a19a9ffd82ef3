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


def _file(db, rules: inbox.RulesInbox, batch: Batch) -> None:  # type: ignore[no-untyped-def]
    with db.begin() as conn:
        rules.evaluate(conn, batch)
    rules.committed()


def _reading(node: NodeInfo, seq: int) -> Stored:
    return Stored(node, Reading(v=1, node=node.id, seq=seq, ts=NIGHT + 60 * seq,
                                lamp_on=seq % 2 == 0), NIGHT + 60 * seq, NIGHT + 60 * seq + 1)


def test_what_this_process_filed_is_taken_as_filed_and_from_the_rows_when_not_held(
        tmp_path: Path) -> None:
    """The owner takes its own ingest's packs from memory (`inbox.Packs`), other packs from
    their rows, all in filing order; a take that rolled back reads its packs from the
    rows again; a partition given up is not held for."""
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    migrate(url)
    db = make_engine(url)
    partitions = Partitions(16)
    saddar = NodeInfo("khi-sou-0001", "active", "south", "saddar", None, None)
    part = partitions.of_area("saddar")
    packs = inbox.Packs()
    packs.own([part])
    here = inbox.RulesInbox(partitions, RulesSettings(), packs=packs)
    elsewhere = inbox.RulesInbox(partitions, RulesSettings())  # another worker's ingest

    first, second, third = Batch(), Batch(), Batch()
    first.stored.append(_reading(saddar, 1))
    second.stored.append(_reading(saddar, 2))
    third.stored.append(_reading(saddar, 3))
    third.changes.append(StatusChange(saddar, "offline", 3, "lost", NIGHT + 200))
    _file(db, here, first)
    _file(db, elsewhere, second)
    _file(db, here, third)

    with db.begin() as conn:
        taken, ids = inbox.take(conn, part, limit=100, packs=packs)
    # The same objects ingest had, where this process filed them; the row's otherwise.
    assert [s.reading.seq for s in taken.stored] == [1, 2, 3]
    assert taken.stored[0] is first.stored[0] and taken.stored[2] is third.stored[0]
    assert taken.stored[1] is not second.stored[0]
    assert taken.changes == third.changes

    # That transaction rolled back (nothing removed): the next take reads the rows.
    with db.begin() as conn:
        again, again_ids = inbox.take(conn, part, limit=100, packs=packs)
        assert again_ids == ids
        assert [(s.reading.seq, s.reading.lamp_on) for s in again.stored] == [
            (1, False), (2, True), (3, False)]
        assert not any(s is first.stored[0] for s in again.stored)
        inbox.remove(conn, again_ids)

    packs.own([])  # the partition went to another worker
    fourth = Batch()
    fourth.stored.append(_reading(saddar, 4))
    _file(db, here, fourth)
    with db.begin() as conn:
        taken, _ = inbox.take(conn, part, limit=100, packs=packs)
    assert [s.reading.seq for s in taken.stored] == [4]
    assert taken.stored[0] is not fourth.stored[0]
    db.dispose()


def test_a_reading_filed_as_the_node_sent_it_reads_back_as_validated_as_do_older_packs(
        tmp_path: Path) -> None:
    """Ingest files a lone reading's JSON as it came (no second serialization); another
    worker reads it back from its row as the reading ingest validated. A pack filed by
    the version before, with the reading's fields, is still read after an upgrade."""
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    migrate(url)
    db = make_engine(url)
    partitions = Partitions(16)
    node = NodeInfo("khi-sou-0001", "active", "south", "saddar", None, None)
    part = partitions.of_area("saddar")
    older = {"k": "r", "n": {"id": node.id, "st": "active", "d": "south", "a": "saddar"},
             "r": {"v": 1, "node": node.id, "seq": 7, "ts": NIGHT, "lamp_on": True,
                   "lamp_w": 71.5},
             "ts": NIGHT, "at": NIGHT + 1, "late": False}
    with db.begin() as conn:
        conn.execute(text("INSERT INTO rule_inbox (part, kind, ts, n, body) "
                          "VALUES (:p, 'p', :ts, 1, :b)"),
                     dict(p=part, ts=NIGHT, b=json.dumps([older])))
    # As a node sends it: its own spacing and key order, a quote in no field.
    raw = (b'{\n  "seq": 8, "node": "khi-sou-0001", "v": 1,\n  "ts": %r, "lamp_on": false,'
           b' "lux": 3, "footfall": 2\n}' % (NIGHT + 60))
    sent = Reading.model_validate_json(raw)
    batch = Batch()
    batch.stored.append(Stored(node, sent, NIGHT + 60, NIGHT + 61, raw=raw))
    _file(db, inbox.RulesInbox(partitions, RulesSettings()), batch)

    with db.begin() as conn:
        taken, _ = inbox.take(conn, part, limit=100)
    first, second = (s.reading for s in taken.stored)
    assert (first.seq, first.lamp_on, first.lamp_w) == (7, True, 71.5)
    assert second == sent
    assert (second.lux, type(second.lux), second.footfall) == (3.0, float, 2)
    db.dispose()
