"""`[control]`: lamp control on the hub side (DESIGN.md §11): the safety floor at unsafe
spots, the electricity tariff for the energy figures, how often configs are re-checked."""

from __future__ import annotations

from pydantic import Field

from protocol.settings import Section


class ControlSettings(Section):
    enabled: bool = True
    # The safety floor: in each area, the lamps at this share of its nodes with the highest
    # unsafe-spot scores (summed over the last `floor_nights` nights; a lamp that was never
    # dark for anyone is not among them) are never dimmed below `floor_level` % at night,
    # whatever their program says.
    floor_share: float = Field(default=0.2, ge=0, le=1)
    floor_level: int = Field(default=50, ge=0, le=100)
    floor_nights: int = Field(default=14, ge=1, le=366)
    # Rupees per kWh, for the cost of the energy used and saved against full-on lighting.
    tariff_pkr_per_kwh: float = Field(default=50.0, ge=0)
    # How often the hub re-checks every node's effective program (floors follow the
    # scores; newly provisioned or moved nodes get theirs) and re-sends any config the
    # broker did not take.
    sweep_s: float = Field(default=60.0, gt=0)
