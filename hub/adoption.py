"""Draining a dead worker's broker session (DESIGN.md §9).

Mosquitto hands a shared subscription's messages round-robin to every session in the
group, connected or not: a worker that died with a persistent session keeps receiving its
share, queued where nothing reads it. When a worker's membership row (hub/membership.py)
has not been renewed for `[rules] lease_s`, one live ingest worker claims it in the
database (`adopted_by`, a conditional UPDATE: one adopter at a time), connects under the
dead worker's client id (its account, with the password every hub account shares),
leaves the shared subscription (so nothing new is queued there), takes what was queued
into its own spool, acknowledging each message once it is on disk, and ends the session.
Then the row goes.

A worker that comes back in the meantime takes its session over (the broker disconnects
the adopter), renews its row, and nothing is ended. RabbitMQ needs none of this: its
workers share one queue, and what a dead worker had not acknowledged goes back to it.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections.abc import Callable

import paho.mqtt.client as mqtt
from sqlalchemy import Engine, delete, select, update

from hub.config import HubMqttSettings
from hub.db import writing
from hub.membership import LOCK_KEY, Member
from hub.models import HubWorker
from hub.spool import SpoolWriter
from protocol import topics

log = logging.getLogger(__name__)

# The session is drained once nothing has arrived for this long.
QUIET_S = 1.0
DRAIN_LIMIT_S = 300.0


class SessionAdoption:
    def __init__(self, settings: HubMqttSettings, spool: SpoolWriter, name: str, db: Engine,
                 *, on_spooled: threading.Event | None = None,
                 wall: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.spool = spool
        self.name = name
        self.db = db
        self.on_spooled = on_spooled or threading.Event()
        self.wall = wall
        self.drained = 0  # messages taken from dead workers' sessions
        self._busy = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def consider(self, rows: list[Member], now: float, ttl: float) -> None:
        """After each membership beat: adopt one dead worker's session, if any waits."""
        if self._stop.is_set() or self._busy.locked():
            return
        for m in sorted(rows, key=lambda m: m.heard_at):
            if (m.name == self.name or "ingest" not in m.roles or not m.session
                    or now - m.heard_at <= ttl):
                continue
            if m.adopted_by is not None and now - (m.adopted_at or 0.0) <= DRAIN_LIMIT_S:
                continue  # another worker is at it
            if self._claim(m, now):
                self._busy.acquire()
                self._thread = threading.Thread(target=self._adopt, args=(m, ttl),
                                                name=f"adopt-{m.name}", daemon=True)
                self._thread.start()
                return

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(QUIET_S + 5)

    def _claim(self, m: Member, now: float) -> bool:
        with writing(self.db, shared=LOCK_KEY) as conn:
            done = conn.execute(
                update(HubWorker).where(HubWorker.name == m.name,
                                        HubWorker.heard_at == m.heard_at,
                                        HubWorker.adopted_by.is_not_distinct_from(m.adopted_by))
                .values(adopted_by=self.name, adopted_at=now))
            return done.rowcount == 1

    def _adopt(self, m: Member, ttl: float) -> None:
        try:
            log.info("draining the broker session of worker %s, silent since %.0f s",
                     m.name, self.wall() - m.heard_at)
            if not self._drain(m.name):
                return
            if not self._still_dead(m, ttl):
                log.info("worker %s came back; its session is its own again", m.name)
                return
            self._end_session(m.name)
            with writing(self.db, shared=LOCK_KEY) as conn:
                conn.execute(delete(HubWorker).where(HubWorker.name == m.name,
                                                     HubWorker.heard_at == m.heard_at))
            log.info("worker %s's session drained and ended", m.name)
        except Exception:  # noqa: BLE001 - another beat tries again after DRAIN_LIMIT_S
            log.exception("could not drain worker %s's session", m.name)
        finally:
            self._busy.release()

    def _still_dead(self, m: Member, ttl: float) -> bool:
        with self.db.connect() as conn:
            heard = conn.execute(select(HubWorker.heard_at)
                                 .where(HubWorker.name == m.name)).scalar()
        return heard is not None and heard == m.heard_at and self.wall() - heard > ttl

    def _client(self, client_id: str, clean: bool) -> mqtt.Client:
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                        protocol=mqtt.MQTTv311, clean_session=clean, manual_ack=True)
        if login := self.settings.login(client_id):
            c.username_pw_set(*login)
        if self.settings.endpoint().tls:
            c.tls_set(ca_certs=str(self.settings.ca_file) if self.settings.ca_file else None,
                      cert_reqs=ssl.CERT_REQUIRED)
        return c

    def _drain(self, client_id: str) -> bool:
        """Take the session's queued messages into our spool. False if the session was
        taken from us (its worker is back) or could not be reached."""
        received: list[mqtt.MQTTMessage] = []
        state = {"last": time.monotonic(), "lost": False, "up": False}
        c = self._client(client_id, clean=False)

        def on_connect(client, _u, _flags, rc, _p):  # type: ignore[no-untyped-def]
            if rc.is_failure:
                log.error("broker refused the adoption of %s: %s", client_id, rc)
                state["lost"] = True
                return
            # Out of the group at once: what the session holds was queued before, and
            # is delivered all the same; nothing new is queued for it.
            client.unsubscribe(topics.subscription_all(self.settings.shared_group))
            state["up"], state["last"] = True, time.monotonic()

        def on_message(_c, _u, msg):  # type: ignore[no-untyped-def]
            received.append(msg)
            state["last"] = time.monotonic()

        def on_disconnect(_c, _u, _f, _rc, _p):  # type: ignore[no-untyped-def]
            state["lost"] = True

        c.on_connect, c.on_message = on_connect, on_message
        ep = self.settings.endpoint()
        c.connect(ep.host, ep.port, self.settings.keepalive_s)
        c.on_disconnect = on_disconnect
        started = time.monotonic()
        try:
            while not state["lost"] and time.monotonic() - started < DRAIN_LIMIT_S:
                c.loop(0.1)
                if received:
                    batch, received[:] = list(received), []
                    self.spool.append([(time.time(), m.topic, m.payload) for m in batch])
                    self.drained += len(batch)
                    self.on_spooled.set()
                    for m in batch:  # on disk: the broker may forget them
                        if m.qos:
                            c.ack(m.mid, m.qos)
                elif state["up"] and time.monotonic() - state["last"] > QUIET_S:
                    return True
            return False
        finally:
            c.on_disconnect = None
            c.disconnect()
            c.loop(0.1)

    def _end_session(self, client_id: str) -> None:
        """A clean session under the same id discards the persistent one."""
        c = self._client(client_id, clean=True)
        ep = self.settings.endpoint()
        c.connect(ep.host, ep.port, self.settings.keepalive_s)
        deadline = time.monotonic() + 5
        while not c.is_connected() and time.monotonic() < deadline:
            c.loop(0.1)
        c.disconnect()
        c.loop(0.1)
