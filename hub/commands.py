"""Hub → node: commands over `roshni/v1/<id>/cmd` and their answers (DESIGN.md §4), and the
hub's answer to a node's commissioning self-test on `cmd/result`.

`CommandBus` is the hub's publishing connection, separate from the receiver's (that one
does nothing but read, for speed). Every command is stored before it is sent and the
node's answer is stored by ingest, so a technician can look at both later; the answer
arrives like any other message, through the spool.
"""

from __future__ import annotations

import json
import logging
import ssl
import threading
import time
import uuid
from typing import Any

import paho.mqtt.client as mqtt
from pydantic import BaseModel
from sqlalchemy import Connection, Engine, func, insert, select, update

from hub.config import HubMqttSettings
from hub.db import writing
from hub.models import Command
from protocol.payloads import CommandResult
from protocol.topics import Kind, topic

log = logging.getLogger(__name__)

SENT, ANSWERED, NOT_SENT = "sent", "answered", "not_sent"
# The hub's own answers to self-tests come back through its wildcard subscription.
BY_HUB = "hub"


class NotSent(RuntimeError):
    """The broker did not take the message; the message says why."""


class CommandBus:
    def __init__(self, settings: HubMqttSettings) -> None:
        self.settings = settings
        ep = settings.endpoint()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                                  client_id=settings.command_client_id, protocol=mqtt.MQTTv311,
                                  clean_session=True)
        if login := settings.login(settings.command_client_id):
            self.client.username_pw_set(*login)
        if ep.tls:
            self.client.tls_set(ca_certs=str(settings.ca_file) if settings.ca_file else None,
                                cert_reqs=ssl.CERT_REQUIRED)
        self.client.reconnect_delay_set(1, 30)
        self.connected = threading.Event()
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = lambda *_: self.connected.clear()
        self._endpoint = ep

    def _on_connect(self, _c: Any, _u: Any, _f: Any, reason_code: Any, _p: Any) -> None:
        if reason_code.is_failure:
            log.error("broker refused the hub's command connection: %s", reason_code)
            return
        self.connected.set()

    def start(self) -> None:
        self.client.connect_async(self._endpoint.host, self._endpoint.port,
                                  self.settings.keepalive_s)
        self.client.loop_start()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def publish(self, node_id: str, kind: Kind, payload: dict[str, Any],
                timeout_s: float = 5.0, *, retain: bool = False) -> None:
        """Publish with QoS 1 and wait for the broker's ack; NotSent if it does not come.
        `retain`: the broker keeps it for the node's next connection (its config)."""
        if not self.connected.wait(timeout_s):
            raise NotSent("the hub is not connected to the broker")
        info = self.client.publish(topic(node_id, kind), json.dumps(payload), qos=1,
                                   retain=retain)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:
            raise NotSent(f"the broker did not take it: {mqtt.error_string(info.rc)}")
        try:
            info.wait_for_publish(timeout_s)
        except (RuntimeError, ValueError) as err:
            raise NotSent(f"the broker did not take it: {err}") from None
        if not info.is_published():
            raise NotSent(f"the broker did not acknowledge it within {timeout_s:.0f} s")


def send_command(engine: Engine, bus: CommandBus, node_id: str, cmd: str, args: BaseModel,
                 *, actor: str) -> dict[str, Any]:
    """Store the command, then send it; a command the broker did not take is kept as
    `not_sent` (and NotSent raised), never silently lost."""
    command_id = str(uuid.uuid4())
    values = args.model_dump()
    with writing(engine) as conn:
        conn.execute(insert(Command).values(
            id=command_id, node_id=node_id, cmd=cmd, args=json.dumps(values), issued_by=actor,
            issued_at=time.time(), status=SENT))
    try:
        bus.publish(node_id, Kind.CMD, {"v": 1, "id": command_id, "cmd": cmd, **values})
    except NotSent:
        with writing(engine) as conn:
            conn.execute(update(Command).where(Command.id == command_id)
                         .values(status=NOT_SENT))
        raise
    with engine.connect() as conn:
        found = get_command(conn, node_id, command_id)
    assert found is not None
    return found


def record_result(conn: Connection, node_id: str, result: CommandResult, at: float) -> bool:
    """Store a node's answer in the ingest transaction; False if it answers no command
    this node was sent (the caller dead-letters it)."""
    done = conn.execute(
        update(Command).where(Command.id == result.id, Command.node_id == node_id)
        .values(status=ANSWERED, ok=result.ok, result=json.dumps(result.detail),
                answered_at=at))
    return done.rowcount > 0


def get_command(conn: Connection, node_id: str, command_id: str) -> dict[str, Any] | None:
    row = conn.execute(select(Command).where(Command.id == command_id,
                                             Command.node_id == node_id)).first()
    return None if row is None else _sent(row)


def list_commands(conn: Connection, node_id: str, *, limit: int, offset: int
                  ) -> tuple[list[dict[str, Any]], int]:
    count = conn.execute(select(func.count()).select_from(Command)
                         .where(Command.node_id == node_id)).scalar_one()
    rows = conn.execute(select(Command).where(Command.node_id == node_id)
                        .order_by(Command.issued_at.desc()).limit(limit).offset(offset)).all()
    return [_sent(r) for r in rows], int(count)


def _sent(c: Any) -> dict[str, Any]:
    """A command in the API's shape (hub.api.schemas.CommandPublic)."""
    return dict(id=c.id, node=c.node_id, cmd=c.cmd, args=json.loads(c.args),
                issued_by=c.issued_by, issued_at=c.issued_at, status=c.status, ok=c.ok,
                result=None if c.result is None else json.loads(c.result),
                answered_at=c.answered_at)
