"""Ingest stage after the unsafe-spot scorer: a ticket's priority follows its lamp's score.

The rules open a ticket with the score as it stood before the batch (the scorer runs after
them), so a night that arrives in one batch would open a dark lamp beside a school at the
priority of one on a quiet street, and nothing would ever raise it. This stage looks at
the open tickets of the batch's nodes once their scores are counted and raises any whose
score now puts the lamp on a busy path, with a history entry saying why. Priorities are
only ever raised here: a score does not fall within a night, and a person may have
planned around the priority a ticket had.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from sqlalchemy import Connection

from hub import tickets
from hub.core.rules_settings import RulesSettings

if TYPE_CHECKING:
    from hub.pipeline import Batch


class PriorityFollowsScore:
    def __init__(self, settings: RulesSettings) -> None:
        self.settings = settings

    def __repr__(self) -> str:
        return "PriorityFollowsScore()"

    def evaluate(self, conn: Connection, batch: Batch) -> None:
        if not self.settings.enabled or not batch.stored:
            return
        newest: dict[str, float] = {}
        for s in batch.stored:
            newest[s.node.id] = max(newest.get(s.node.id, -math.inf), s.ts)
        s = self.settings
        tickets.follow_score(conn, newest, base=s.priority, busy_score=s.busy_spot_score,
                             sla_s=s.sla_s)

    def committed(self) -> None:
        pass

    def rolled_back(self) -> None:
        pass
