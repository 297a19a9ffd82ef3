"""The hub's event-time clock: what time it is on the street, as far as readings tell.

Rules judge time by the readings' own `ts` (event time), so a night simulated in minutes,
or replayed from a node's spool, gives the same outcome as the night lived. But some
things happen because *nothing* arrives — a node that falls silent, a repair deadline
that passes — and those need a "now" in the same time as the readings, not the hub's wall
clock: during a simulated night the wall clock is hours ahead of the street.

The clock is a watermark: the latest event time of a live reading, then running on with
wall time until the next one. Wall time is the fallback before any live reading has
arrived: readings older than that on arrival are history and do not start the clock.
A node's clock is never trusted ahead of the moment its reading was received, so one
node with a fast clock cannot make every other node look silent.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class EventClock:
    # Event time `base` was current at wall time `base_wall`; None until the first reading.
    base: float | None = None
    base_wall: float = 0.0

    @property
    def known(self) -> bool:
        return self.base is not None

    def at(self, wall: float) -> float:
        """Event time at wall time `wall` (wall time itself before any reading)."""
        if self.base is None:
            return wall
        return self.base + max(0.0, wall - self.base_wall)

    def advance(self, ts: float, received_at: float) -> None:
        """A live reading of time `ts` arrived at wall time `received_at`."""
        candidate = min(ts, received_at)
        if self.base is None or candidate > self.at(received_at):
            self.base, self.base_wall = candidate, received_at

    def lag(self, ts: float, received_at: float, *, trust_wall: bool = True) -> float:
        """How far behind the street a reading with time `ts` was when it arrived. Before
        any live reading the street's time is the wall clock's (a replay into a fresh hub
        of a night long over is history), unless `trust_wall` is off: then it is unknown
        and nothing is late (simulated nights, whose times lag the wall clock by hours)."""
        if self.base is None:
            return received_at - ts if trust_wall else 0.0
        return self.at(received_at) - ts

    def copy(self) -> EventClock:
        return EventClock(self.base, self.base_wall)

    def to_json(self) -> dict[str, float | None]:
        return {"base": self.base, "base_wall": self.base_wall}

    @classmethod
    def from_json(cls, data: dict[str, float | None]) -> EventClock:
        return cls(data.get("base"), float(data.get("base_wall") or 0.0))


def is_history(clock: EventClock, ts: float, received_at: float, interval: float, *,
               history_after_intervals: float, trust_wall: bool) -> bool:
    """Replayed history (DESIGN.md §4): the street had moved on by more than
    `history_after_intervals` of the node's intervals by the time the reading came."""
    lag = clock.lag(ts, received_at, trust_wall=trust_wall)
    return lag > history_after_intervals * interval
