"""Detection (DESIGN.md §6): the rules that turn stored readings into alerts and repair
tickets, in event time.

- `RulesEngine`: the ingest Stage (and the tick's logic); state in `rule_state`.
- `Ticker`: the thread that judges what time alone decides (silence, SLAs).
- `RulesSettings`: the `[rules]` settings section.
- `listening(ingest)`: whether the hub can currently hear its nodes (for the Ticker).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hub.core.rules_settings import RulesSettings
from hub.rules.engine import RulesEngine
from hub.rules.ticker import Ticker

if TYPE_CHECKING:
    from hub.ingest import Ingest


def listening(ingest: Ingest, max_backlog: int) -> bool:
    """Connected to the broker and no more than `max_backlog` messages behind: silence
    from a node is then the node's, not a queue's."""
    return ingest.receiver.connected.is_set() and ingest.spool_depth() <= max_backlog


__all__ = ["RulesEngine", "RulesSettings", "Ticker", "listening"]
