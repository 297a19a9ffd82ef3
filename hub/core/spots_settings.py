"""`[spots]`: how the unsafe-spot score is weighted (DESIGN.md §6)."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from protocol.settings import Section


class Site(Section):
    """A sensitive place: lamps within `radius_m` of it weigh `1 + weight` times more."""

    name: str = Field(min_length=1)
    kind: str = "other"  # school | bus_stop | market | hospital | …, for people reading it
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    radius_m: float = Field(default=150.0, gt=0)
    weight: float = Field(default=1.0, ge=0)


class SpotSettings(Section):
    enabled: bool = True
    # Local time for the night's date (the date of the evening) and the daily digest.
    timezone: str = "Asia/Karachi"
    # Night is the sun's geometric elevation below this at the node (DESIGN.md §6).
    night_below_deg: float = Field(default=-0.833, ge=-18, le=0)
    # Minutes a reading covers when it does not say (`interval_s`).
    default_interval_s: int = Field(default=60, gt=0)
    sites: list[Site] = []
    # Imported incidents (`roshni hub import-incidents`) within this distance of a node,
    # in the `incident_days` before the night, each add `incident_weight` to its factor,
    # counting at most `incident_cap` of them.
    incident_radius_m: float = Field(default=250.0, gt=0)
    incident_days: int = Field(default=90, ge=1)
    incident_weight: float = Field(default=0.1, ge=0)
    incident_cap: int = Field(default=20, ge=0)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {name!r} (e.g. 'Asia/Karachi')") from None
        return name

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)
