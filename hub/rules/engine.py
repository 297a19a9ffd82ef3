"""The rules engine: an ingest `Stage` that judges every stored reading, event and status
change in event time, plus a periodic `tick` for what happens when nothing arrives
(DESIGN.md §6).

Staging. A batch's changes to node and power-cut state are made on copies and written to
`rule_state` inside the ingest transaction; memory takes them only in `committed()`. A
batch that rolls back is evaluated again from the state it started with, and a hub killed
at any moment restarts with exactly the timers its last committed batch left.

Locking. The tick runs in its own thread and transaction, so it and the pipeline must not
stage on the same memory at once: a lock is taken in `evaluate`/`tick` and released in
`committed`/`rolled_back`. To rule out a deadlock against the database's own locks, both
take the database lock first and the memory lock second: on SQLite the write lock (the
ingest transaction has it already; the tick begins IMMEDIATE), on PostgreSQL the clock
row's (SELECT … FOR UPDATE; the pipeline and the tick come through `hub.db.writing`, whose
advisory lock they hold before it). An idle tick writes nothing, so it never disturbs other
writers (`roshni provision`, the API).
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, select

from hub import tickets
from hub.core.rules_settings import RulesSettings
from hub.db import writing
from hub.membership import NOTICE_S
from hub.models import LampStats, RuleState
from hub.rules import state as st
from hub.rules.clock import EventClock, is_history
from hub.rules.effects import Effects, PowerCut
from hub.rules.hysteresis import Action, step
from hub.rules.partitions import Partitions
from hub.rules.silence import SilenceWatch
from hub.rules.sites import Site, Sites
from hub.rules.state import GroupState, NodeState
from hub.rules.sun import SunCache
from hub.upsert import upsert

if TYPE_CHECKING:
    from hub.pipeline import Batch, StatusChange, Stored, StoredEvent

log = logging.getLogger(__name__)

# Rules whose per-node alerts a power cut of the node's area or feeder stands for while it
# lasts: the cut is one incident, and their dwell counts again from its end.
CUT_COVERS = ("lamp_out", "node_offline", "supply_loss")
LAMP_RULES = ("lamp_out", "day_burner", "flicker", "low_power", "supply_loss",
              "control_fault")


class Tx:
    """One batch's (or tick's) staged changes."""

    def __init__(self, rules: RulesEngine, conn: Connection) -> None:
        self.rules = rules
        self.conn = conn
        self.fx = Effects(conn, rules.settings, rules.wall)
        self.clock = rules.clock.copy()
        self.nodes: dict[str, NodeState] = {}
        self.groups: dict[str, GroupState] = {}
        self.stats: set[str] = set()
        self.evidence: dict[str, list[tuple]] = {}

    def node(self, node_id: str, interval_s: float | None = None) -> NodeState:
        node = self.nodes.get(node_id)
        if node is None:
            old = self.rules.nodes.get(node_id)
            if old is not None:
                node = old.copy()
            else:
                s = self.rules.settings
                node = NodeState(interval_s or s.default_interval_s,
                                 evidence=deque(maxlen=s.evidence_readings))
            self.nodes[node_id] = node
        return node

    def peek(self, node_id: str) -> NodeState | None:
        return self.nodes.get(node_id) or self.rules.nodes.get(node_id)

    def group(self, group: str) -> GroupState:
        state = self.groups.get(group)
        if state is None:
            old = self.rules.groups.get(group)
            state = self.groups[group] = old.copy() if old is not None else GroupState()
        return state

    def peek_group(self, group: str) -> GroupState | None:
        return self.groups.get(group) or self.rules.groups.get(group)

    def ring(self, node_id: str, node: NodeState) -> list[tuple]:
        """The node's last readings including this batch's, newest last."""
        size = self.rules.settings.evidence_readings
        return (list(node.evidence) + self.evidence.get(node_id, []))[-size:]


class RulesEngine:
    def __init__(self, settings: RulesSettings, db: Engine, *,
                 wall: Callable[[], float] = time.time, part: int | None = None,
                 partitions: Partitions | None = None, sites: Sites | None = None,
                 sun: SunCache | None = None, loaded: Loaded | None = None) -> None:
        """`part`: judge only that partition of the city (its nodes, areas and feeders, and
        its own event clock), as its owner (hub/rules/owner.py); the owner's engines share
        one `sites` and `sun`. None: the whole city, as one process judging everything.
        `loaded`: its state read from the database already (`load`, for several
        partitions in one pass)."""
        self.settings = settings
        self.wall = wall
        self.part = part
        self.partitions = partitions
        assert part is None or partitions is not None
        self.clock_subject = _clock_subject(part)
        self.sun = sun or SunCache(settings.night_below_deg, settings.day_above_deg)
        self.sites = sites or Sites()
        self.clock = EventClock()
        self.nodes: dict[str, NodeState] = {}
        # Power-cut groups by `rule_state` subject: areas (`area:<id>`), feeders
        # (`feeder:<id>`).
        self.groups: dict[str, GroupState] = {}
        # Event time from which the hub has been listening without a break: a node cannot
        # have been silent for longer than the hub could hear it.
        self.listening_from = -math.inf
        self.silence = SilenceWatch(settings.silence_intervals)
        self._lock = threading.Lock()
        # The staged transaction belongs to the thread that began it: the pipeline calls
        # committed() after every batch, also one it did not ask us to evaluate, possibly
        # while the tick thread holds its own.
        self._local = threading.local()
        self._load(db, loaded)

    def __repr__(self) -> str:
        return f"RulesEngine(nodes={len(self.nodes)}, groups={len(self.groups)})"

    def mine(self, node_id: str) -> bool:
        """The node is judged by this engine (always, when it judges the whole city)."""
        if self.part is None:
            return True
        assert self.partitions is not None
        return _part_of_node(self.partitions, self.sites, node_id) == self.part

    # --- state ---

    def _load(self, db: Engine, loaded: Loaded | None) -> None:
        if loaded is None:
            loaded = load(db, self.settings, [self.part], self.partitions, self.sites)[
                self.part]
        self.nodes, self.groups = loaded.nodes, loaded.groups
        for node_id, node in self.nodes.items():
            self.silence.schedule(node_id, node)
        clock = loaded.clock
        if (clock is None or clock.base is None) and loaded.city_clock is not None:
            # A partition's first owner after a hub that judged the whole city carries on
            # with that hub's clock.
            clock = loaded.city_clock
        self.clock = clock if clock is not None else EventClock()
        if loaded.clock is None:
            # The row the pipeline and the tick lock first must exist (see _begin).
            with writing(db, shared=self.part) as conn:
                self._save_clock(conn, self.clock)
        if self.nodes:
            log.info("rules: carried on with the state of %d nodes and %d areas and feeders",
                     len(self.nodes), len(self.groups))

    def _begin(self, conn: Connection) -> Tx:
        # Database first (see the module docstring), then memory.
        conn.execute(select(RuleState.rule).where(RuleState.subject == self.clock_subject,
                                                  RuleState.rule == st.CLOCK_RULE)
                     .with_for_update())
        self._lock.acquire()
        tx = self._local.tx = Tx(self, conn)
        return tx

    def _finish(self, tx: Tx) -> None:
        now = self.wall()
        rows = [dict(subject=n, rule=st.NODE_ROW, state=node.to_json(), updated_at=now)
                for n, node in tx.nodes.items()]
        rows += [dict(subject=g, rule=st.AREA_RULE, state=group.to_json(), updated_at=now)
                 for g, group in tx.groups.items()]
        upsert(tx.conn, RuleState.__table__, rows, keys=("subject", "rule"))
        if tx.stats:
            upsert(tx.conn, LampStats.__table__,
                   [tx.nodes[n].stats_row(n) for n in tx.stats], keys=("node_id",))
        if tx.clock != self.clock:
            self._save_clock(tx.conn, tx.clock)

    def _save_clock(self, conn: Connection, clock: EventClock) -> None:
        upsert(conn, RuleState.__table__, [dict(
            subject=self.clock_subject, rule=st.CLOCK_RULE, state=json.dumps(clock.to_json()),
            updated_at=self.wall())], keys=("subject", "rule"))

    # --- Stage ---

    def evaluate(self, conn: Connection, batch: Batch) -> None:
        if not self.settings.enabled:
            return
        tx = self._begin(conn)
        self.sites.refresh(conn)
        for _, kind, item in sorted(_arrivals(batch, tx.clock), key=lambda a: a[0]):
            if kind == 0:
                self._reading(tx, item)
            elif kind == 1:
                self._event(tx, item)
            else:
                self._status(tx, item)
        self._watch_repairs(tx)
        self._finish(tx)

    def committed(self) -> None:
        tx, self._local.tx = getattr(self._local, "tx", None), None
        if tx is None:
            return
        try:
            self.nodes.update(tx.nodes)
            self.groups.update(tx.groups)
            self.clock = tx.clock
            for node_id, rows in tx.evidence.items():
                self.nodes[node_id].evidence.extend(rows)
            for node_id, node in tx.nodes.items():
                self.silence.schedule(node_id, node)
        finally:
            self._lock.release()

    def rolled_back(self) -> None:
        tx, self._local.tx = getattr(self._local, "tx", None), None
        if tx is not None:
            try:  # what the tick took off the watch for this transaction goes back
                for node_id in tx.nodes:
                    self.silence.schedule(node_id, self.nodes.get(node_id))
            finally:
                self._lock.release()

    # --- readings, events, status ---

    def _late(self, tx: Tx, ts: float, received_at: float, interval: float) -> bool:
        """Replayed history (DESIGN.md §4), by this engine's clock: for readings that come
        without ingest's judgement (`Stored.late`)."""
        s = self.settings
        return is_history(tx.clock, ts, received_at, interval,
                          history_after_intervals=s.history_after_intervals,
                          trust_wall=s.fresh_clock_from_wall)

    def _reading(self, tx: Tx, s: Stored) -> None:
        r = s.reading
        node_id = s.node.id
        interval = float(r.interval_s or self.settings.default_interval_s)
        late = s.late if s.late is not None else self._late(tx, s.ts, s.received_at, interval)
        if not late:
            if not tx.clock.known:
                self._start_clock(tx, s.ts, s.received_at)
            tx.clock.advance(s.ts, s.received_at)
        node = tx.node(node_id, interval)
        node.interval_s = interval
        node.last_heard = max(node.last_heard or -math.inf, tx.clock.at(s.received_at))
        node.heard_wall = max(node.heard_wall or -math.inf, s.received_at)
        t = s.ts
        if node.last_ts is not None and t <= node.last_ts:
            return  # older than what was judged already: stored, but nothing to decide
        site = self.sites.get(tx.conn, node_id)
        self._count(tx, node_id, node, r, t, interval, site)
        tx.evidence.setdefault(node_id, []).append(
            (t, r.lamp_on, r.lamp_w, r.mains_v, r.lux, r.footfall))
        if site is None or not site.watched:
            node.last_ts = t
            if r.lamp_on is not None:
                node.lamp_on = r.lamp_on
            return
        if not node.online:
            self._back_online(tx, node, site, node.last_heard)
        else:
            self._rule(tx, node, site, "node_offline", False, node.last_heard, True)
        self._lamp_switched(node, r.lamp_on, t)
        self._judge(tx, node, site, r, t, live=not late)
        node.last_ts = t

    def _start_clock(self, tx: Tx, ts: float, received_at: float) -> None:
        """The first live reading starts the event clock. What was heard before it (a
        birth) was stamped with wall time, which a night simulated or replayed in event
        time may never reach: restamp it at the clock's start, or that node's silence would
        count only from then."""
        tx.clock.advance(ts, received_at)
        start = tx.clock.at(received_at)
        for node_id in {*self.nodes, *tx.nodes}:
            node = tx.peek(node_id)
            if node is not None and node.last_heard is not None and node.last_heard > start:
                tx.node(node_id).last_heard = start

    def _count(self, tx: Tx, node_id: str, node: NodeState, r: Any, t: float,
               interval: float, site: Site | None) -> None:
        """Burning hours, switch-ons and energy (TALQ's operatingHours, switchOnCounter,
        activeEnergy). A gap in the readings is not counted as burning: nobody saw it.

        And lamp control's energy (DESIGN.md §11), for a lamp whose rated power is known:
        what it used over the reading's interval, and what it would have used burning at
        rated power from sunset to sunrise (the baseline, before it was controlled). Here,
        because a node's readings reach its partition's owner in the order they happened,
        whichever ingest workers stored them."""
        covered = interval if node.last_ts is None else min(t - node.last_ts, interval)
        if r.lamp_on:
            node.burning_s += covered
            if node.lamp_on is False:
                node.switch_on_count += 1
        if r.energy_wh is not None:
            # The meter's own count, also across gaps; a meter that went back was replaced.
            if node.last_energy_wh is not None and r.energy_wh >= node.last_energy_wh:
                node.energy_wh += r.energy_wh - node.last_energy_wh
            node.last_energy_wh = r.energy_wh
        elif r.lamp_on and r.lamp_w is not None:
            node.energy_wh += r.lamp_w * covered / 3600.0
        if site is not None and site.rated_w is not None:
            hours = interval / 3600.0
            node.used_wh += used_w(self.settings, site.rated_w, r) * hours
            if site.lat is not None and site.lon is not None \
                    and self.sun.is_night(site.lat, site.lon, t):
                node.baseline_wh += site.rated_w * hours
        tx.stats.add(node_id)

    def _lamp_switched(self, node: NodeState, lamp_on: bool | None, t: float) -> None:
        if lamp_on is None:
            return
        if node.lamp_on is not None and lamp_on != node.lamp_on:
            node.changes.append(t)
            del node.changes[:-self.settings.flicker_changes]
        node.lamp_on = lamp_on

    def _event(self, tx: Tx, e: StoredEvent) -> None:
        node_id = e.node.id
        site = self.sites.get(tx.conn, node_id)
        node = tx.node(node_id)
        late = (e.late if e.late is not None
                else self._late(tx, e.ts, e.received_at, node.interval_s))
        node.last_heard = max(node.last_heard or -math.inf, tx.clock.at(e.received_at))
        node.heard_wall = max(node.heard_wall or -math.inf, e.received_at)
        if site is None or not site.watched:
            return
        if e.event.type == "tamper":
            self._rule(tx, node, site, "tamper", True, e.ts, not late)
        elif e.event.type in ("lamp_on", "lamp_off"):
            on = e.event.type == "lamp_on"
            if on and node.lamp_on is False:
                node.switch_on_count += 1
                tx.stats.add(node_id)
            self._lamp_switched(node, on, e.ts)

    def _status(self, tx: Tx, c: StatusChange) -> None:
        site = self.sites.get(tx.conn, c.node.id)
        if site is None or not site.watched:
            return
        node = tx.node(c.node.id)
        t = tx.clock.at(c.at)
        node.last_heard = max(node.last_heard or -math.inf, t)
        node.heard_wall = max(node.heard_wall or -math.inf, c.at)
        if c.state == "offline":
            if node.online:
                self._go_offline(tx, node, site, since=t, t=t)
        elif not node.online:
            self._back_online(tx, node, site, t)

    # --- the rules of one node ---

    def _judge(self, tx: Tx, node: NodeState, site: Site, r: Any, t: float,
               live: bool) -> None:
        s = self.settings
        lat, lon = site.lat, site.lon
        assert lat is not None and lon is not None
        expected, full_day = self._daylight(lat, lon, t)
        supply_lost = r.mains_v is not None and r.mains_v < s.supply_loss_v
        cut = self._cut(tx, site)
        verify = s.verify_after_s

        # A lamp its program (or an override) switched off is not out (DESIGN.md §11).
        commanded_off = r.level == 0
        dark = None if r.lamp_on is None or supply_lost or expected is not True \
            or commanded_off else not r.lamp_on
        self._rule(tx, node, site, "lamp_out", dark, t, live, dwell=s.lamp_out_dwell_s,
                   clear_after=verify, **cut)

        # A lamp commanded on by day (an override) burns as it was told to.
        day = r.lamp_on if r.lamp_on is not None and full_day and not r.level else None
        self._rule(tx, node, site, "day_burner", day, t, live, dwell=s.day_burner_dwell_s,
                   clear_after=verify)

        if r.level is not None and r.level_avg is not None and r.level_avg != r.level:
            # The command itself changed during the interval (a program step, presence
            # mode switching a lamp on and off): the lamp's switching so far is explained.
            node.changes.clear()
        n = s.flicker_changes
        flicker = None if expected is not True else (
            len(node.changes) >= n and t - node.changes[-n] <= s.flicker_window_s)
        self._rule(tx, node, site, "flicker", flicker, t, live, clear_after=verify)

        # Judged against what the commanded level should draw: dimmed is not low power.
        should_draw = None if not site.rated_w else expected_w(s, site.rated_w, r.level)
        low = None
        if r.lamp_on and r.lamp_w is not None and should_draw:
            low = r.lamp_w < s.low_power_fraction * should_draw
        self._rule(tx, node, site, "low_power", low, t, live, dwell=s.low_power_dwell_s,
                   clear_after=verify)

        self._rule(tx, node, site, "control_fault",
                   _disobeys(s, r, should_draw, full_day, supply_lost), t, live,
                   dwell=s.control_fault_dwell_s, clear_after=verify)

        self._rule(tx, node, site, "tamper", r.tamper, t, live)

        supply = None if r.mains_v is None else supply_lost
        self._rule(tx, node, site, "supply_loss", supply, t, live,
                   dwell=s.supply_loss_dwell_s, **cut)

        self._set_down(tx, node, site, supply_lost or dark is True, t, live)

    def _daylight(self, lat: float, lon: float, t: float) -> tuple[bool | None, bool]:
        """(must the lamp burn, is it full day). The first is True at night, False by
        day, None too close to sunset or sunrise to blame a dark lamp (photocells differ).
        One sun lookup per reading: this runs for every reading ingest stores."""
        sun = self.sun.times(lat, lon, t)
        if sun is None:  # polar day or night
            return self.sun.is_night(lat, lon, t), self.sun.is_full_day(lat, lon, t)
        if sun.rise <= t < sun.set:
            return False, sun.up <= t < sun.down
        grace = self.settings.twilight_grace_s
        # Before sunrise the night ends at this solar day's sunrise; after sunset it began
        # at this day's sunset.
        near = sun.rise - t < grace if t < sun.rise else t - sun.set < grace
        return (None if near else True), False

    def _rule(self, tx: Tx, node: NodeState, site: Site, rule: str, cond: bool | None,
              t: float, live: bool, *, dwell: float = 0.0, clear_after: float | None = None,
              since: float | None = None, not_before: float | None = None,
              blocked: bool = False) -> None:
        timer = node.timers.get(rule)
        if timer is None:
            if not cond:
                return  # nothing started, nothing open: nothing to remember
            timer = node.timer(rule)
        if clear_after is None:
            clear_after = self.settings.clear_after_s
        action = step(timer, cond, t, dwell=dwell, clear_after=clear_after, since=since,
                      not_before=not_before if rule in CUT_COVERS else None,
                      blocked=blocked and rule in CUT_COVERS)
        node_id = site.id
        if action is Action.RAISE:
            assert timer.since is not None
            raised = tx.fx.raise_alert(rule, site, started_at=timer.since, at=t,
                                       historical=not live, evidence=tx.ring(node_id, node))
            timer.alert_id, timer.historical = raised.alert_id, not live
            if raised.ticket_id is not None:
                node.tickets[rule] = raised.ticket_id
        elif action is Action.CLEAR:
            assert timer.alert_id is not None
            ticket_id = node.tickets.pop(rule, None)
            if ticket_id is not None:
                node.fixed_watch.pop(ticket_id, None)
            tx.fx.clear_alert(rule, site, timer.alert_id, ended_at=timer.absent_since or t,
                              at=t, ticket_id=ticket_id, historical=timer.historical)
            timer.alert_id, timer.absent_since, timer.historical = None, None, False
        elif cond and live and timer.historical and timer.alert_id is not None:
            assert timer.since is not None
            ticket_id = tx.fx.make_live(rule, site, timer.alert_id, started_at=timer.since,
                                        at=t, evidence=tx.ring(node_id, node))
            timer.historical = False
            if ticket_id is not None:
                node.tickets[rule] = ticket_id
        if timer.idle:
            del node.timers[rule]

    # --- online, offline, down ---

    def _go_offline(self, tx: Tx, node: NodeState, site: Site, *, since: float,
                    t: float) -> None:
        node.online = False
        node.offline_since = since
        # What the lamp does while nobody hears the node is unknown: lamp timers restart.
        for rule in LAMP_RULES:
            if rule in node.timers:
                self._rule(tx, node, site, rule, None, t, True)
        self._set_down(tx, node, site, True, since, True)
        self._offline_due(tx, node, site, t)

    def _offline_due(self, tx: Tx, node: NodeState, site: Site, t: float) -> None:
        self._rule(tx, node, site, "node_offline", True, t, True,
                   dwell=self.settings.offline_alert_after_s, since=node.offline_since,
                   **self._cut(tx, site))

    def _back_online(self, tx: Tx, node: NodeState, site: Site, t: float) -> None:
        node.online = True
        node.offline_since = None
        self._rule(tx, node, site, "node_offline", False, t, True)
        self._set_down(tx, node, site, False, t, True)

    def _set_down(self, tx: Tx, node: NodeState, site: Site, down: bool, t: float,
                  live: bool) -> None:
        """Dark at night, without mains, or offline: what a power cut is made of."""
        changed = down != (node.down_since is not None)
        if changed:
            node.down_since = t if down else None
        for group in site.groups:  # its feeder before its area (see _judge_group)
            state = tx.peek_group(group)
            if changed or (state is not None and (state.cut or state.timer.alert_id is not None)):
                self._judge_group(tx, group, t, live)

    def _cut(self, tx: Tx, site: Site) -> dict[str, Any]:
        """For the node's faults that a power cut stands for: `blocked` while its area or
        its feeder has a cut, `not_before` the end of the last one (their dwell counts
        from then)."""
        blocked, ended = False, None
        for group in site.groups:
            state = tx.peek_group(group)
            if state is None:
                continue
            blocked = blocked or state.cut
            if state.cut_ended is not None and (ended is None or state.cut_ended > ended):
                ended = state.cut_ended
        return dict(blocked=blocked, not_before=ended)

    def _explained(self, tx: Tx, group: str, node_id: str) -> bool:
        """A node of an area whose feeder has a cut: that cut is its incident, and the
        node is evidence neither for nor against a cut of the area as well (a feeder that
        supplies a whole area is one incident, not two)."""
        if not group.startswith(st.AREA):
            return False
        site = self.sites.peek(node_id)
        if site is None or site.feeder is None:
            return False
        state = tx.peek_group(st.feeder_subject(site.feeder))
        return state is not None and state.cut

    def _judge_group(self, tx: Tx, group: str, t: float, live: bool) -> None:
        """The power-cut rule for an area or a feeder (the same settings for both): at
        least `area_cut_fraction` of its active nodes going down within
        `area_cut_window_s` is one incident, `area_power_cut`."""
        s = self.settings
        members = [m for m in self.sites.members(group) if not self._explained(tx, group, m)]
        downs = [d for m in members if (n := tx.peek(m)) is not None
                 and (d := n.down_since) is not None]
        need = math.ceil(s.area_cut_fraction * len(members) - 1e-9)
        old = tx.peek_group(group)
        was_cut = old is not None and old.cut
        since = None
        if len(members) < s.area_cut_min_nodes:
            cond = False
        elif was_cut:
            cond = len(downs) >= need
        else:
            # A cut takes the area down together; lamps failing one by one over weeks
            # are lamp faults, each with its ticket.
            recent = [d for d in downs if t - s.area_cut_window_s <= d <= t]
            cond = len(recent) >= need
            since = min(recent) if cond else None
        if old is None and not cond:
            return
        state = tx.group(group)
        if cond and not state.cut:
            state.cut = True
        elif not cond and state.cut:
            state.cut, state.cut_ended = False, t
        timer = state.timer
        action = step(timer, cond, t, dwell=0.0, clear_after=s.clear_after_s, since=since)
        if action is Action.RAISE:
            assert timer.since is not None
            timer.alert_id = tx.fx.raise_cut_alert(
                self._power_cut(group, len(downs), len(members)), started_at=timer.since, at=t,
                historical=not live)
            timer.historical = not live
        elif action is Action.CLEAR:
            assert timer.alert_id is not None
            tx.fx.clear_alert("area_power_cut", None, timer.alert_id,
                              ended_at=timer.absent_since or t, at=t, ticket_id=None,
                              historical=timer.historical)
            timer.alert_id, timer.absent_since, timer.historical = None, None, False
        elif cond and live and timer.historical and timer.alert_id is not None:
            assert timer.since is not None
            tx.fx.make_cut_live(self._power_cut(group, len(downs), len(members)),
                                timer.alert_id, started_at=timer.since)
            timer.historical = False

    def _power_cut(self, group: str, nodes_down: int, nodes: int) -> PowerCut:
        filed = self.sites.filed_under(group)
        assert filed is not None  # a group with members has a place
        district, area = filed
        if group.startswith(st.AREA):
            return PowerCut(district, area, nodes_down, nodes)
        return PowerCut(district, area, nodes_down, nodes, feeder=group[len(st.FEEDER):],
                        areas=tuple(self.sites.areas_of(group)))

    # --- repairs: fixed → verified or reopened ---

    def _watch_repairs(self, tx: Tx) -> None:
        """Tickets a crew marked fixed are watched from the node's next reading: if the
        fault is still there `reopen_after_s` later, the ticket is reopened. (Verification
        happens when the fault's alert clears.)"""
        nodes = [(n, node) for n, node in tx.nodes.items() if node.tickets]
        if not nodes:
            return
        status = tickets.statuses(tx.conn, (i for _, node in nodes
                                            for i in node.tickets.values()))
        s = self.settings
        for node_id, node in nodes:
            site = self.sites.peek(node_id)
            if site is None or node.last_ts is None:
                continue
            for fault, ticket_id in list(node.tickets.items()):
                now_status = status.get(ticket_id)
                if now_status in (None, tickets.VERIFIED):
                    node.tickets.pop(fault)
                    node.fixed_watch.pop(ticket_id, None)
                    continue
                if now_status != tickets.FIXED:
                    node.fixed_watch.pop(ticket_id, None)
                    continue
                watched = node.fixed_watch.setdefault(ticket_id, node.last_ts)
                timer = node.timers.get(fault)
                still = (timer is not None and timer.since is not None
                         and node.last_ts - timer.since >= _dwell(s, fault))
                if still and node.last_ts - watched >= s.reopen_after_s:
                    if tx.fx.reopen(fault, site, ticket_id, at=node.last_ts):
                        node.fixed_watch.pop(ticket_id, None)

    # --- the tick: silence, offline alerts, power-cut hysteresis, SLAs ---

    def mark_deaf(self, wall: float) -> None:
        """The hub could not hear its nodes at wall time `wall` (starting, disconnected from
        the broker, behind on its spool): no node counts as silent from before then."""
        self.listening_from = self.clock.at(wall) if self.clock.known else -math.inf

    def tick(self, db: Engine, *, listening: bool) -> None:
        """Judge what time alone decides, at the hub's event time. `listening`: the hub is
        connected and not behind on its spool, so silence means the node, not us."""
        if not self.settings.enabled:
            return
        try:
            with writing(db) as conn:
                self.tick_in(conn, listening=listening)
        except BaseException:
            self.rolled_back()
            raise
        self.committed()

    def tick_in(self, conn: Connection, *, listening: bool,
                through: float | None = None) -> None:
        """`tick` inside the caller's transaction; `committed` or `rolled_back` follow, as
        for `evaluate`. `through`: judge no later than this event time (what every
        ingest worker has filed, when several share the nodes' messages)."""
        if not self.settings.enabled:
            return
        tx = self._begin(conn)
        self.sites.refresh(conn)
        self._tick(tx, listening, through)
        self._finish(tx)

    def _tick(self, tx: Tx, listening: bool, through: float | None = None) -> None:
        s = self.settings
        wall = self.wall()
        now = tx.clock.at(wall)
        if through is not None:
            now = min(now, through)
        if listening:
            later: list[tuple[str, float]] = []  # not yet: back on the watch after the pass
            for node_id in self.silence.due(now):
                old = self.nodes.get(node_id)
                if old is None or not old.online or old.last_heard is None:
                    self.silence.schedule(node_id, old)
                    continue
                heard = max(old.last_heard, self.listening_from)
                deadline = heard + s.silence_intervals * old.interval_s
                if now - heard <= s.silence_intervals * old.interval_s:
                    later.append((node_id, deadline))
                    continue
                site = self.sites.peek(node_id)
                if (old.heard_wall is not None and wall - old.heard_wall < NOTICE_S) or (
                        site is None or not site.watched):
                    # Not before the hub could have noticed that an ingest worker died
                    # with this node's newest messages (a night simulated fast); and not
                    # while nobody is to be told.
                    later.append((node_id, deadline))
                    continue
                node = tx.node(node_id)
                # Offline since the last reading: the cut it may be part of started then.
                self._go_offline(tx, node, site, since=heard, t=now)
            for node_id, deadline in later:
                self.silence.push(node_id, deadline)
        for node_id in self.silence.offline():
            old = self.nodes.get(node_id)
            if old is None or old.online:
                self.silence.schedule(node_id, old)
                continue
            timer = old.timers.get("node_offline")
            if timer is not None and timer.alert_id is not None:
                self.silence.alerted(node_id)
                continue
            site = self.sites.peek(node_id)
            if site is None or not site.watched:
                continue
            self._offline_due(tx, tx.node(node_id), site, now)
        # A power cut's alert clears once the cut has been over long enough, even if no
        # reading happens to come meanwhile.
        for group, state in list(self.groups.items()):
            if state.timer.alert_id is not None:
                self._judge_group(tx, group, now, True)
        for ticket_id, node_id in tickets.overdue(tx.conn, now):
            if not self.mine(node_id):
                continue  # another partition's, judged by its clock
            tx.fx.escalate(ticket_id, self.sites.peek(node_id), at=now)

    # --- for tests and the API ---

    def event_now(self) -> float:
        return self.clock.at(self.wall())


