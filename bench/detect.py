"""Detection benchmark: how soon a fault becomes an alert and a ticket, and what the rules
cost in memory.

    .venv/bin/python bench/detect.py [--nodes 10000] [--rate 170] [--rounds 4]
                                     [--registered 100000] [--skip-latency] [--skip-rss]
                                     [--keep-tmp]

**Latency.** `--nodes` nodes (default 10 000, in areas of 50) publish one reading each per
round, at `--rate` readings/s (default 170: 10 000 nodes at one reading a minute). Time is
compressed: a round is one minute of event time whatever its wall duration, starting at
22:00 Karachi time last night. Some probe nodes go dark (lamp_out, dwell lowered to two
rounds so the run stays short; the dwell does not change the latency) and others report
their enclosure open (tamper, immediate). For each probe, latency = from just before the
reading that completes its condition is published, to its alert (and for lamp_out its
ticket, committed in the same transaction) being visible in the hub's database, polled
every 10 ms. Figures: p50, p99, max, per rule.

**RSS.** A fresh hub with `--registered` nodes (default 100 000) in its registry: resident
memory once started, then after every node has sent two readings (so the rules hold
state for each), sent as fast as the broker takes them.

It starts its own Mosquitto and InfluxDB 1.x and runs the hub as `roshni hub run`; prints
figures and writes bench/results/detect.json. It measures, it never asserts: exit 0
whatever the figures, 1 if it could not run.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

if __package__ in (None, ""):  # run as a script: make `bench` and `hub` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import paho.mqtt.client as mqtt  # noqa: E402
import psutil  # noqa: E402
from sqlalchemy import create_engine, insert, select, text  # noqa: E402

from hub.db import make_engine, migrate  # noqa: E402
from hub.models import Alert, Area, Node, NodeSeq, Ticket  # noqa: E402
from hub.supervise import HubProcess, Influxd, Mosquitto  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "detect.json"
KARACHI = ZoneInfo("Asia/Karachi")
AREA_SIZE = 50
POLL_S = 0.01


def log(msg: str) -> None:
    print(msg, flush=True)


def last_night_2200() -> float:
    now = dt.datetime.now(KARACHI)
    day = now.date() - dt.timedelta(days=1 if now.hour >= 7 else 2)
    return dt.datetime.combine(day, dt.time(22, 0), KARACHI).timestamp()


def node_id(i: int) -> str:
    return f"khi-bench-{i:06d}"


def register(db_url: str, n: int, installed_at: float,
             name: Callable[[int], str] | None = None) -> None:
    """n active nodes across Karachi's districts, in areas of AREA_SIZE, in bulk (the
    `roshni provision` command would take minutes for 100 000); `name(i)`: node i's id."""
    name = name or node_id
    migrate(db_url)
    engine = make_engine(db_url)
    districts = ["central", "east", "keamari", "korangi", "malir", "south", "west"]
    areas = (n + AREA_SIZE - 1) // AREA_SIZE
    with engine.begin() as conn:
        conn.execute(insert(Area), [dict(id=f"bench-area-{a}", name=f"Bench area {a}",
                                         district_id=districts[a % 7]) for a in range(areas)])
        for start in range(0, n, 10_000):
            conn.execute(insert(Node), [dict(
                id=name(i), state="active", district_id=districts[(i // AREA_SIZE) % 7],
                area_id=f"bench-area-{i // AREA_SIZE}", lat=24.80 + (i % 400) * 0.0005,
                lon=67.00 + (i // 400) * 0.0005 % 0.3, rated_w=60.0, pole=f"B-{i}",
                provisioned_at=installed_at, status="unknown", session=-1, clock_faults=0,
                updated_at=installed_at) for i in range(start, min(n, start + 10_000))])
    engine.dispose()


def reading(node: str, seq: int, ts: float, **fields: Any) -> bytes:
    body = {"v": 1, "node": node, "seq": seq, "ts": ts, "interval_s": 60, "lamp_on": True,
            "lux": 14.0, "lamp_w": 58.0, "mains_v": 229.0, "footfall": 2, "tamper": False,
            **fields}
    return json.dumps(body, separators=(",", ":")).encode()


class Rig:
    def __init__(self, tmp: Path, name: str, nodes: int, rules: dict[str, Any]) -> None:
        self.dir = tmp / name
        self.broker = Mosquitto(self.dir / "mosquitto")
        self.influx = Influxd(self.dir / "influxd")
        self.broker.start()
        self.influx.start()
        config = self.dir / "hub.toml"
        config.write_text("[rules]\n" + "".join(f"{k} = {json.dumps(v)}\n"
                                                for k, v in rules.items()))
        self.hub = HubProcess(self.dir / "hub", {
            "ROSHNI_MQTT__URL": self.broker.url, "ROSHNI_INFLUX__URL": self.influx.url,
            "ROSHNI_LOG_LEVEL": "WARNING"})
        self.hub.args = ("hub", "run", "--config", str(config))
        (self.dir / "hub" / "data").mkdir(parents=True, exist_ok=True)
        self.db_url = f"sqlite:///{self.dir / 'hub' / 'data' / 'hub.db'}"
        t0 = time.monotonic()
        register(self.db_url, nodes, installed_at=last_night_2200() - 7 * 86400)
        self.register_s = time.monotonic() - t0
        t0 = time.monotonic()
        self.hub.start(timeout=300)
        self.start_s = time.monotonic() - t0
        self.db = create_engine(self.db_url)
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-{name}",
                                  protocol=mqtt.MQTTv311)
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        self.client.connect(self.broker.host, self.broker.port)
        self.client.loop_start()
        self.pending: list[Any] = []

    def publish(self, node: str, body: bytes) -> None:
        self.pending.append(self.client.publish(f"roshni/v1/{node}/reading", body, qos=1))
        if len(self.pending) >= 2000:
            self.flush(1000)

    def flush(self, keep: int = 0) -> None:
        while len(self.pending) > keep:
            self.pending.pop(0).wait_for_publish(60)

    def rss_mb(self) -> float:
        assert self.hub.proc is not None
        return psutil.Process(self.hub.proc.pid).memory_info().rss / 1e6

    def stored(self) -> int:
        with self.db.connect() as conn:
            return int(conn.execute(select(text("coalesce(sum(max_seq), 0)"))
                                    .select_from(NodeSeq)
                                    .where(NodeSeq.kind == "reading")).scalar_one())

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.loop_stop()
            self.client.disconnect()
        self.db.dispose()
        for svc in (self.hub, self.influx, self.broker):
            svc.close()


class Watcher(threading.Thread):
    """Polls the hub's database for new alerts and tickets; notes when each was first seen."""

    def __init__(self, db_url: str) -> None:
        super().__init__(daemon=True)
        self.db = create_engine(db_url)
        self.alerts: dict[tuple[str, str], float] = {}  # (node, rule) -> seen
        self.tickets: dict[tuple[str, str], float] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        last_alert = last_ticket = 0
        while not self.stop.is_set():
            now = time.monotonic()
            with self.db.connect() as conn:
                for i, node, rule in conn.execute(select(Alert.id, Alert.node_id, Alert.rule)
                                                  .where(Alert.id > last_alert)):
                    self.alerts.setdefault((node, rule), now)
                    last_alert = max(last_alert, i)
                for i, node, fault in conn.execute(select(Ticket.id, Ticket.node_id,
                                                          Ticket.fault)
                                                   .where(Ticket.id > last_ticket)):
                    self.tickets.setdefault((node, fault), now)
                    last_ticket = max(last_ticket, i)
            self.stop.wait(POLL_S)


class BareSubscriber:
    """The baseline measured in the same run: a plain paho subscriber on the same broker.
    When it receives a probe's completing reading is as soon as anything could act on it;
    detection latency minus this is what the hub itself takes (spool, validation,
    InfluxDB, rules, the database commit)."""

    def __init__(self, host: str, port: int, probes: set[str]) -> None:
        self.probes = probes
        self.received: dict[tuple[str, int], float] = {}  # (node, seq) -> first seen
        self.subscribed = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-bare",
                                  protocol=mqtt.MQTTv311)
        self.client.on_connect = lambda c, *_: c.subscribe("roshni/v1/+/reading", qos=1)
        self.client.on_subscribe = lambda *_: self.subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect(host, port)
        self.client.loop_start()
        if not self.subscribed.wait(10):
            raise RuntimeError("the baseline subscriber could not subscribe")

    def _on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        node = msg.topic.split("/")[2]
        if node in self.probes:
            key = (node, int(json.loads(msg.payload)["seq"]))
            self.received.setdefault(key, time.monotonic())

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def percentiles(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"n": 0, "p50_ms": None, "p99_ms": None, "max_ms": None}
    ms = sorted(v * 1000 for v in values)
    p99 = ms[min(len(ms) - 1, round(0.99 * (len(ms) - 1)))]
    return {"n": len(ms), "p50_ms": round(statistics.median(ms), 1), "p99_ms": round(p99, 1),
            "max_ms": round(ms[-1], 1)}


def latency(tmp: Path, nodes: int, rate: float, rounds: int) -> dict[str, Any]:
    dwell_rounds = 2
    # A night in compressed time, hours behind the wall clock: live, as for the tests
    # (without it a fresh hub takes last night for history: alerts, but no tickets).
    rig = Rig(tmp, "latency", nodes, {"lamp_out_dwell_s": dwell_rounds * 60,
                                      "fresh_clock_from_wall": False})
    log(f"latency: {nodes} nodes registered in {rig.register_s:.1f} s, hub up in "
        f"{rig.start_s:.1f} s; {rounds} rounds at {rate:.0f} readings/s")
    watcher = Watcher(rig.db_url)
    watcher.start()
    start = last_night_2200()
    # Probes: 1 in 100 nodes goes dark in round 1 (lamp_out completes in round 1 + dwell),
    # another 1 in 100 opens its enclosure in the last round (tamper, immediate).
    dark = {node_id(i) for i in range(7, nodes, 100)}
    tampered = {node_id(i) for i in range(57, nodes, 100)}
    bare = BareSubscriber(rig.broker.host, rig.broker.port, dark | tampered)
    completing: dict[tuple[str, str], float] = {}
    completing_seq: dict[tuple[str, str], int] = {}
    interval = 1.0 / rate
    seq = 0
    try:
        t_next = time.monotonic()
        for r in range(rounds):
            seq += 1
            ts = start + r * 60
            t_round = time.monotonic()
            for i in range(nodes):
                node = node_id(i)
                fields: dict[str, Any] = {}
                if node in dark and r >= 1:
                    fields = {"lamp_on": False, "lamp_w": 0.3}
                    if r == 1 + dwell_rounds:
                        completing[(node, "lamp_out")] = time.monotonic()
                        completing_seq[(node, "lamp_out")] = seq
                if node in tampered and r == rounds - 1:
                    fields = {"tamper": True}
                    completing[(node, "tamper")] = time.monotonic()
                    completing_seq[(node, "tamper")] = seq
                rig.publish(node, reading(node, seq, ts, **fields))
                t_next += interval
                delay = t_next - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            log(f"  round {r + 1}/{rounds} (event time +{r} min) published in "
                f"{time.monotonic() - t_round:.1f} s")
        rig.flush()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (
                len([k for k in completing if k in watcher.alerts]) < len(completing)):
            time.sleep(0.1)
        rss = rig.rss_mb()
    finally:
        watcher.stop.set()
        watcher.join(5)
        bare.close()
        rig.close()
    out: dict[str, Any] = {"nodes": nodes, "rate_per_s": rate, "rounds": rounds,
                           "poll_ms": POLL_S * 1000, "hub_rss_mb": round(rss, 1)}
    for rule, seen in (("lamp_out", watcher.alerts), ("tamper", watcher.alerts)):
        lat = [seen[k] - t for k, t in completing.items() if k[1] == rule and k in seen]
        out[f"{rule}_alert"] = percentiles(lat)
        out[f"{rule}_missing"] = sum(1 for k in completing if k[1] == rule and k not in seen)
    lat = [watcher.tickets[k] - t for k, t in completing.items()
           if k[1] == "lamp_out" and k in watcher.tickets]
    out["lamp_out_ticket"] = percentiles(lat)
    transit = [bare.received[(k[0], completing_seq[k])] - t for k, t in completing.items()
               if (k[0], completing_seq[k]) in bare.received]
    out["baseline_bare_subscriber"] = percentiles(transit)
    early = [k for k in watcher.alerts if k[1] == "lamp_out" and k not in completing]
    out["unexpected_alerts"] = len(early) + sum(
        1 for k in watcher.alerts if k[1] not in ("lamp_out", "tamper"))
    return out


def memory(tmp: Path, registered: int) -> dict[str, Any]:
    rig = Rig(tmp, "rss", registered, {})
    log(f"rss: {registered} nodes registered in {rig.register_s:.1f} s, hub up in "
        f"{rig.start_s:.1f} s")
    try:
        time.sleep(3)
        idle = rig.rss_mb()
        start = last_night_2200()
        for r in range(2):
            t0 = time.monotonic()
            for i in range(registered):
                rig.publish(node_id(i), reading(node_id(i), r + 1, start + r * 60))
            rig.flush()
            deadline = time.monotonic() + 600
            while rig.stored() < registered * (r + 1) and time.monotonic() < deadline:
                time.sleep(0.5)
            log(f"  round {r + 1}: {registered} readings stored in "
                f"{time.monotonic() - t0:.1f} s")
        time.sleep(3)
        busy = rig.rss_mb()
    finally:
        rig.close()
    return {"registered": registered, "rss_idle_mb": round(idle, 1),
            "rss_after_two_readings_each_mb": round(busy, 1)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--nodes", type=int, default=10_000)
    p.add_argument("--rate", type=float, default=170.0, help="readings/s (default 170)")
    p.add_argument("--rounds", type=int, default=4, help="event-time minutes (default 4)")
    p.add_argument("--registered", type=int, default=100_000)
    p.add_argument("--skip-latency", action="store_true")
    p.add_argument("--skip-rss", action="store_true")
    p.add_argument("--keep-tmp", action="store_true")
    args = p.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="roshni-detect-"))
    results: dict[str, Any] = {"when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                               "cpus": os.cpu_count()}
    try:
        if not args.skip_latency:
            results["latency"] = latency(tmp, args.nodes, args.rate, max(args.rounds, 4))
            log(json.dumps(results["latency"], indent=2))
        if not args.skip_rss:
            results["memory"] = memory(tmp, args.registered)
            log(json.dumps(results["memory"], indent=2))
    except Exception as err:  # noqa: BLE001 - report, exit 1
        log(f"could not run: {type(err).__name__}: {err} (logs in {tmp})")
        return 1
    finally:
        if not args.keep_tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    log(f"written to {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
