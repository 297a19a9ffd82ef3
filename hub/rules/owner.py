"""The rules role: own some partitions of the city, judge their inbox and their silences.

Ownership is leased in the database (`rule_leases`), as ThingsBoard's rule-engine servers
own partitions of devices: each worker with the rules role claims a fair share of the
`[rules] partitions` (the partition count over the live rules workers in `hub_workers`),
renews its leases every quarter of `[rules] lease_s`, and gives back what is more than its
share when another worker joins. A lease not renewed for `lease_s` (its worker died, or
lost the database) is claimed by another worker, which loads the partition's state from
`rule_state` and carries on from the partition's inbox (hub/rules/inbox.py): what the
dead worker had not committed is still there, what it had committed is gone from it.

Each claim raises the partition's `epoch`. Every transaction of an owner begins by
reading its lease row FOR UPDATE and goes on only if the epoch is still the one it
claimed, so a worker that lost a partition (paused, cut off, too slow to renew) commits
nothing more for it: its transaction either ends before the new owner's claim, or sees
the new epoch and rolls back.

Partitions commit in parallel on PostgreSQL (`writing(shared=partition)`).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Sequence

from sqlalchemy import Connection, Engine, select, update

from hub import alerts, longlived, tickets
from hub.core.rules_settings import RulesSettings
from hub.db import writing
from hub.membership import hearing, members
from hub.metrics import Metrics
from hub.models import RuleLease
from hub.pipeline import Stage
from hub.rules import inbox
from hub.rules.engine import Loaded, RulesEngine, load
from hub.rules.partitions import Partitions
from hub.rules.sites import Sites
from hub.rules.sun import SunCache
from hub.upsert import dialect_insert

log = logging.getLogger(__name__)

GAUGES_EVERY_S = 5.0
# `writing(shared=…)` key of the lease table (partitions use 0…partitions-1).
LEASES_KEY = -2


class Lost(Exception):
    """The partition changed hands: this worker's epoch is not the lease's any more."""


class RulesOwner:
    def __init__(self, settings: RulesSettings, db: Engine, *, name: str,
                 after: Sequence[Stage] = (), batch_size: int = 1000,
                 filed: threading.Event | None = None, metrics: Metrics | None = None,
                 wall: Callable[[], float] = time.time,
                 packs: inbox.Packs | None = None) -> None:
        """`after`: stages that run on each judged batch after the rules (ticket
        priority following the unsafe-spot score, lamp control's energy). `filed`: set
        when this process's ingest filed something, to judge it without waiting for the
        next poll. `packs`: where this process's ingest leaves what it filed for the
        partitions this worker owns."""
        self.settings = settings
        self.packs = packs
        self.db = db
        self.name = name
        self.after = list(after)
        self.batch_size = batch_size
        self.filed = filed or threading.Event()
        self.metrics = metrics
        self.wall = wall
        self.partitions = Partitions(settings.partitions)
        self.sites = Sites()
        self.sun = SunCache(settings.night_below_deg, settings.day_above_deg)
        self.engines: dict[int, RulesEngine] = {}
        self.epochs: dict[int, int] = {}
        self._map_version: int | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lease_at = self._tick_at = self._gauges_at = -math.inf

    def __repr__(self) -> str:
        return f"RulesOwner({self.name}, partitions={sorted(self.engines)})"

    # --- lifecycle ---

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="rules-owner", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.filed.set()
        if self._thread:
            self._thread.join(30)
        # Handed back at once, so the others need not wait for the leases to run out.
        try:
            with writing(self.db, shared=LEASES_KEY) as conn:
                conn.execute(update(RuleLease).where(RuleLease.owner == self.name)
                             .values(expires_at=0.0))
        except Exception:  # noqa: BLE001 - they run out by themselves
            log.exception("could not hand the rules' partitions back")
        self.engines.clear()
        if self.packs is not None:
            self.packs.own(())

    def _run(self) -> None:
        while not self._stop.is_set():
            busy = False
            try:
                busy = self.step()
            except Exception:  # noqa: BLE001 - the next round tries again
                log.exception("rules owner round failed")
                self._stop.wait(1.0)
            if not busy:
                self.filed.wait(0.2)
                self.filed.clear()

    def step(self) -> bool:
        """One round: leases when due, a batch of each owned partition's inbox, the tick
        when due. True if there is more waiting."""
        now = self.wall()
        if now >= self._lease_at:
            self._lease_at = now + self.settings.lease_s / 4
            self.leases(now)
        busy = False
        if self.engines:
            with self.db.connect() as conn:
                through = hearing(members(conn), now, self.settings.lease_s,
                                  self.batch_size).through
                waiting = inbox.waiting(conn, self.engines, cap=1)
            for part in sorted(self.engines):
                if waiting.get(part):
                    busy = self._judge(part, through) or busy
        if now >= self._tick_at:
            self._tick_at = now + self.settings.tick_s
            self.tick(now)
        if self.metrics is not None and time.monotonic() - self._gauges_at >= GAUGES_EVERY_S:
            self._gauges_at = time.monotonic()
            self.update_gauges()
        return busy

    # --- leases ---

    def leases(self, now: float) -> None:
        s = self.settings
        ttl, count = s.lease_s, s.partitions
        with writing(self.db, shared=LEASES_KEY) as conn:
            self.partitions.refresh(conn)
            leases = {r.part: r for r in conn.execute(select(RuleLease.__table__))}
            live = {m.name for m in members(conn)
                    if "rules" in m.roles and now - m.heard_at <= ttl} | {self.name}
            share = math.ceil(count / len(live))
            lost = [p for p in self.engines
                    if (r := leases.get(p)) is None or r.owner != self.name
                    or r.epoch != self.epochs[p]]
            owned = sorted(set(self.engines) - set(lost))
            # More than a fair share: give back the highest, for a worker that joined.
            extra = owned[share:]
            owned = owned[:share]
            if owned:
                conn.execute(update(RuleLease).where(RuleLease.owner == self.name,
                                                     RuleLease.part.in_(owned))
                             .values(expires_at=now + ttl))
            if extra:
                conn.execute(update(RuleLease).where(RuleLease.owner == self.name,
                                                     RuleLease.part.in_(extra))
                             .values(expires_at=0.0))
            free = [p for p in range(count) if p not in self.engines
                    and ((r := leases.get(p)) is None or r.expires_at < now)]
            claimed = {}
            for part in free[:max(0, share - len(owned))]:
                epoch = self._claim(conn, part, now)
                if epoch is not None:
                    claimed[part] = epoch
        for part in [*lost, *extra]:
            self._drop(part, "lost its lease" if part in lost else "handed it back")
        if self._map_version is not None and self._map_version != self.partitions.version:
            # An area or feeder was joined to another: what each partition holds moved.
            for part in list(self.engines):
                claimed[part] = self.epochs[part]
                self._drop(part, "the partition map changed")
        self._map_version = self.partitions.version
        if claimed:
            if self.packs is not None:
                # What ingest files for them while their state loads (a second or two with
                # a city's partitions) is kept, not read back from its rows and decoded.
                self.packs.own([*self.engines, *claimed])
            try:
                loaded = load(self.db, self.settings, claimed, self.partitions, self.sites)
            except BaseException:
                if self.packs is not None:
                    self.packs.own(self.engines)
                raise
            for part, epoch in sorted(claimed.items()):
                self._take(part, epoch, loaded[part])
            del loaded
            longlived.settled()

    def _claim(self, conn: Connection, part: int, now: float) -> int | None:
        table = RuleLease.__table__
        stmt = dialect_insert(conn, table).values(
            part=part, owner=self.name, epoch=1, expires_at=now + self.settings.lease_s)
        stmt = stmt.on_conflict_do_update(
            index_elements=["part"],
            set_=dict(owner=self.name, epoch=table.c.epoch + 1,
                      expires_at=now + self.settings.lease_s),
            where=table.c.expires_at < now).returning(table.c.epoch)
        row = conn.execute(stmt).first()
        return None if row is None else int(row[0])

    def _take(self, part: int, epoch: int, loaded: Loaded) -> None:
        engine = RulesEngine(self.settings, self.db, wall=self.wall, part=part,
                             partitions=self.partitions, sites=self.sites, sun=self.sun,
                             loaded=loaded)
        # What happened while nobody owned the partition is in its inbox; but no node
        # counts as silent from before this worker could hear for it.
        engine.mark_deaf(self.wall())
        self.engines[part], self.epochs[part] = engine, epoch
        if self.packs is not None:
            self.packs.own(self.engines)
        log.info("rules: partition %d is this worker's (epoch %d, %d nodes)", part, epoch,
                 len(engine.nodes))

    def _drop(self, part: int, why: str) -> None:
        if self.engines.pop(part, None) is not None:
            self.epochs.pop(part, None)
            if self.packs is not None:
                self.packs.own(self.engines)
            log.info("rules: partition %d %s", part, why)

    def _fence(self, conn: Connection, part: int) -> None:
        row = conn.execute(select(RuleLease.owner, RuleLease.epoch)
                           .where(RuleLease.part == part).with_for_update()).first()
        if row is None or row.owner != self.name or row.epoch != self.epochs.get(part):
            raise Lost(part)

    # --- judging ---

    def _judge(self, part: int, through: float | None) -> bool:
        engine = self.engines[part]
        stages: list[Stage] = [engine, *self.after]
        try:
            with writing(self.db, shared=part) as conn:
                self._fence(conn, part)
                batch, ids = inbox.take(conn, part, self.batch_size, through, self.packs)
                if not ids:
                    return False
                for stage in stages:
                    try:
                        with conn.begin_nested():
                            stage.evaluate(conn, batch)
                    except Exception:  # noqa: BLE001 - a rule bug must not stop the rest
                        log.exception("stage %r failed on a batch; its effects are dropped",
                                      stage)
                        stage.rolled_back()
                inbox.remove(conn, ids)
        except Lost:
            for stage in stages:
                stage.rolled_back()
            self._drop(part, "changed hands")
            return False
        except BaseException:
            for stage in stages:
                stage.rolled_back()
            raise
        for stage in stages:
            stage.committed()
        return len(batch.stored) + len(batch.events) + len(batch.changes) >= self.batch_size

    def tick(self, now: float) -> None:
        """What time alone decides (silence, power cuts ending, SLAs), per partition at
        its own event time; silence only while the hub as a whole hears the nodes and the
        partition's inbox is not behind. All owned partitions in one transaction (an
        idle tick writes nothing)."""
        if not self.engines:
            return
        s = self.settings
        with self.db.connect() as conn:
            heard = hearing(members(conn), now, s.lease_s, self.batch_size)
            depth = inbox.waiting(conn, self.engines, cap=self.batch_size + 1)
        parts = sorted(self.engines)
        engines = [self.engines[p] for p in parts]
        try:
            with writing(self.db, shared=parts) as conn:
                lost = self._fence_all(conn, parts)
                for part, engine in zip(parts, engines, strict=True):
                    if part in lost:
                        continue
                    listening = heard.listening and depth.get(part, 0) <= self.batch_size
                    if not listening:
                        # Marked at every deaf tick, not when hearing resumes: by then the
                        # clock has moved on with the readings that came in, and would
                        # excuse real silences.
                        engine.mark_deaf(now)
                    engine.tick_in(conn, listening=listening, through=heard.through)
        except BaseException:
            for engine in engines:
                engine.rolled_back()
            raise
        for engine in engines:
            engine.committed()
        for part in lost:
            self._drop(part, "changed hands")

    def _fence_all(self, conn: Connection, parts: list[int]) -> set[int]:
        rows = {r.part: r for r in conn.execute(
            select(RuleLease.part, RuleLease.owner, RuleLease.epoch)
            .where(RuleLease.part.in_(parts)).with_for_update())}
        return {p for p in parts if (r := rows.get(p)) is None or r.owner != self.name
                or r.epoch != self.epochs.get(p)}

    def update_gauges(self) -> None:
        assert self.metrics is not None
        with self.db.connect() as conn:
            open_alerts = alerts.open_counts(conn)
            by_status = tickets.status_counts(conn)
        for rule, n in open_alerts.items():
            self.metrics.alerts_open.labels(rule).set(n)
        for status, n in by_status.items():
            self.metrics.tickets.labels(status).set(n)
        self.metrics.rules_partitions.set(len(self.engines))
