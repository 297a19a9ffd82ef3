"""RabbitMQ → spool: the receiver for a clustered broker (README "A broker that clusters").

Nodes still speak MQTT 3.1.1 to RabbitMQ's MQTT plugin, which routes each message into the
topic exchange `amq.topic`. Bound there to `roshni.v1.#` is one quorum queue, replicated on
a majority of the cluster before the node gets its PUBACK; every hub worker consumes it over
AMQP as a competing consumer. A message a worker has not acknowledged goes back to the
queue when that worker or its broker node dies, so no worker strands readings the way a
per-worker queue would.

Like `hub.receiver.Receiver` it does nothing but write the spool, and acknowledges only what
is on disk; the pipeline behind it is the same.
"""

from __future__ import annotations

import logging
import threading
import time
from urllib.parse import urlsplit

import pika
import pika.exceptions

from hub.config import HubMqttSettings
from hub.spool import SpoolWriter
from protocol import topics

log = logging.getLogger(__name__)
# pika narrates every connection step at INFO; our own lines say what matters.
logging.getLogger("pika").setLevel(logging.WARNING)

EXCHANGE = "amq.topic"  # where RabbitMQ's MQTT plugin publishes
# Unacknowledged deliveries per worker: the spool is written (and fsynced) once per burst,
# so the window bounds both the work redone after a crash and the acks' latency.
PREFETCH = 2000
# MQTT's topic levels are separated by '/', AMQP routing keys by '.': the plugin swaps the
# two characters, so swapping them back gives the node's topic exactly.
_SWAP = str.maketrans("./", "/.")


def binding_key() -> str:
    """`roshni/v1/#` as the plugin writes it in amq.topic."""
    return topics.subscription_all().translate(_SWAP)


def mqtt_topic(routing_key: str) -> str:
    return routing_key.translate(_SWAP)


def connection_parameters(urls: str) -> list[pika.URLParameters]:
    """`[mqtt] amqp_url` may list every node of the cluster, comma-separated."""
    params = []
    for url in (u.strip() for u in urls.split(",")):
        if urlsplit(url).scheme not in ("amqp", "amqps"):
            raise ValueError(f"amqp_url: {url!r} must start with amqp:// or amqps://")
        p = pika.URLParameters(url)
        p.heartbeat = 30
        p.blocked_connection_timeout = 60
        p.connection_attempts = 1
        params.append(p)
    return params


class AmqpReceiver:
    def __init__(self, settings: HubMqttSettings, spool: SpoolWriter, *, max_payload: int,
                 on_spooled: threading.Event | None = None) -> None:
        assert settings.amqp_url
        self.settings = settings
        self.params = connection_parameters(settings.amqp_url)
        self.queue = settings.amqp_queue
        self.spool = spool
        self.max_payload = max_payload
        self.on_spooled = on_spooled or threading.Event()
        self.connected = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pending: list[tuple[float, str, bytes]] = []
        self._last_tag: int | None = None
        self.received = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="amqp-receiver", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(10)

    def _run(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            try:
                conn = pika.BlockingConnection(self.params)
            except pika.exceptions.AMQPError as err:
                log.warning("cannot reach any RabbitMQ node (%s); retrying in %.1fs",
                            err, backoff)
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            backoff = 0.5
            try:
                self._consume(conn)
            except (pika.exceptions.AMQPError, OSError) as err:
                log.warning("lost RabbitMQ (%s); reconnecting", err)
            except Exception:  # noqa: BLE001 - never let the receiver die silently
                log.exception("AMQP receiver failed; reconnecting")
            finally:
                self._lost(conn)
            # The next attempt starts with another node: the one just lost may be down.
            self.params.append(self.params.pop(0))

    def _consume(self, conn: pika.BlockingConnection) -> None:
        ch = conn.channel()
        # Declared by every worker (idempotent), so nodes' readings are queued even before
        # an operator has loaded deploy/rabbitmq/definitions.json.
        ch.queue_declare(self.queue, durable=True, arguments={"x-queue-type": "quorum"})
        ch.queue_bind(self.queue, EXCHANGE, binding_key())
        ch.basic_qos(prefetch_count=PREFETCH)
        ch.basic_consume(self.queue, self._on_message, auto_ack=False)
        self.connected.set()
        log.info("hub consuming RabbitMQ queue %s", self.queue)
        while not self._stop.is_set():
            conn.process_data_events(time_limit=0.1)
            self._flush(ch)
        self._flush(ch)
        conn.close()

    def _on_message(self, _ch, method, _props, body: bytes) -> None:  # type: ignore[no-untyped-def]
        if len(body) > self.max_payload:
            # Keep enough to show in the dead-letter; the pipeline rejects it by its length.
            body = body[: self.max_payload + 1]
        self._pending.append((time.time(), mqtt_topic(method.routing_key), body))
        self._last_tag = method.delivery_tag

    def _flush(self, ch) -> None:  # type: ignore[no-untyped-def]
        """Spool what was delivered, then acknowledge it: the queue forgets only what is on disk."""
        self._spool_pending()
        if self._last_tag is not None:
            tag, self._last_tag = self._last_tag, None
            ch.basic_ack(tag, multiple=True)

    def _spool_pending(self) -> None:
        if self._pending:
            batch, self._pending = self._pending, []
            self.spool.append(batch)
            self.received += len(batch)
            self.on_spooled.set()

    def _lost(self, conn: pika.BlockingConnection) -> None:
        # What arrived is kept; unacknowledged, it is delivered again (to us or another
        # worker), and the pipeline drops the duplicates by (node, seq).
        self.connected.clear()
        self._spool_pending()
        self._last_tag = None
        if conn.is_open:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - best effort on the way out
                pass
