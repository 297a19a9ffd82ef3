"""Which nodes the tick must look at: those that may have fallen silent, and those offline
without their alert yet. A city of 100 000 nodes on one worker made the tick walk every
node every second (~40 ms of a core's time each, even with nothing to judge); a heap of
silence deadlines makes it look only at the nodes that are due.

Entries are a cache of the committed node states, pushed whenever a state is committed
(or, after a rollback, restored): a node's entry is current only while it matches the
deadline last scheduled for it, older ones are dropped when they surface. The deadline
is a lower bound (`last_heard + silence × interval`; the hub's own deafness only moves
it later), so the tick judges the node again by the full rule when it comes up."""

from __future__ import annotations

import heapq

from hub.rules.state import NodeState


class SilenceWatch:
    def __init__(self, silence_intervals: float) -> None:
        self.silence_intervals = silence_intervals
        self._heap: list[tuple[float, str]] = []
        self._deadline: dict[str, float] = {}
        # Offline nodes whose node_offline alert is not raised yet: looked at every tick
        # (their dwell, and power cuts that stand for them, decide). Insertion-ordered.
        self._offline: dict[str, None] = {}

    def schedule(self, node_id: str, node: NodeState | None) -> None:
        """Take a node's committed state into account."""
        if node is None or (node.online and node.last_heard is None):
            self._deadline.pop(node_id, None)
            self._offline.pop(node_id, None)
        elif node.online:
            self._offline.pop(node_id, None)
            self.push(node_id, node.last_heard + self.silence_intervals * node.interval_s)  # type: ignore[operator]
        else:
            self._deadline.pop(node_id, None)
            timer = node.timers.get("node_offline")
            if timer is None or timer.alert_id is None:
                self._offline[node_id] = None
            else:
                self._offline.pop(node_id, None)

    def push(self, node_id: str, deadline: float) -> None:
        if self._deadline.get(node_id) == deadline:
            return
        self._deadline[node_id] = deadline
        heapq.heappush(self._heap, (deadline, node_id))
        if len(self._heap) > 4 * len(self._deadline) + 1024:
            self._heap = [(d, n) for n, d in self._deadline.items()]
            heapq.heapify(self._heap)

    def due(self, now: float) -> list[str]:
        """Nodes whose silence deadline is before `now`, earliest first; each is off the
        heap until it is scheduled or pushed again."""
        out = []
        while self._heap and self._heap[0][0] < now:
            deadline, node_id = heapq.heappop(self._heap)
            if self._deadline.get(node_id) == deadline:
                del self._deadline[node_id]
                out.append(node_id)
        return out

    def offline(self) -> list[str]:
        return list(self._offline)

    def alerted(self, node_id: str) -> None:
        """Its offline alert is raised: nothing to look at until its state changes."""
        self._offline.pop(node_id, None)
