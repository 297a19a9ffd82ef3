"""A node's commissioning self-test as the hub sees it: the `selftest` event a technician's
`roshni node selftest` publishes is kept on the node (its checklist, when, whether it
passed), a registered node that passed is *commissioned*, and the hub answers on the
node's `cmd/result` so the technician on the ladder knows the hub has it.

An ingest `Stage`: the node's record is written in the ingest transaction, the answer is
sent only once that has committed (an answer for a self-test the hub then lost would
mislead the technician).
"""

from __future__ import annotations

import json
import logging
import time
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, func, select, update

from hub.commands import BY_HUB, CommandBus, NotSent
from hub.models import Area, Node
from protocol.topics import Kind

if TYPE_CHECKING:
    from hub.pipeline import Batch

log = logging.getLogger(__name__)

SELFTEST = "selftest"
# A node whose clock is further off than this is not commissioned, whatever it says.
CLOCK_TOLERANCE_S = 30.0


class Commissioning:
    def __init__(self, bus: CommandBus | None) -> None:
        self.bus = bus
        self._staged: list[tuple[str, str, dict[str, Any]]] = []

    def __repr__(self) -> str:
        return "Commissioning()"

    def evaluate(self, conn: Connection, batch: Batch) -> None:
        for stored in batch.events:
            if stored.event.type != SELFTEST:
                continue
            info, detail = stored.node, stored.event.detail()
            ok = detail.get("ok") is True
            offset = stored.received_at - stored.event.ts
            commission = ok and info.state == "active" and abs(offset) <= CLOCK_TOLERANCE_S
            checks = detail.get("checks")
            values: dict[str, Any] = dict(
                selftest_at=stored.received_at, selftest_ok=ok,
                selftest=json.dumps(checks if isinstance(checks, list) else []))
            if commission:
                values["commissioned_at"] = func.coalesce(Node.commissioned_at,
                                                          stored.received_at)
            conn.execute(update(Node).where(Node.id == info.id).values(**values))
            event_id = detail.get("id")
            if not isinstance(event_id, str) or not 0 < len(event_id) <= 64:
                log.warning("node %s: self-test event without an id; cannot answer it", info.id)
                continue
            area = conn.execute(select(Area.name).where(Area.id == info.area)).scalar()
            self._staged.append((info.id, event_id, {
                "by": BY_HUB, "state": info.state, "district": info.district,
                "area": area or info.area, "commissioned": commission,
                "clock_offset_s": round(offset, 3)}))
            log.info("node %s: self-test %s%s", info.id, "passed" if ok else "FAILED",
                     ", commissioned" if commission else "")

    def committed(self) -> None:
        staged, self._staged = self._staged, []
        for node_id, event_id, detail in staged:
            if self.bus is None:
                continue
            answer = {"v": 1, "id": event_id, "ok": True,
                      "detail": {**detail, "hub_ts": time.time()}}
            try:
                self.bus.publish(node_id, Kind.CMD_RESULT, answer, timeout_s=2.0)
            except NotSent as err:
                # The technician's self-test then times out and says so; running it again
                # asks again. Nothing is lost: the checklist is stored.
                log.warning("could not answer node %s's self-test: %s", node_id, err)

    def rolled_back(self) -> None:
        self._staged = []
