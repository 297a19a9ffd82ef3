"""The rules' periodic tick, a thread of the hub.

Readings drive almost every rule, but some conditions are the absence of readings: a node
that stops talking without a last will, an SLA that passes, an area whose power cut ended
and whose incident should now clear. The tick judges those at the hub's event time (the
watermark of live readings, see hub/rules/clock.py), never by the wall clock, so a
simulated night and a replayed one behave as the real one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy import Engine

from hub import alerts, tickets
from hub.metrics import Metrics
from hub.rules.engine import RulesEngine

log = logging.getLogger(__name__)

GAUGES_EVERY_S = 5.0


class Ticker:
    def __init__(self, rules: RulesEngine, db: Engine, *, listening: Callable[[], bool],
                 interval_s: float, metrics: Metrics | None = None,
                 wall: Callable[[], float] = time.time) -> None:
        """`listening()`: the hub is connected to the broker and not behind on its spool,
        so a node it has not heard from is silent, not merely waiting in a queue."""
        self.rules = rules
        self.db = db
        self.listening = listening
        self.interval_s = interval_s
        self.metrics = metrics
        self.wall = wall
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._gauges_at = -GAUGES_EVERY_S

    def start(self) -> None:
        self.rules.mark_deaf(self.wall())
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="rules-tick", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(30)

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.tick()
            except Exception:  # noqa: BLE001 - the next tick tries again
                log.exception("rules tick failed")

    def tick(self) -> None:
        listening = self.listening()
        if not listening:
            # Marked at every deaf tick, not when hearing resumes: by then the clock has
            # moved on with the readings that came in, and would excuse real silences.
            self.rules.mark_deaf(self.wall())
        self.rules.tick(self.db, listening=listening)
        now = time.monotonic()
        if self.metrics is not None and now - self._gauges_at >= GAUGES_EVERY_S:
            self._gauges_at = now
            self.update_gauges()

    def update_gauges(self) -> None:
        assert self.metrics is not None
        with self.db.connect() as conn:
            open_alerts = alerts.open_counts(conn)
            by_status = tickets.status_counts(conn)
        for rule, n in open_alerts.items():
            self.metrics.alerts_open.labels(rule).set(n)
        for status, n in by_status.items():
            self.metrics.tickets.labels(status).set(n)
