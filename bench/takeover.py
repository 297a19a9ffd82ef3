"""Takeover benchmark: how long a city's detection waits when a hub worker dies.

    .venv/bin/python bench/takeover.py [--nodes 600] [--workers 3] [--rate 1.0]
                                       [--lease-s 10] [--keep-tmp]

It starts Mosquitto, InfluxDB 1.x and PostgreSQL (hub.supervise) in a temp dir, registers
`--nodes` active nodes (areas of 50, as bench/detect.py), starts `--workers` `roshni hub
run` workers with the default settings (`[rules] lease_s` as given, 10 s by default) on one
shared subscription, and has every node report live every `1/--rate` s. Once every worker
owns partitions it SIGKILLs one worker and measures, from the kill:

- partitions: until every partition is leased to a live worker again;
- session drained: until the dead worker's row is gone from `hub_workers` (a live worker
  has drained its Mosquitto session and ended it);
- judging resumed: until the rules' inbox is back to what it held before the kill (the
  rules hold back readings while a dead worker's session may hold older ones);
- and, as the baseline from the same run, how long the inbox normally takes to empty
  (the p99 of its depth sampled before the kill, in readings, and the time to judge them).

Loss: readings published against the points in InfluxDB (each node's seq counted once).
It measures, it never asserts a speed: exit 0 whatever the figures, 1 if it could not run,
3 if readings were LOST. Results: bench/results/takeover.json.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` and `hub` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import paho.mqtt.client as mqtt  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402

from bench import common  # noqa: E402
from bench.detect import register  # noqa: E402
from hub.supervise import HubProcess, Influxd, Mosquitto, Postgres  # noqa: E402

RESULTS = Path(__file__).with_name("results") / "takeover.json"


def publish(host: str, port: int, nodes: int, rate: float, stop: threading.Event,
            sent: dict[str, int]) -> None:
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="takeover-nodes")
    c.max_inflight_messages_set(1000)
    c.connect(host, port)
    c.loop_start()
    seq = 0
    try:
        while not stop.is_set():
            seq += 1
            started = time.time()
            for i in range(nodes):
                node = common.node_id(i)
                body = {"v": 1, "node": node, "seq": seq, "ts": time.time(),
                        "interval_s": max(1, round(1 / rate)), "lamp_on": True,
                        "lamp_w": 58.0, "mains_v": 230.0}
                c.publish(f"roshni/v1/{node}/reading", json.dumps(body), qos=1)
            sent["readings"] = seq * nodes
            stop.wait(max(0.0, 1 / rate - (time.time() - started)))
    finally:
        time.sleep(1)
        c.loop_stop()
        c.disconnect()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nodes", type=int, default=600)
    ap.add_argument("--workers", type=int, default=3)
    ap.add_argument("--rate", type=float, default=1.0, help="readings per node per second")
    ap.add_argument("--lease-s", type=float, default=10.0)
    ap.add_argument("--keep-tmp", action="store_true")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="roshni-takeover-"))
    services: list[Any] = []
    result: dict[str, Any] = {"machine": common.machine_info(), "args": vars(args)}
    try:
        mosquitto, influxd, postgres = (Mosquitto(tmp / "mosquitto"), Influxd(tmp / "influxd"),
                                        Postgres(tmp / "postgres"))
        for svc in (mosquitto, influxd, postgres):
            svc.start()
            services.append(svc)
        db_url = postgres.create_database("roshni")
        register(db_url, args.nodes, time.time() - 7 * 86400)
        env = {"ROSHNI_MQTT__URL": mosquitto.url, "ROSHNI_INFLUX__URL": influxd.url,
               "ROSHNI_DB__URL": db_url, "ROSHNI_MQTT__SHARED_GROUP": "hubs",
               "ROSHNI_RULES__LEASE_S": str(args.lease_s), "ROSHNI_LOG_LEVEL": "INFO"}
        workers = []
        for n in range(args.workers):
            w = HubProcess(tmp / f"w{n}", {**env, "ROSHNI_MQTT__CLIENT_ID": f"roshni-hub-{n}"})
            w.start(timeout=60)
            services.append(w)
            workers.append(w)
        engine = create_engine(db_url)

        def sql(q: str) -> list[tuple]:
            with engine.connect() as conn:
                return [tuple(r) for r in conn.execute(text(q))]

        stop, sent = threading.Event(), {"readings": 0}
        pub = threading.Thread(target=publish, args=(mosquitto.host, mosquitto.port,
                                                     args.nodes, args.rate, stop, sent))
        pub.start()
        print(f"{args.workers} workers, {args.nodes} nodes at {args.rate}/s each; warming up")
        deadline = time.time() + 60
        while time.time() < deadline and len(sql(
                "SELECT DISTINCT owner FROM rule_leases")) < args.workers:
            time.sleep(0.5)
        depths = []
        for _ in range(100):  # the baseline: the inbox as it normally is, 10 s
            depths.append(sql("SELECT coalesce(sum(n), 0) FROM rule_inbox")[0][0])
            time.sleep(0.1)
        depths.sort()
        normal = depths[int(len(depths) * 0.99) - 1]
        victim = workers[1]
        name = "roshni-hub-1"
        killed = time.time()
        victim.kill()
        print(f"killed {name}; inbox before: p99 {normal} entries")
        marks: dict[str, float] = {}
        count = 16
        while time.time() - killed < 120 and len(marks) < 3:
            now = time.time()
            leases = sql("SELECT owner, expires_at FROM rule_leases")
            if "partitions" not in marks and len(leases) >= count and all(
                    o != name and e > now for o, e in leases):
                marks["partitions"] = now - killed
            if "drained" not in marks and not sql(
                    f"SELECT 1 FROM hub_workers WHERE name = '{name}'"):
                marks["drained"] = now - killed
            if "drained" in marks and "judging" not in marks and sql(
                    "SELECT coalesce(sum(n), 0) FROM rule_inbox")[0][0] <= normal:
                marks["judging"] = now - killed
            time.sleep(0.1)
        for what, label in (("partitions", "partitions leased to live workers"),
                            ("drained", "dead worker's session drained and ended"),
                            ("judging", "judging resumed (inbox back to normal)")):
            value = marks.get(what)
            print(f"  {label:<42} {'not within 120 s' if value is None else f'{value:.1f} s'}")
        stop.set()
        pub.join()
        published = sent["readings"]
        deadline = time.time() + 120
        stored = 0
        while time.time() < deadline:
            stored = common.influx_count(influxd.url)
            if stored >= published:
                break
            time.sleep(1)
        lost = max(0, published - stored)
        print(f"  readings published {published}, in InfluxDB {stored}, lost {lost}")
        result.update(marks=marks, inbox_p99=normal, published=published, stored=stored,
                      lost=lost)
        RESULTS.parent.mkdir(exist_ok=True)
        RESULTS.write_text(json.dumps(result, indent=2))
        engine.dispose()
        return 3 if lost else 0
    except Exception as err:  # noqa: BLE001 - a benchmark that cannot run says why
        print(f"takeover benchmark could not run: {err!r}", file=sys.stderr)
        return 1
    finally:
        for svc in reversed(services):
            svc.close()
        if args.keep_tmp:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