@dataclass
class Loaded:
    """A partition's state as the database holds it."""

    nodes: dict[str, NodeState] = field(default_factory=dict)
    groups: dict[str, GroupState] = field(default_factory=dict)
    clock: EventClock | None = None  # its own; None: it has none yet
    city_clock: EventClock | None = None  # a hub's that judged the whole city


def load(db: Engine, settings: RulesSettings, parts: Iterable[int | None],
         partitions: Partitions | None, sites: Sites) -> dict[int | None, Loaded]:
    """The state of `parts` (None: the whole city) in one pass over `rule_state` and
    `lamp_stats`: a worker taking over a third of a city of 100 000 nodes reads them once,
    not once per partition (~0.3 s each)."""
    out: dict[int | None, Loaded] = {part: Loaded() for part in parts}
    whole = None in out
    assert whole or partitions is not None
    clocks = {_clock_subject(part): part for part in out}
    size = settings.evidence_readings

    def node_part(node_id: str) -> int | None:
        return None if whole else _part_of_node(partitions, sites, node_id)  # type: ignore[arg-type]

    with db.connect() as conn:
        sites.refresh(conn, force=True)
        if partitions is not None:
            partitions.refresh(conn, force=True)
        city_clock = None
        for subject, rule, text in conn.execute(
                select(RuleState.subject, RuleState.rule, RuleState.state)):
            if rule == st.NODE_ROW:
                if (into := out.get(node_part(subject))) is not None:
                    into.nodes[subject] = NodeState.from_json(text, size)
            elif rule == st.AREA_RULE and subject.startswith((st.AREA, st.FEEDER)):
                part = None if whole else partitions.of_group(subject)  # type: ignore[union-attr]
                if (into := out.get(part)) is not None:
                    into.groups[subject] = GroupState.from_json(text)
            elif rule == st.CLOCK_RULE and (subject == st.CLOCK_SUBJECT or subject in clocks):
                clock = EventClock.from_json(json.loads(text))
                if subject == st.CLOCK_SUBJECT:
                    city_clock = clock
                if subject in clocks:
                    out[clocks[subject]].clock = clock
        for node_id, burning, count, energy, last_energy, used, baseline in conn.execute(
                select(LampStats.node_id, LampStats.burning_s, LampStats.switch_on_count,
                       LampStats.energy_wh, LampStats.last_energy_wh, LampStats.used_wh,
                       LampStats.baseline_wh)):
            into = out.get(node_part(node_id))
            if into is None:
                continue
            node = into.nodes.get(node_id)
            if node is None:  # counted before the rules kept its state: carried on
                node = into.nodes[node_id] = NodeState(
                    settings.default_interval_s, evidence=deque(maxlen=size))
            node.burning_s, node.switch_on_count = burning, count
            node.energy_wh, node.last_energy_wh = energy, last_energy
            node.used_wh, node.baseline_wh = used, baseline
    for loaded in out.values():
        loaded.city_clock = city_clock
    return out


