"""Nodes speaking MQTT 3.1.1 to a 3-node RabbitMQ cluster, the hub consuming its quorum queue
over AMQP: when a broker node is killed mid-stream, every reading is still stored in InfluxDB
exactly once (README "A broker that clusters")."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt

from hub.supervise import HubProcess, Influxd, RabbitCluster
from tests.support import influx_rows, wait_for

NODES = 12
READINGS = 250  # per node; published ~one every 15 ms, so the stream lasts a few seconds


class FailoverNode(threading.Thread):
    """Publishes readings 1..READINGS at QoS 1 the way a node's spool does: a reading is done
    only once PUBACKed; when its broker goes away it connects to the next one and sends what
    was not acknowledged again."""

    def __init__(self, node_id: str, ports: list[int], progress: list[int]) -> None:
        super().__init__(name=node_id, daemon=True)
        self.node_id = node_id
        self.ports = ports
        self.progress = progress
        self.failovers = 0
        self.error: BaseException | None = None
        self.t0 = time.time()

    def _connect(self) -> mqtt.Client:
        while True:
            port = self.ports[0]
            c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self.node_id,
                            protocol=mqtt.MQTTv311, clean_session=True)
            up = threading.Event()
            c.on_connect = lambda *_a, up=up: up.set()
            try:
                c.connect("127.0.0.1", port, 10)
                c.loop_start()
                if up.wait(10):
                    return c
                c.loop_stop()
            except OSError:
                pass
            self.ports.append(self.ports.pop(0))
            self.failovers += 1

    def _send(self, c: mqtt.Client, seq: int) -> mqtt.MQTTMessageInfo:
        # A reading sent again is the same reading: same seq, same time.
        body = {"v": 1, "node": self.node_id, "seq": seq, "ts": self.t0 + seq,
                "interval_s": 60, "lamp_on": True, "lux": 3.5, "lamp_w": 48.0}
        return c.publish(f"roshni/v1/{self.node_id}/reading", json.dumps(body), qos=1)

    def run(self) -> None:
        try:
            c = self._connect()
            unacked: dict[int, mqtt.MQTTMessageInfo] = {}
            seq = 1
            while seq <= READINGS or unacked:
                if not c.is_connected():
                    c.loop_stop()
                    self.ports.append(self.ports.pop(0))
                    self.failovers += 1
                    c = self._connect()
                    unacked = {s: self._send(c, s) for s in unacked}
                    continue
                if seq <= READINGS:
                    unacked[seq] = self._send(c, seq)
                    seq += 1
                for s in [s for s, info in unacked.items() if _acked(info)]:
                    del unacked[s]
                    self.progress[0] += 1
                time.sleep(0.015)
            c.disconnect()
            c.loop_stop()
        except BaseException as err:  # noqa: BLE001 - reported by the test
            self.error = err


def _acked(info: mqtt.MQTTMessageInfo) -> bool:
    # A publish the client could not even send (its connection had just dropped) is not
    # acknowledged either; it is sent again after the reconnect.
    return info.rc == mqtt.MQTT_ERR_SUCCESS and info.is_published()


def test_a_broker_node_killed_mid_stream_loses_and_doubles_nothing(
        rabbit_cluster: RabbitCluster, tmp_path: Path) -> None:
    first, *others = rabbit_cluster.nodes
    with Influxd(tmp_path / "influxd") as influx, HubProcess(tmp_path / "hub", {
            # The hub consumes through the first node it can reach: the one we kill.
            "ROSHNI_MQTT__AMQP_URL": rabbit_cluster.amqp_url,
            "ROSHNI_MQTT__URL": others[0].mqtt_url,
            "ROSHNI_INFLUX__URL": influx.url}) as hub:
        ports = [n.mqtt_port for n in rabbit_cluster.nodes]
        progress = [0]
        nodes = [FailoverNode(f"khi-clu-{i:04d}", ports[i % 3:] + ports[:i % 3], progress)
                 for i in range(NODES)]
        for n in nodes:
            n.start()
        total = NODES * READINGS
        wait_for(lambda: progress[0] >= total // 3, timeout=60, what="a third published")
        first.kill()  # the hub's AMQP connection, a third of the nodes, maybe the queue leader
        for n in nodes:
            n.join(120)
            assert not n.is_alive() and n.error is None, n.error
        assert sum(n.failovers for n in nodes[::3]) >= NODES // 3  # they really failed over

        def stored() -> list[tuple[str, int]]:
            return [(r["node"], r["seq"]) for r in influx_rows(
                influx.url, "SELECT seq, node FROM reading")]

        deadline = time.monotonic() + 60
        while len(rows := stored()) < total and time.monotonic() < deadline:
            time.sleep(0.2)
        expected = {(n.node_id, s) for n in nodes for s in range(1, READINGS + 1)}
        assert len(rows) == total and set(rows) == expected, (
            f"{len(rows)} stored; missing {sorted(expected - set(rows))[:10]}")
        assert hub.running
