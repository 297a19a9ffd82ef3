"""What each rule's alert means for people (DESIGN.md §6): who is told when it opens,
and whether it is a lamp fault the district's crew gets a repair ticket for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Audience = Literal["committee", "crew", "technician"]


@dataclass(frozen=True, slots=True)
class Policy:
    title: str
    audience: Audience | None  # told when the alert opens (None: the ticket tells the crew)
    ticket: bool


POLICIES: dict[str, Policy] = {
    "lamp_out": Policy("Dark lamp", "committee", ticket=True),
    "area_power_cut": Policy("Power cut in the area", "committee", ticket=False),
    # Energy waste and failing lamps are the crew's business, not the committee's night.
    "day_burner": Policy("Lamp burning by day", None, ticket=True),
    "flicker": Policy("Flickering lamp", None, ticket=True),
    "low_power": Policy("Lamp drawing too little power", None, ticket=True),
    # The lamp does not do what its program or override commands: the crew repairs it, the
    # committee hears because the street may be dark or lit when it should not (§11).
    "control_fault": Policy("Lamp not following its command", "committee", ticket=True),
    "node_offline": Policy("Sensor node offline", "technician", ticket=False),
    "tamper": Policy("Lamp post enclosure opened", "committee", ticket=False),
    # Mains gone at one node while its neighbours have power: the feed, not the lamp.
    "supply_loss": Policy("Mains supply lost", "technician", ticket=False),
}