def _clock_subject(part: int | None) -> str:
    return st.CLOCK_SUBJECT if part is None else f"{st.CLOCK_SUBJECT}:{part}"


def _part_of_node(partitions: Partitions, sites: Sites, node_id: str) -> int:
    site = sites.peek(node_id)
    return partitions.of_area(site.area if site else "")


def _dwell(s: RulesSettings, fault: str) -> float:
    return {"lamp_out": s.lamp_out_dwell_s, "day_burner": s.day_burner_dwell_s,
            "low_power": s.low_power_dwell_s,
            "control_fault": s.control_fault_dwell_s}.get(fault, 0.0)


def expected_w(s: RulesSettings, rated_w: float, level: float | None) -> float:
    """What a lamp should draw at a commanded level: a linear driver model, from
    `driver_min_fraction` of rated power at the lowest level to rated power at 100 %
    (a driver's own electronics draw something however far it dims); 0 when switched
    off. A node without a control output (no `level`) runs its lamp at full power."""
    if level is None:
        return rated_w
    if level <= 0:
        return 0.0
    m = s.driver_min_fraction
    return rated_w * (m + (1.0 - m) * level / 100.0)


def used_w(s: RulesSettings, rated_w: float, r: Any) -> float:
    """A lamp's power over a reading's interval: measured if the node has a meter, else
    what its mean commanded level should draw, else rated power while the lamp burned."""
    if r.lamp_w is not None:
        return float(r.lamp_w) if r.lamp_on is not False else 0.0
    if r.level_avg is not None:
        return 0.0 if r.level_avg <= 0 else expected_w(s, rated_w, r.level_avg)
    return rated_w if r.lamp_on else 0.0


