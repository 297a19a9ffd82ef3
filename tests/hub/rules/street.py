"""A street for the rules engine without processes: a state database (SQLite or
PostgreSQL, see `databases` in tests/hub/conftest.py) migrated like the hub's, nodes
provisioned in Karachi, and readings handed to the engine exactly as the ingest pipeline
does (a Batch of Stored readings, inside a transaction and a SAVEPOINT).

Time is event time: each reading says when it was taken and when it reached the hub, so a
night runs in milliseconds.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select

from hub import alerts, tickets
from hub.db import make_engine, migrate, writing
from hub.models import LampStats, Outbox
from hub.notify import NotifySettings, Subscriber, bind
from hub.pipeline import Batch, StatusChange, Stored, StoredEvent
from hub.registry import NodeInfo, provision
from hub.rules import RulesEngine, RulesSettings
from hub.rules.priority import PriorityFollowsScore
from hub.spots import SpotScorer, SpotSettings
from protocol.payloads import Event, Reading

KARACHI = ZoneInfo("Asia/Karachi")
AREA, DISTRICT = "Korangi 5", "korangi"
AREA_ID = "korangi-5"
AREA_2 = "Korangi 6"  # the next neighbourhood, same district
SECRET = "a-secret-of-sixteen-or-more"


def local(day: dt.date, hh: int, mm: int = 0) -> float:
    """Epoch seconds of HH:MM Karachi time on `day` (hours past 24 run into the next day)."""
    base = dt.datetime.combine(day, dt.time(0, 0), KARACHI)
    return (base + dt.timedelta(hours=hh, minutes=mm)).timestamp()


NIGHT = dt.date(2026, 3, 14)  # sunset ~18:40 PKT, sunrise ~06:30


def subscribers() -> NotifySettings:
    """Who hears what: the area's committee, the district's crew, the technicians."""
    hook = dict(channel="webhook", url="http://127.0.0.1:9/hook", secret=SECRET)
    return NotifySettings(subscribers=[
        Subscriber(name="k5-committee", audience=["committee"], areas=[AREA], **hook),
        Subscriber(name="k6-committee", audience=["committee"], areas=[AREA_2], **hook),
        Subscriber(name="korangi-crew", audience=["crew"], districts=[DISTRICT], **hook),
        Subscriber(name="technicians", audience=["technician"], **hook),
        Subscriber(name="malir-crew", audience=["crew"], districts=["malir"], **hook),
    ])


class Street:
    def __init__(self, url: str, nodes: int = 5, *,
                 places: Sequence[tuple[str, str | None]] = (), scored: bool = False,
                 **settings: Any) -> None:
        """`places[i]`: the (area name, feeder) of node i + 1; by default every node is in
        Korangi 5 and nobody knows its feeder. `scored`: the stages after the rules run
        too, as in the hub (unsafe-spot scores, and ticket priorities following them)."""
        migrate(url)
        self.db: Engine = make_engine(url)
        bind(self.db, subscribers())
        self.nodes = [f"khi-kor-{i:04d}" for i in range(1, nodes + 1)]
        for i, node in enumerate(self.nodes):
            area, feeder = places[i] if places else (AREA, None)
            provision(self.db, node, district=DISTRICT, area=area, lat=24.83 + i * 0.0005,
                      lon=67.13, rated_w=60, pole=f"K5-{100 + i}", feeder=feeder)
        self.settings = RulesSettings(**settings)
        self.wall = 0.0
        self.rules = self.start()
        self.after: list[Any] = ([SpotScorer(SpotSettings()), PriorityFollowsScore(self.settings)]
                                 if scored else [])
        self.seq: dict[str, int] = {}

    def start(self) -> RulesEngine:
        """A hub (re)starting on this database."""
        self.rules = RulesEngine(self.settings, self.db, wall=lambda: self.wall)
        return self.rules

    def info(self, node: str) -> NodeInfo:
        return NodeInfo(node, "active", DISTRICT, AREA_ID, 0.0, 0.0)

    # --- feeding the engine ---

    def reading(self, node: str, ts: float, *, received_at: float | None = None,
                **fields: Any) -> Stored:
        seq = self.seq[node] = self.seq.get(node, 0) + 1
        base = dict(v=1, node=node, seq=seq, ts=ts, interval_s=60, lamp_on=True,
                    lamp_w=58.0, mains_v=230.0, footfall=2)
        r = Reading.model_validate({**base, **fields})
        return Stored(self.info(node), r, ts, ts + 1.0 if received_at is None else received_at)

    def run(self, stored: Iterable[Stored] = (), events: Iterable[StoredEvent] = (),
            changes: Iterable[StatusChange] = ()) -> None:
        batch = Batch(stored=list(stored), events=list(events), changes=list(changes))
        arrivals = [s.received_at for s in batch.stored] + [c.at for c in batch.changes]
        self.wall = max([self.wall, *arrivals])
        try:
            with self.db.begin() as conn, conn.begin_nested():
                self.rules.evaluate(conn, batch)
                for stage in self.after:
                    stage.evaluate(conn, batch)
        except BaseException:
            self.rules.rolled_back()
            raise
        self.rules.committed()

    def minutes(self, start: float, end: float, lamp: dict[str, Any] | None = None,
                silent: Iterable[str] = (), **per_node: Any) -> None:
        """Every node reads once a minute from `start` to `end` (inclusive), live.
        `per_node[node]` is a function (ts) -> fields overriding the healthy defaults."""
        t = start
        while t <= end + 1e-6:
            batch = []
            for node in self.nodes:
                if node in silent:
                    continue
                f = per_node.get(node.replace("-", "_"))
                batch.append(self.reading(node, t, **(f(t) if f else {})))
            self.run(batch)
            t += 60

    def event(self, node: str, ts: float, type_: str) -> None:
        seq = self.seq[node] = self.seq.get(node, 0) + 1
        ev = Event.model_validate(dict(v=1, node=node, seq=seq, ts=ts, type=type_))
        self.run(events=[StoredEvent(self.info(node), ev, ts, ts + 1.0)])

    def status(self, node: str, state: str, at: float, session: int = 1) -> None:
        self.run(changes=[StatusChange(self.info(node), state, session,
                                       "lost" if state == "offline" else None, at)])

    def tick(self, wall: float, listening: bool = True) -> None:
        self.wall = wall
        self.rules.tick(self.db, listening=listening)

    # --- what people would see ---

    def alerts(self, **filters: Any) -> list[dict[str, Any]]:
        with self.db.connect() as conn:
            return alerts.query(conn, limit=1000, **filters)[0]

    def tickets(self, **filters: Any) -> list[dict[str, Any]]:
        with self.db.connect() as conn:
            return tickets.query(conn, limit=1000, **filters)[0]

    def outbox(self) -> list[tuple[str, str, dict[str, Any]]]:
        """(subscriber, kind, notification) in the order they were enqueued."""
        with self.db.connect() as conn:
            return [(s, k, json.loads(p)) for s, k, p in conn.execute(
                select(Outbox.subscriber, Outbox.kind, Outbox.payload).order_by(Outbox.id))]

    def stats(self, node: str) -> dict[str, Any]:
        with self.db.connect() as conn:
            row = conn.execute(select(LampStats.__table__)
                               .where(LampStats.node_id == node)).mappings().first()
        return dict(row) if row else {}

    def transition(self, ticket_id: int, to: str, actor: str = "crew-ali",
                   note: str = "") -> dict[str, Any]:
        with writing(self.db) as conn:
            return tickets.transition(conn, ticket_id, to, actor, note)

    def outcome(self) -> tuple[set[tuple], set[tuple]]:
        """{(rule, node, state)} of alerts and {(fault, node, status, priority)} of tickets."""
        return ({(a["rule"], a["node"], a["state"]) for a in self.alerts()},
                {(t["fault"], t["node"], t["status"], t["priority"]) for t in self.tickets()})
