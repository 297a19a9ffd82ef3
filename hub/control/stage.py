"""Lamp control's part of the pipeline: what nodes say about their config, and energy.

- `ControlStage` (ingest): `config_applied` {version, sha} and `config_rejected` {version,
  reason} events, and the `config_sha` of a birth, say which program a node runs; the
  newest word (by receive time, compared in the database) wins.
- `EnergyStage` (the rules' owner of the node's partition, after the rules): each reading
  adds to its lamp's energy used and to the full-on baseline (rated power from sunset to
  sunrise, what the lamp drew before it was controlled); saved = baseline - used. A
  reading at or before the lamp's last counted one is not counted again. It runs where
  the rules judge, because there a node's readings come in the order they happened: two
  ingest workers commit a node's readings interleaved, and counted as they were committed
  the older ones were skipped.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, case, select, update

from hub.core.rules_settings import RulesSettings
from hub.models import LampEnergy, Node, NodeConfig
from hub.rules.engine import expected_w
from hub.rules.sun import SunCache
from hub.upsert import among, upsert

if TYPE_CHECKING:
    from hub.pipeline import Batch

APPLIED, REJECTED = "config_applied", "config_rejected"


class ControlStage:
    def __init__(self, rules: RulesSettings) -> None:
        self.rules = rules

    def __repr__(self) -> str:
        return "ControlStage()"

    def evaluate(self, conn: Connection, batch: Batch) -> None:
        for e in batch.events:
            if e.event.type in (APPLIED, REJECTED):
                self._answer(conn, e.node.id, e.event.type, e.event.detail(), e.received_at)
        for c in batch.changes:
            sha = batch.status.get(c.node.id, {}).get("config_sha")
            if c.state == "online" and sha:
                self._running(conn, c.node.id, sha, None, c.at)

    def committed(self) -> None:
        pass

    def rolled_back(self) -> None:
        pass

    # --- acknowledgements ---

    def _answer(self, conn: Connection, node_id: str, kind: str, detail: dict[str, Any],
                at: float) -> None:
        version = detail.get("version")
        if not isinstance(version, int) or isinstance(version, bool):
            return
        if kind == APPLIED:
            sha = detail.get("sha")
            if isinstance(sha, str) and sha:
                self._running(conn, node_id, sha[:128], version, at)
            return
        reason = str(detail.get("reason", ""))[:256]
        conn.execute(update(NodeConfig).where(NodeConfig.node_id == node_id)
                     .values(rejected_version=version, rejected_reason=reason))

    def _running(self, conn: Connection, node_id: str, sha: str, version: int | None,
                 at: float) -> None:
        """The node runs `sha` as of `at` (a birth does not say the version: if it is the
        one sent, that version)."""
        acked = version if version is not None else case(
            (NodeConfig.sha == sha, NodeConfig.version), else_=NodeConfig.acked_version)
        conn.execute(update(NodeConfig).where(
            NodeConfig.node_id == node_id,
            NodeConfig.acked_at.is_(None) | (NodeConfig.acked_at <= at))
            .values(running_sha=sha, acked_version=acked, acked_at=at))



class EnergyStage:
    def __init__(self, rules: RulesSettings) -> None:
        self.rules = rules
        self.sun = SunCache(rules.night_below_deg, rules.day_above_deg)

    def __repr__(self) -> str:
        return "EnergyStage()"

    def committed(self) -> None:
        pass

    def rolled_back(self) -> None:
        pass

    def evaluate(self, conn: Connection, batch: Batch) -> None:
        if not batch.stored:
            return
        ids = {s.node.id for s in batch.stored}
        nodes = {n: (w, lat, lon) for n, w, lat, lon in conn.execute(
            select(Node.id, Node.rated_w, Node.lat, Node.lon)
            .where(among(conn, Node.id, ids), Node.rated_w.is_not(None)))}
        if not nodes:
            return
        last = dict(conn.execute(select(LampEnergy.node_id, LampEnergy.last_ts)
                                 .where(among(conn, LampEnergy.node_id, nodes))).all())
        totals: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0.0])
        for s in sorted(batch.stored, key=lambda s: s.ts):
            place = nodes.get(s.node.id)
            if place is None or s.ts <= last.get(s.node.id, 0.0):
                continue
            rated, lat, lon = place
            r = s.reading
            hours = float(r.interval_s or self.rules.default_interval_s) / 3600.0
            t = totals[s.node.id]
            t[0] += _used_w(self.rules, rated, r) * hours
            if lat is not None and lon is not None and self.sun.is_night(lat, lon, s.ts):
                t[1] += rated * hours
            t[2] = max(t[2], s.ts)
            last[s.node.id] = s.ts
        if not totals:
            return
        # Added to what the row holds, in the database: the partition's owner is the only
        # writer, and an increment stays right whoever reads the row meanwhile.
        upsert(conn, LampEnergy.__table__, [
            dict(node_id=n, used_wh=u, baseline_wh=b, last_ts=ts)
            for n, (u, b, ts) in sorted(totals.items())],
            keys=("node_id",), added=("used_wh", "baseline_wh"))


def _used_w(rules: RulesSettings, rated: float, r: Any) -> float:
    """Power over the interval: measured if the node has a meter, else what its mean
    commanded level should draw, else rated power while the lamp burned."""
    if r.lamp_w is not None:
        return float(r.lamp_w) if r.lamp_on is not False else 0.0
    if r.level_avg is not None:
        return 0.0 if r.level_avg <= 0 else expected_w(rules, rated, r.level_avg)
    return rated if r.lamp_on else 0.0
