"""Sends spooled readings to the broker and tells the hub whether the node is there.

Presence (DESIGN.md §4, like Sparkplug's bdSeq): every connection attempt takes a new
session number from the spool; the retained last will and the retained birth carry the
same number, so the hub can ignore a late will from a connection that is already gone.

Readings go out one message at a time, oldest first, QoS 1, and leave the spool only once
the broker has acknowledged them. A resend after a timeout or a reconnect is safe: the
hub deduplicates on (node, seq).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import sys
import threading
import time
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from node.clock import Clock
from node.spool import Reading, Spool
from protocol.loading import MqttEndpoint
from protocol.topics import Kind, topic

log = logging.getLogger(__name__)

QOS = 1
RECONNECT_MIN_S = 1
RECONNECT_MAX_S = 120


def firmware_version() -> str:
    try:
        return metadata.version("roshni")
    except metadata.PackageNotFoundError:
        return "unknown"


def _json(payload: object) -> str:
    return json.dumps(payload, separators=(",", ":"))


class Publisher:
    """Owns the node's MQTT connection. `start()`, then `wake()` after each spooled
    reading, and `stop()` once at the end."""

    def __init__(
        self,
        *,
        node_id: str,
        endpoint: MqttEndpoint,
        spool: Spool,
        clock: Clock,
        profile: str,
        config_sha: str,
        ca_file: Path | None = None,
        keepalive_s: int = 30,
        batch_size: int = 100,
        ack_timeout_s: float = 30.0,
        refused_retry_s: float = 60.0,
        on_command: Callable[[dict[str, Any]], None] | None = None,
        on_config: Callable[[bytes], None] | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.node_id = node_id
        self.endpoint = endpoint
        self.spool = spool
        self.clock = clock
        self.batch_size = batch_size
        self.ack_timeout_s = ack_timeout_s
        self.refused_retry_s = refused_retry_s
        self.keepalive_s = keepalive_s
        self._identity = {"fw": firmware_version(), "profile": profile, "config_sha": config_sha}
        self._on_command = on_command or self._log_command
        self._on_config = on_config
        self._topics = {kind: topic(node_id, kind) for kind in Kind}
        self.session: int | None = None

        self._connected = threading.Event()
        self._stopping = threading.Event()
        # Set by anything the sender thread may be waiting for: a new reading, a
        # (re)connection, an ack, a lost connection, stop().
        self._wakeup = threading.Event()
        self._refusals: dict[int, ReasonCode] = {}
        self._refusals_lock = threading.Lock()
        self._sender = threading.Thread(
            target=self._send_loop, name="roshni-publisher", daemon=True
        )
        self._client = self._make_client(ca_file)

    # -- public -------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def start(self) -> None:
        log.info(
            "broker %s:%d%s as %s", self.endpoint.host, self.endpoint.port,
            " (TLS)" if self.endpoint.tls else "", self.node_id,
        )
        self._client.connect_async(
            self.endpoint.host, self.endpoint.port, self.keepalive_s, clean_start=True
        )
        self._client.loop_start()
        self._sender.start()

    def answer(self, result: dict[str, Any]) -> None:
        """Answer a command on cmd/result (QoS 1; paho sends it once connected again)."""
        info = self._client.publish(self._topics[Kind.CMD_RESULT], _json(result), QOS)
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            log.warning("could not answer command %s: %s", result.get("id"),
                        mqtt.error_string(info.rc))

    def event(self, event_type: str, detail: dict[str, Any]) -> None:
        """Publish an event (QoS 1; paho sends it once connected again)."""
        event = {"v": 1, "node": self.node_id, "seq": self.spool.next_event_seq(),
                 "ts": self.clock.now(), "type": event_type, **detail}
        info = self._client.publish(self._topics[Kind.EVENT], _json(event), QOS)
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            log.warning("could not send event %s: %s", event_type, mqtt.error_string(info.rc))

    def set_config_sha(self, sha: str) -> None:
        """The program now running: the next birth says so."""
        self._identity["config_sha"] = sha

    @property
    def sending(self) -> bool:
        """The sender thread is alive (for the watchdog)."""
        return self._sender.is_alive()

    def wake(self) -> None:
        """A reading was spooled: send it if the broker is reachable."""
        self._wakeup.set()

    def stop(self, *, clean: bool = True, timeout_s: float = 5.0, drain_s: float = 10.0) -> None:
        """Disconnect. Clean: what is spooled is handed over first (for up to `drain_s`,
        while the broker is there) and the retained status says `shutdown`. Not clean (the
        agent failed): the broker is asked to publish the last will, so the hub sees `lost`."""
        if clean:
            self._drain(drain_s)
        self._stopping.set()
        self._wakeup.set()
        if self._sender.is_alive():
            self._sender.join(timeout_s)
        reason = None
        if clean and self.connected:
            self._publish_goodbye(timeout_s)
        elif not clean:
            reason = ReasonCode(PacketTypes.DISCONNECT, "Disconnect with will message")
        self._client.disconnect(reasoncode=reason)
        self._client.loop_stop()
        self._connected.clear()

    def _drain(self, seconds: float) -> None:
        # A node restarted for an update should not sit on its backlog until it is back.
        deadline = time.monotonic() + seconds
        while self.connected and self.spool.depth() and time.monotonic() < deadline:
            self._wakeup.set()
            time.sleep(0.05)

    # -- MQTT client and its callbacks (paho's network thread) ----------------------------

    def _make_client(self, ca_file: Path | None) -> mqtt.Client:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=self.node_id, protocol=mqtt.MQTTv5
        )
        client.username_pw_set(self.endpoint.username, self.endpoint.password)
        if self.endpoint.tls:
            client.tls_set(ca_certs=str(ca_file) if ca_file else None)
        client.reconnect_delay_set(RECONNECT_MIN_S, RECONNECT_MAX_S)
        client.on_pre_connect = self._on_pre_connect
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        return client

    def _status(self, state: str, **extra: Any) -> str:
        return _json({"v": 1, "state": state, "session": self.session, **extra})

    def _on_pre_connect(self, client: mqtt.Client, userdata: Any) -> None:
        try:
            self.session = self.spool.next_session()
        except sqlite3.Error as err:
            # paho retries a connection attempt that fails with OSError; anything else
            # would end its network thread and the node would never reconnect.
            raise OSError(f"cannot take a session number from the spool: {err}") from err
        client.will_set(
            self._topics[Kind.STATUS], self._status("offline", reason="lost"), QOS, retain=True
        )

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any,
                    reason_code: ReasonCode, properties: Any) -> None:
        if reason_code.is_failure:
            log.error("broker refused the connection: %s (retrying)", reason_code)
            return
        birth = self._status("online", ts=self.clock.now(), **self._identity)
        info = client.publish(self._topics[Kind.STATUS], birth, QOS, retain=True)
        if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            log.warning("could not send the birth message: %s", mqtt.error_string(info.rc))
        client.subscribe(self._topics[Kind.CMD], QOS)
        # Retained: the broker hands over the current program at every (re)connection.
        client.subscribe(self._topics[Kind.CONFIG], QOS)
        log.info("connected to the broker, session %d", self.session)
        self._connected.set()
        self._wakeup.set()

    def _on_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        # paho calls this from inside its `except OSError`, without the error; the
        # error is what tells a technician "refused" from "bad certificate".
        error = sys.exc_info()[1]
        log.warning(
            "cannot connect to the broker at %s:%d (%s); readings stay in the spool (%d waiting)",
            self.endpoint.host, self.endpoint.port, error or "unknown error", self.spool.depth(),
        )

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any,
                       reason_code: ReasonCode, properties: Any) -> None:
        was_connected = self._connected.is_set()
        self._connected.clear()
        self._wakeup.set()
        if was_connected and not self._stopping.is_set():
            log.warning("lost the broker connection (%s); readings stay in the spool", reason_code)

    def _on_publish(self, client: mqtt.Client, userdata: Any, mid: int,
                    reason_code: ReasonCode, properties: Any) -> None:
        # MQTT 5 brokers acknowledge a refused publish (e.g. an ACL denial) with a failure
        # code; paho still marks it published, so the refusal is kept here.
        if reason_code.is_failure:
            with self._refusals_lock:
                self._refusals[mid] = reason_code

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        if message.topic == self._topics[Kind.CONFIG]:
            if not message.payload:
                return  # the hub cleared the retained program: keep running the last one
            if self._on_config is not None:
                self._on_config(message.payload)
            else:
                log.info("lighting program received; this node has no lamp output")
            return
        try:
            command = json.loads(message.payload)
        except ValueError:
            log.warning("ignoring a command that is not JSON: %r", message.payload[:200])
            return
        if not isinstance(command, dict):
            log.warning("ignoring a command that is not a JSON object: %r", command)
            return
        self._on_command(command)

    @staticmethod
    def _log_command(command: dict[str, Any]) -> None:
        log.info("command received, not handled by this version: %s", _json(command))

    # -- sending readings (the sender thread) ---------------------------------------------

    def _send_loop(self) -> None:
        while not self._stopping.is_set():
            self._wakeup.clear()
            if not self.connected:
                self._wakeup.wait(5.0)
                continue
            batch = self.spool.peek(self.batch_size)
            if not batch:
                self._wakeup.wait(5.0)
                continue
            outcome = self._send(batch)
            if outcome == "acked":
                self.spool.ack(batch[-1]["seq"])
                self._log_sent(batch)
            elif outcome == "refused":
                self._stopping.wait(self.refused_retry_s)
            else:
                # Not a busy loop if paho still thinks it is connected a moment longer.
                self._stopping.wait(0.2)

    def _send(self, batch: list[Reading]) -> str:
        """One message, then wait for its ack: "acked", "refused" or "retry"."""
        payload = batch[0] if len(batch) == 1 else batch
        with self._refusals_lock:
            self._refusals.clear()
        info = self._client.publish(self._topics[Kind.READING], _json(payload), QOS)
        if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            # Usually the connection dropped just now; paho may still deliver this copy
            # after reconnecting, and the sender will send its own again (a harmless
            # duplicate).
            log.info("could not send seq %s: %s", _seq_range(batch), mqtt.error_string(info.rc))
            return "retry"
        deadline = time.monotonic() + self.ack_timeout_s
        while not info.is_published():
            if self._stopping.is_set():
                return "retry"
            if not self.connected:
                # paho sends an unacknowledged message again after reconnecting; waiting
                # for that copy's ack avoids a duplicate.
                deadline = time.monotonic() + self.ack_timeout_s
            elif time.monotonic() > deadline:
                log.warning(
                    "no ack for seq %s within %.0f s; sending again", _seq_range(batch),
                    self.ack_timeout_s,
                )
                return "retry"
            info.wait_for_publish(0.25)
        with self._refusals_lock:
            refusal = self._refusals.pop(info.mid, None)
        if refusal is not None:
            log.error(
                "broker refused seq %s: %s; they stay in the spool, retrying in %.0f s",
                _seq_range(batch), refusal, self.refused_retry_s,
            )
            return "refused"
        return "acked"

    def _log_sent(self, batch: list[Reading]) -> None:
        if len(batch) == 1:
            log.info("sent reading seq %d, spool %d", batch[0]["seq"], self.spool.depth())
        else:
            log.info(
                "replayed %d readings seq %s, spool %d", len(batch), _seq_range(batch),
                self.spool.depth(),
            )

    def _publish_goodbye(self, timeout_s: float) -> None:
        info = self._client.publish(
            self._topics[Kind.STATUS], self._status("offline", reason="shutdown"), QOS,
            retain=True,
        )
        try:
            info.wait_for_publish(timeout_s)
        except (RuntimeError, ValueError) as err:
            log.warning("could not send the shutdown status: %s", err)
            return
        if not info.is_published():
            log.warning("the broker did not acknowledge the shutdown status within %.0f s",
                        timeout_s)


def _seq_range(batch: list[Reading]) -> str:
    first, last = batch[0]["seq"], batch[-1]["seq"]
    return str(first) if first == last else f"{first}..{last}"
