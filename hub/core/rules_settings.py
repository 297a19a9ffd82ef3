"""`[rules]`: every threshold and dwell time of detection (DESIGN.md §6).

Times are event-time seconds (the readings' `ts`), so a simulated night or a replay is
judged exactly as the same night lived in real time.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from protocol.settings import Section

FAULTS = ("lamp_out", "flicker", "low_power", "day_burner", "control_fault")


class RulesSettings(Section):
    enabled: bool = True

    # --- night and day at a node (sun elevation from its coordinates) ---
    night_below_deg: float = Field(default=-0.833, ge=-18, le=0)
    # A lamp burning by day is only a fault once the sun is clearly up.
    day_above_deg: float = Field(default=6.0, ge=0, le=60)
    # Photocells switch lamps on somewhat after sunset and off before sunrise: a dark lamp
    # this close to sunset or sunrise is not a fault, and does not count toward a power cut
    # (otherwise every dusk would look like load-shedding).
    twilight_grace_s: float = Field(default=1200.0, ge=0)

    # --- the rules ---
    lamp_out_dwell_s: float = Field(default=600.0, ge=0)
    area_cut_fraction: float = Field(default=0.6, gt=0, le=1)
    area_cut_window_s: float = Field(default=300.0, gt=0)
    # In a smaller area one dark lamp would be "60 % of the area": that is a lamp fault.
    area_cut_min_nodes: int = Field(default=3, ge=1)
    day_burner_dwell_s: float = Field(default=1800.0, ge=0)
    flicker_changes: int = Field(default=6, ge=2)
    flicker_window_s: float = Field(default=3600.0, gt=0)
    low_power_fraction: float = Field(default=0.6, gt=0, le=1)
    # Discharge lamps draw less while warming up; a few minutes of low power is normal.
    low_power_dwell_s: float = Field(default=600.0, ge=0)
    # Lamp control (DESIGN.md §11): the power a lamp should draw at a commanded level is
    # rated × (driver_min_fraction + (1 - driver_min_fraction) × level/100); low_power
    # compares against that. A lamp that does not follow its command for
    # control_fault_dwell_s (burning when commanded off, dark when commanded on, or drawing
    # more than (1 + control_fault_margin) × what its level should) is a control fault.
    driver_min_fraction: float = Field(default=0.1, ge=0, lt=1)
    control_fault_dwell_s: float = Field(default=900.0, ge=0)
    control_fault_margin: float = Field(default=0.5, gt=0)
    supply_loss_v: float = Field(default=50.0, ge=0)
    supply_loss_dwell_s: float = Field(default=600.0, ge=0)
    # No reading for this many of the node's intervals: the node is offline.
    silence_intervals: float = Field(default=3.0, gt=0)
    default_interval_s: float = Field(default=60.0, gt=0)
    # The technician hears of an offline node once it has been offline this long: nodes
    # that lose power together in a cut (within `area_cut_window_s`) are one area incident.
    offline_alert_after_s: float = Field(default=300.0, ge=0)

    # --- alerts ---
    # Hysteresis: an alert clears only after its condition has been absent this long; if it
    # comes back meanwhile, the same alert goes on.
    clear_after_s: float = Field(default=600.0, ge=0)
    # A reading that arrives this many of its intervals behind the hub's event clock (the
    # watermark of live readings, hub/rules/clock.py; in live operation that is simply
    # received_at - ts) is replayed history (DESIGN.md §4): what it starts is a past
    # incident, unless a live reading still finds the condition.
    history_after_intervals: float = Field(default=2.0, gt=0)
    # Before its first live reading (a fresh hub) the hub judges how late a reading is by
    # its own clock, so a replay of a night long over is a past incident, not live news.
    # Off only to feed simulated nights, whose event times lag the hub's clock by hours,
    # into a fresh hub as if lived (tests/system does).
    fresh_clock_from_wall: bool = True
    evidence_readings: int = Field(default=8, ge=1, le=100)

    # --- tickets ---
    # The lamp must work this long at night before its ticket is verified (and its alert
    # cleared) by the sensor; for a day burner: stay off by day this long.
    verify_after_s: float = Field(default=1800.0, ge=0)
    # A ticket marked fixed is reopened if the fault is still there this long after.
    reopen_after_s: float = Field(default=1800.0, ge=0)
    priority: dict[str, int] = Field(default_factory=lambda: {
        "lamp_out": 2, "flicker": 3, "low_power": 3, "day_burner": 4, "control_fault": 3})
    # A lamp whose unsafe-spot score (hub.spots.current_score) is at least this is on a busy
    # path: its dark-making faults (all but day_burner) are one priority more urgent.
    busy_spot_score: float = Field(default=50.0, ge=0)
    sla_hours: dict[int, float] = Field(default_factory=lambda: {1: 24, 2: 48, 3: 72, 4: 168})

    # --- the periodic tick (silence, offline, SLA) ---
    tick_s: float = Field(default=1.0, gt=0)

    # --- several hub workers (DESIGN.md §9, hub/rules/partitions.py) ---
    # The city's rules are cut into this many partitions, each judged by one worker at a
    # time. Every worker of a city must use the same number.
    partitions: int = Field(default=16, ge=1, le=1024)
    # A worker that has not renewed its partitions, or its membership, for this long is
    # dead: others take its partitions over (and drain its broker session).
    lease_s: float = Field(default=10.0, ge=2, le=300)

    @field_validator("priority")
    @classmethod
    def _every_fault_has_a_priority(cls, value: dict[str, int]) -> dict[str, int]:
        unknown = set(value) - set(FAULTS)
        if unknown:
            raise ValueError(f"unknown faults {sorted(unknown)} (faults: {', '.join(FAULTS)})")
        if any(p < 1 for p in value.values()):
            raise ValueError("priorities start at 1 (most urgent)")
        defaults = {"lamp_out": 2, "flicker": 3, "low_power": 3, "day_burner": 4,
                    "control_fault": 3}
        return {**defaults, **value}

    @field_validator("sla_hours")
    @classmethod
    def _positive_hours(cls, value: dict[int, float]) -> dict[int, float]:
        if any(h <= 0 for h in value.values()):
            raise ValueError("SLA hours must be positive")
        return value

    def sla_s(self, priority: int) -> float:
        """Seconds to repair at `priority`; a priority without its own SLA gets the next
        less urgent one's (or the least urgent if there is none)."""
        hours = self.sla_hours
        for p in sorted(hours):
            if p >= priority:
                return hours[p] * 3600.0
        return hours[max(hours)] * 3600.0 if hours else 7 * 86400.0
