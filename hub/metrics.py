"""Prometheus metrics (DESIGN.md §10). One registry per hub, so tests can run several."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics

from hub.deadletter import REASONS

# `_created` series double the scrape size and nobody graphs them.
disable_created_metrics()


class Metrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        self.received = Counter("roshni_readings_received", "Readings received from nodes",
                                registry=r)
        self.stored = Counter("roshni_readings_stored", "Readings stored in InfluxDB", registry=r)
        self.duplicates = Counter("roshni_readings_duplicate",
                                  "Readings dropped as already stored (node, seq)", registry=r)
        self.rejected = Counter("roshni_readings_rejected",
                                "Messages dead-lettered, by reason", ["reason"], registry=r)
        for reason in REASONS:
            self.rejected.labels(reason)
        self.dead_letters_dropped = Counter(
            "roshni_dead_letters_dropped", "Old dead letters dropped to keep a node within "
            "[ingest] dead_letters_per_node", registry=r)
        self.clock_faults = Counter("roshni_clock_faults",
                                    "Readings whose node clock was implausible", registry=r)
        self.stale_status = Counter("roshni_status_stale",
                                    "Status messages from an older session, ignored", registry=r)
        self.influx_retries = Counter("roshni_influx_retries",
                                      "InfluxDB writes retried because it was unavailable",
                                      registry=r)
        self.influx_write_seconds = Histogram("roshni_influx_write_seconds",
                                              "Time per InfluxDB batch write", registry=r)
        self.spool_depth = Gauge("roshni_spool_depth",
                                 "Messages on disk waiting for InfluxDB", registry=r)
        self.nodes = Gauge("roshni_nodes", "Nodes by state", ["state"], registry=r)
        self.rules_partitions = Gauge("roshni_rules_partitions",
                                      "Partitions of the rules this worker owns", registry=r)
        self.alerts_open = Gauge("roshni_alerts_open", "Alerts not cleared, by rule", ["rule"],
                                 registry=r)
        self.tickets = Gauge("roshni_tickets", "Repair tickets by status", ["status"],
                             registry=r)
        self.notifications_pending = Gauge(
            "roshni_notifications_pending", "Notifications in the outbox not yet delivered",
            registry=r)
        self.notifications_sent = Counter(
            "roshni_notifications_sent", "Notifications delivered, by channel", ["channel"],
            registry=r)
        self.notifications_failed = Counter(
            "roshni_notifications_failed", "Notification deliveries that failed and will be "
            "retried, by channel", ["channel"], registry=r)
        for channel in ("webhook", "email"):
            self.notifications_sent.labels(channel)
            self.notifications_failed.labels(channel)
