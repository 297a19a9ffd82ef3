"""What the rules remember between readings, per node and per power-cut group (an area or
a feeder), and how it is kept in `rule_state` so that a restarted hub carries on where it
stopped (half-elapsed dwell timers, flicker counts, open alerts and tickets, repair
watches).

One `rule_state` row per node (`rule` = "node") holds all its timers: ingest then writes
one row per node per batch, however many rules a reading touches. Areas and feeders have
one row each (`area:<id>` or `feeder:<id>`, "area_power_cut"), and the event clock one
(`hub`, "clock").
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import msgspec

NODE_ROW = "node"
AREA_RULE = "area_power_cut"
CLOCK_SUBJECT, CLOCK_RULE = "hub", "clock"


AREA, FEEDER = "area:", "feeder:"


def area_subject(area_id: str) -> str:
    return f"{AREA}{area_id}"


def feeder_subject(feeder: str) -> str:
    return f"{FEEDER}{feeder}"


@dataclass(slots=True)
class Timer:
    """One rule's condition on one subject, in event time."""

    since: float | None = None  # the condition has held since
    absent_since: float | None = None  # …and, with an alert open, been gone since
    alert_id: int | None = None
    # The open alert was raised from replayed history and not yet seen live: a past
    # incident unless a live reading still finds the condition (DESIGN.md §4).
    historical: bool = False

    @property
    def idle(self) -> bool:
        return self.since is None and self.alert_id is None

    def to_json(self) -> list[Any]:
        return [self.since, self.absent_since, self.alert_id, self.historical]

    @classmethod
    def from_json(cls, data: list[Any]) -> Timer:
        return cls(*data)


@dataclass(slots=True)
class NodeState:
    interval_s: float
    last_ts: float | None = None  # event time of the newest reading evaluated
    last_heard: float | None = None  # hub event time when the newest message arrived
    online: bool = True
    offline_since: float | None = None
    lamp_on: bool | None = None
    changes: list[float] = field(default_factory=list)  # latest lamp on/off switches
    down_since: float | None = None  # dark at night, on no mains, or offline (area cuts)
    timers: dict[str, Timer] = field(default_factory=dict)
    tickets: dict[str, int] = field(default_factory=dict)  # fault -> open ticket id
    # ticket id -> event time the sensor noticed it was marked fixed
    fixed_watch: dict[int, float] = field(default_factory=dict)
    # lamp_stats (TALQ: operatingHours, switchOnCounter, activeEnergy)
    burning_s: float = 0.0
    switch_on_count: int = 0
    energy_wh: float = 0.0
    last_energy_wh: float | None = None
    # lamp control's energy used and full-on baseline (DESIGN.md §11)
    used_wh: float = 0.0
    baseline_wh: float = 0.0
    # The last readings, for a ticket's evidence; in memory only (a restart shortens it).
    evidence: deque[tuple] = field(default_factory=lambda: deque(maxlen=8))
    # Wall time the newest message arrived (hub/rules/engine.py: `_silent`)
    heard_wall: float | None = None

    def timer(self, rule: str) -> Timer:
        t = self.timers.get(rule)
        if t is None:
            t = self.timers[rule] = Timer()
        return t

    def copy(self) -> NodeState:
        """A copy to stage a batch's changes on; the evidence ring is shared, since it
        only ever grows by readings that are stored anyway."""
        return NodeState(
            self.interval_s, self.last_ts, self.last_heard, self.online, self.offline_since,
            self.lamp_on, list(self.changes), self.down_since,
            {k: Timer(t.since, t.absent_since, t.alert_id, t.historical)
             for k, t in self.timers.items()},
            dict(self.tickets), dict(self.fixed_watch), self.burning_s, self.switch_on_count,
            self.energy_wh, self.last_energy_wh, self.used_wh, self.baseline_wh,
            self.evidence, self.heard_wall)

    def to_json(self) -> str:
        return _encode({
            "i": self.interval_s, "ts": self.last_ts, "heard": self.last_heard,
            "online": self.online, "off": self.offline_since, "lamp": self.lamp_on,
            "changes": self.changes, "down": self.down_since,
            "timers": {k: t.to_json() for k, t in self.timers.items() if not t.idle},
            "tickets": self.tickets,
            "fixed": {str(k): v for k, v in self.fixed_watch.items()},
            "hw": self.heard_wall,
        })

    @classmethod
    def from_json(cls, text: str, evidence_size: int = 8) -> NodeState:
        d = _decode(text)
        return cls(
            interval_s=d["i"], last_ts=d["ts"], last_heard=d["heard"], online=d["online"],
            offline_since=d["off"], lamp_on=d["lamp"], changes=d["changes"],
            down_since=d["down"],
            timers={k: Timer.from_json(v) for k, v in d["timers"].items()},
            tickets=d["tickets"], fixed_watch={int(k): v for k, v in d["fixed"].items()},
            evidence=deque(maxlen=evidence_size), heard_wall=d.get("hw"))

    def stats_row(self, node_id: str) -> dict[str, Any]:
        return dict(node_id=node_id, burning_s=self.burning_s,
                    switch_on_count=self.switch_on_count, energy_wh=self.energy_wh,
                    lamp_on=self.lamp_on, last_ts=self.last_ts,
                    last_energy_wh=self.last_energy_wh, used_wh=self.used_wh,
                    baseline_wh=self.baseline_wh)


@dataclass(slots=True)
class GroupState:
    """An area's or a feeder's power cut."""

    cut: bool = False  # the power-cut condition holds now
    cut_ended: float | None = None  # when it last stopped holding
    timer: Timer = field(default_factory=Timer)

    def copy(self) -> GroupState:
        t = self.timer
        return GroupState(self.cut, self.cut_ended,
                          Timer(t.since, t.absent_since, t.alert_id, t.historical))

    def to_json(self) -> str:
        return _encode({"cut": self.cut, "ended": self.cut_ended,
                        "timer": self.timer.to_json()})

    @classmethod
    def from_json(cls, text: str) -> GroupState:
        d = _decode(text)
        return cls(d["cut"], d["ended"], Timer.from_json(d["timer"]))


# msgspec's JSON is the standard library's, 3-4 times faster: a worker taking over a city
# reads a row per node, and the rules write one per node judged.
_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder()


def _encode(obj: Any) -> str:
    return _encoder.encode(obj).decode()


def _decode(text: str) -> Any:
    try:
        return _decoder.decode(text)
    except msgspec.DecodeError:
        # Rows written by json.dumps may hold what strict JSON has not (Infinity).
        return json.loads(text)
