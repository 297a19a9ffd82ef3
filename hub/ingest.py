"""Ingest wired together: broker → receiver → spool → pipeline → InfluxDB + state."""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from hub.config import HubSettings
from hub.influx import Influx, InfluxError, connect
from hub.metrics import Metrics
from hub.pipeline import Pipeline
from hub.receiver import Receiver
from hub.registry import Registry
from hub.spool import SpoolReader, SpoolWriter

if TYPE_CHECKING:
    from hub.amqp_receiver import AmqpReceiver

log = logging.getLogger(__name__)

START_GRACE_S = 3.0


def _receiver(settings: HubSettings) -> type[Receiver] | type[AmqpReceiver]:
    """MQTT (Mosquitto) unless a RabbitMQ cluster's AMQP URL is configured."""
    if settings.mqtt.amqp_url:
        from hub.amqp_receiver import AmqpReceiver  # pika only where it is used
        return AmqpReceiver
    return Receiver


class Ingest:
    def __init__(self, settings: HubSettings, engine: Engine, metrics: Metrics,
                 registry: Registry) -> None:
        self.settings = settings
        self.metrics = metrics
        self.registry = registry
        self.influx: Influx = connect(settings.influx)
        spool_dir = settings.spool_dir / settings.mqtt.client_id
        self.writer = SpoolWriter(spool_dir, segment_bytes=settings.ingest.segment_bytes,
                                  fsync=settings.ingest.fsync)
        self.wakeup = wakeup = threading.Event()
        self.receiver = _receiver(settings)(settings.mqtt, self.writer,
                                            max_payload=settings.ingest.max_payload_bytes,
                                            on_spooled=wakeup)
        self.pipeline = Pipeline(engine=engine, registry=registry, influx=self.influx,
                                 reader=SpoolReader(spool_dir), settings=settings.ingest,
                                 metrics=metrics, worker=settings.mqtt.client_id, wakeup=wakeup)
        metrics.spool_depth.set_function(self.spool_depth)
        self._received_seen = 0
        self._started = time.monotonic()

    def spool_depth(self) -> int:
        p = self.pipeline
        return max(0, p.backlog_at_start + self.writer.appended - p.consumed)

    def listening(self) -> bool:
        """Connected to the broker and no more than a batch behind: silence from a node
        is then the node's, not a queue's."""
        return (self.receiver.connected.is_set()
                and self.spool_depth() <= self.settings.ingest.batch_size)

    def filing(self) -> int:
        """Messages this worker has yet to file for the rules: its spool's backlog, and at
        least 1 while messages keep arriving or just after it started (its broker session
        may be handing it a backlog). Several workers: the rules hold a worker's newer
        readings until the others have filed theirs (hub/membership.py)."""
        depth = self.spool_depth()
        received = self.receiver.received
        arriving, self._received_seen = received != self._received_seen, received
        if depth or arriving or time.monotonic() - self._started < START_GRACE_S:
            return max(depth, 1)
        return 0

    def start(self) -> None:
        self._started = time.monotonic()
        try:
            self.influx.ensure_database()
        except InfluxError as err:
            log.warning("could not create the InfluxDB database yet (%s); will keep trying", err)
        self.pipeline.start()
        self.receiver.start()

    def stop(self) -> None:
        self.receiver.stop()
        self.pipeline.stop()
        self.writer.close()
        self.influx.close()

    def health(self) -> dict[str, object]:
        return {
            "mqtt": "connected" if self.receiver.connected.is_set() else "disconnected",
            "influx": "ok" if self.pipeline.influx_ok
            else f"unavailable: {self.pipeline.last_error}",
            "spool_depth": self.spool_depth(),
        }
