"""Detection (DESIGN.md §6): the rules that turn stored readings into alerts and repair
tickets, in event time.

- `RulesEngine`: judges readings, events and status changes, and the tick's silences, of
  the whole city or of one partition of it; state in `rule_state`.
- `RulesInbox`: the ingest stage that files what was stored for the partition's owner;
  `Packs`: what it filed, kept for the owner in the same process.
- `RulesOwner`: the rules role of a worker: leases partitions, judges their inboxes and
  ticks (DESIGN.md §9).
- `RulesSettings`: the `[rules]` settings section.
"""

from __future__ import annotations

from hub.core.rules_settings import RulesSettings
from hub.rules.engine import RulesEngine
from hub.rules.inbox import Packs, RulesInbox
from hub.rules.owner import RulesOwner

__all__ = ["Packs", "RulesEngine", "RulesInbox", "RulesOwner", "RulesSettings"]