def _disobeys(s: RulesSettings, r: Any, should_draw: float | None, full_day: bool,
              supply_lost: bool) -> bool | None:
    """The lamp does not follow its commanded `level` (DESIGN.md §6 control fault):
    burning when commanded off (by day that is a day burner), or clearly brighter than the
    level asks (a driver that does not dim). Dark when commanded on is lamp out at night;
    outside the night it is the photocell in series with the node's contact keeping the
    lamp off while the sun is up (a program may start before sunset), not a fault. Drawing
    too little is low power. None where the rule does not apply."""
    if r.level is None or r.lamp_on is None or supply_lost:
        return None
    if r.level == 0:
        return None if full_day else r.lamp_on
    if not r.lamp_on or r.lamp_w is None or not should_draw:
        return None
    return r.lamp_w > should_draw * (1.0 + s.control_fault_margin)


def _arrivals(batch: Batch, clock: EventClock) -> Iterable[tuple[float, int, Any]]:
    """Everything in the batch in the order it happened on the street: readings and
    events by their time (no later than they arrived, as the clock counts them), status
    changes by the event time at which they arrived. One worker receives a node's
    messages in that order; several workers file their shares in batches of their own,
    so the inbox (hub/rules/inbox.py) is in the order they committed, not the street's.
    Readings replayed together keep their order (their times differ)."""
    for s in batch.stored:
        yield min(s.ts, s.received_at), 0, s
    for e in batch.events:
        yield min(e.ts, e.received_at), 1, e
    for c in batch.changes:
        yield clock.at(c.at), 2, c
