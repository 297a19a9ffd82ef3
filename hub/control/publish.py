"""Each node's program as its retained `config` (DESIGN.md §4, §11).

Two steps, both safe with several hub workers:
1. `sync`: in a write transaction, compare every node's effective program with the config
   it was last given; where it differs, the database bumps the node's `version`
   (`UPDATE … SET version = version + 1 … WHERE sha differs`), so a number is never
   given to two different contents and two workers finding the same change bump once.
2. `publish_pending`: send every config the broker has not taken yet (QoS 1, retained: a
   node that is offline gets it when it comes back) and record `published_version` only if
   it is still the node's newest; a config overtaken while it was in flight stays pending
   and its newest content is sent again, so the broker ends with the newest version.
A config the broker did not take stays pending; the sweep sends it again.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterable

from sqlalchemy import Connection, Engine, select, update

from hub.commands import CommandBus, NotSent
from hub.control.effective import resolve
from hub.core.control_settings import ControlSettings
from hub.db import writing
from hub.models import NodeConfig
from protocol.topics import Kind

log = logging.getLogger(__name__)


def sync(conn: Connection, settings: ControlSettings,
         node_ids: Iterable[str] | None = None, *, now: float | None = None) -> list[str]:
    """Give each node whose effective program changed a new config version; the nodes
    changed. Call inside `writing()`."""
    now = time.time() if now is None else now
    wanted = resolve(conn, settings, node_ids)
    if not wanted:
        return []
    current = dict(conn.execute(select(NodeConfig.node_id, NodeConfig.sha)
                                .where(NodeConfig.node_id.in_(list(wanted)))).all())
    new = [n for n in wanted if n not in current]
    if new:
        conn.execute(NodeConfig.__table__.insert(), [dict(
            node_id=n, version=0, floor=False, published_version=0) for n in new])
    changed = []
    for node_id, eff in wanted.items():
        if current.get(node_id) == eff.sha:
            continue
        done = conn.execute(
            update(NodeConfig).where(NodeConfig.node_id == node_id,
                                     (NodeConfig.sha.is_(None)) | (NodeConfig.sha != eff.sha))
            .values(version=NodeConfig.version + 1, sha=eff.sha,
                    content=json.dumps(eff.content, sort_keys=True), program=eff.program,
                    program_version=eff.program_version, floor=eff.floor, changed_at=now))
        if done.rowcount:
            changed.append(node_id)
    return changed


def refresh(engine: Engine, settings: ControlSettings,
            node_ids: Iterable[str] | None = None) -> list[str]:
    """`sync`, taking the write lock only when something changed: the comparison runs on a
    plain read, so an idle sweep never holds up ingest. The nodes given a new version."""
    with engine.connect() as conn:
        wanted = resolve(conn, settings, node_ids)
        current = dict(conn.execute(select(NodeConfig.node_id, NodeConfig.sha)).all())
    differ = [n for n, eff in wanted.items() if current.get(n) != eff.sha]
    if not differ:
        return []
    with writing(engine) as conn:  # decided again under the lock
        return sync(conn, settings, differ)


def publish_pending(engine: Engine, bus: CommandBus,
                    node_ids: Iterable[str] | None = None, *, rounds: int = 3) -> int:
    """Send the configs the broker does not have yet; how many were taken. Raises nothing:
    what was not taken stays pending for the next sweep."""
    wanted = None if node_ids is None else list(node_ids)
    sent = 0
    for _ in range(rounds):
        q = select(NodeConfig.node_id, NodeConfig.version, NodeConfig.sha,
                   NodeConfig.content).where(NodeConfig.published_version < NodeConfig.version)
        if wanted is not None:
            q = q.where(NodeConfig.node_id.in_(wanted))
        with engine.connect() as conn:
            pending = conn.execute(q).all()
        if not pending:
            break
        for node_id, version, sha, content in pending:
            payload = {"v": 1, "version": version, "sha": sha, "program": json.loads(content)}
            try:
                bus.publish(node_id, Kind.CONFIG, payload, timeout_s=5.0, retain=True)
            except NotSent as err:
                log.warning("config %d for node %s not sent (%s); the sweep retries",
                            version, node_id, err)
                return sent
            with writing(engine) as conn:
                conn.execute(update(NodeConfig).where(NodeConfig.node_id == node_id,
                                                      NodeConfig.version == version)
                             .values(published_version=version, published_at=time.time()))
            sent += 1
    return sent


class ConfigSweep:
    """Every `sweep_s`, or at once when woken: re-resolve every node (floors follow the
    unsafe-spot scores, new or moved nodes get their program) and send what is pending.
    Publishing here rather than in an API request keeps a change to a district of 10 000
    lamps from holding the request while the broker acknowledges each config."""

    def __init__(self, settings: ControlSettings, engine: Engine, bus: CommandBus) -> None:
        self.settings = settings
        self.engine = engine
        self.bus = bus
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def run_once(self) -> int:
        refresh(self.engine, self.settings)
        return publish_pending(self.engine, self.bus)

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if not self.settings.enabled:
            return
        self._thread = threading.Thread(target=self._run, name="control-sweep", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # noqa: BLE001 - the next sweep tries again
                log.exception("lamp-control sweep failed")
            self._wake.wait(self.settings.sweep_s)
            self._wake.clear()
