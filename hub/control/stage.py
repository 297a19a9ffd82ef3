"""Lamp control's part of the pipeline: what nodes say about their config.

`ControlStage` (ingest): `config_applied` {version, sha} and `config_rejected` {version,
reason} events, and the `config_sha` of a birth, say which program a node runs; the newest
word (by receive time, compared in the database) wins. (Energy used and saved is counted
by the rules engine, with the lamp's other statistics: hub/rules/engine.py.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, case, update

from hub.models import NodeConfig

if TYPE_CHECKING:
    from hub.pipeline import Batch

APPLIED, REJECTED = "config_applied", "config_rejected"


class ControlStage:
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
