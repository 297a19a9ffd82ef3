"""MQTT → spool: take messages from the broker and acknowledge them once they are on disk.

The receiver does nothing else (no JSON, no validation), so the broker is drained as fast as
paho can read; everything slow happens in the pipeline, which reads the spool. It uses a
persistent MQTT v5 session: while the hub is down the broker keeps its readings.
"""

from __future__ import annotations

import logging
import select
import ssl
import threading
import time

import paho.mqtt.client as mqtt

from hub.config import HubMqttSettings
from hub.mqttsocket import BufferedClient
from hub.spool import SpoolWriter
from protocol import topics

log = logging.getLogger(__name__)

# Packets read per readable socket before acks are flushed; bounds ack latency under load.
READ_BURST = 512


class Receiver:
    def __init__(self, settings: HubMqttSettings, spool: SpoolWriter, *, max_payload: int,
                 on_spooled: threading.Event | None = None) -> None:
        self.settings = settings
        self.spool = spool
        self.max_payload = max_payload
        self.on_spooled = on_spooled or threading.Event()
        self.connected = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pending: list[tuple[float, str, bytes]] = []
        self._pending_acks: list[tuple[int, int]] = []
        self.received = 0
        self.client = self._make_client()

    def _make_client(self) -> mqtt.Client:
        ep = self.settings.endpoint()
        # MQTT 3.1.1: v5's per-packet property objects cost ~10 % of receive time here, and
        # a persistent session, shared subscriptions and the inflight window set on the
        # broker (max_inflight_messages) are all the hub needs.
        c = BufferedClient(mqtt.CallbackAPIVersion.VERSION2, client_id=self.settings.client_id,
                           protocol=mqtt.MQTTv311, clean_session=False, manual_ack=True)
        if login := self.settings.login(self.settings.client_id):
            c.username_pw_set(*login)
        if ep.tls:
            c.tls_set(ca_certs=str(self.settings.ca_file) if self.settings.ca_file else None,
                      cert_reqs=ssl.CERT_REQUIRED)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_message = self._on_message
        return c

    # --- paho callbacks (run in the receiver thread) ---

    def _on_connect(self, client, _userdata, flags, reason_code, _props) -> None:  # type: ignore[no-untyped-def]
        if reason_code.is_failure:
            log.error("broker refused the hub: %s", reason_code)
            return
        group = self.settings.shared_group
        # Subscribing again on a resumed session is harmless and covers a broker that lost it.
        client.subscribe(topics.subscription_all(group), 1)
        self.connected.set()
        log.info("hub connected to %s:%s", client.host, client.port)

    def _on_disconnect(self, _client, _userdata, _flags, reason_code, _props) -> None:  # type: ignore[no-untyped-def]
        self.connected.clear()
        if not self._stop.is_set():
            log.warning("hub lost the broker: %s", reason_code)

    def _on_message(self, _client, _userdata, msg: mqtt.MQTTMessage) -> None:
        payload = msg.payload
        if len(payload) > self.max_payload:
            # Keep enough to show in the dead-letter; the pipeline rejects it by its length.
            payload = payload[: self.max_payload + 1]
        self._pending.append((time.time(), msg.topic, payload))
        if msg.qos:
            self._pending_acks.append((msg.mid, msg.qos))

    # --- loop ---

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="mqtt-receiver", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(10)
        try:
            self.client.disconnect()
        except Exception:  # noqa: BLE001 - best effort on the way out
            pass

    def _flush(self) -> None:
        """Spool what was received, then acknowledge it: the broker forgets only what is on disk."""
        if self._pending:
            batch, self._pending = self._pending, []
            self.spool.append(batch)
            self.received += len(batch)
            self.on_spooled.set()
        if self._pending_acks:
            acks, self._pending_acks = self._pending_acks, []
            for mid, qos in acks:
                self.client.ack(mid, qos)

    def _run(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            if self.client.socket() is None:
                try:
                    ep = self.settings.endpoint()
                    self.client.connect(ep.host, ep.port, self.settings.keepalive_s)
                    backoff = 0.5
                except OSError as err:
                    log.warning("cannot reach broker (%s); retrying in %.1fs", err, backoff)
                    self._stop.wait(backoff)
                    backoff = min(backoff * 2, 30.0)
                    continue
            try:
                self._pump()
            except Exception:  # noqa: BLE001 - never let the receiver die silently
                log.exception("receiver loop failed; reconnecting")
                self._drop_connection()
        self._flush()

    def _pump(self) -> None:
        c = self.client
        sock = c.buffered_socket()
        if sock is None:
            return
        if c.want_write():
            c.loop_write()  # into the wrapper's buffer
        wlist = [sock] if sock.wants_flush else []
        if sock.pending():
            readable = True
        else:
            readable = bool(select.select([sock], wlist, [], 0.1)[0])
        if readable:
            for _ in range(READ_BURST):
                before = len(self._pending)
                rc = c.loop_read()
                if rc != mqtt.MQTT_ERR_SUCCESS or c.socket() is None:
                    self._flush_then_drop(rc)
                    return
                if len(self._pending) == before:
                    break  # nothing more to read right now
        self._flush()
        if c.socket() is None:
            return
        if c.want_write():
            c.loop_write()
        rc = c.loop_misc()
        if rc != mqtt.MQTT_ERR_SUCCESS or c.socket() is None:
            self._drop_connection()
            return
        try:
            sock.flush()  # all acks of the burst in one send
        except OSError as err:
            log.warning("writing to broker failed: %s", err)
            self._drop_connection()

    def _flush_then_drop(self, rc: int) -> None:
        # What arrived is kept; its acks are lost with the connection, so the broker will
        # redeliver it and the pipeline will drop the duplicates.
        if self._pending:
            self.spool.append(self._pending)
            self.received += len(self._pending)
            self._pending = []
            self.on_spooled.set()
        self._pending_acks.clear()
        log.warning("connection to broker lost (%s)", mqtt.error_string(rc))
        self._drop_connection()

    def _drop_connection(self) -> None:
        # paho has already closed the socket when a loop call failed; after an unexpected
        # exception we close it by disconnecting, and the run loop reconnects.
        self.connected.clear()
        if self.client.socket() is not None:
            try:
                self.client.disconnect()
            except Exception:  # noqa: BLE001
                pass
        self._stop.wait(0.5)
