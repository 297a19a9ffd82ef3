"""City benchmark: the backlog a city really sends — one reading from each of 100 000
provisioned nodes at night, so every rule runs on every reading — drained by a bare paho
subscriber, by Node-RED's usual flow, and by the hub with 1, 2 and 3 workers, in one run
(after a round in which one hub worker stores every node's first reading ever).

    .venv/bin/python bench/city.py [--nodes 100000] [--workers 1,2,3] [--skip-nodered]
                                   [--skip-first] [--profile [all|gil]] [--keep-tmp]

It starts Mosquitto, InfluxDB 1.x and PostgreSQL (hub.supervise) in a temp dir, registers
`--nodes` active nodes in PostgreSQL (areas of 50 across Karachi's districts, installed a
week ago), and for each consumer publishes the backlog while the consumer is offline and
times the drain (bench/README.md defines every figure). Hub workers are `roshni hub run`
processes with their own client ids and spools, one shared subscription group and the one
PostgreSQL database. Node-RED (npm `node-red` and `node-red-contrib-influxdb`, installed on
first use into bench/.cache/node-red) runs mqtt in → json → function (reading → point) →
join (1 000 messages or 1 s) → influxdb batch into its own database. Loss is counted in
InfluxDB. It measures, it never asserts a speed: exit 0 whatever the figures are, 1 if it
could not run, 3 if readings were LOST, 130 on Ctrl-C. Results: bench/results/city.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import psutil

if __package__ in (None, ""):  # run as a script: make `bench` and `hub` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common, ingest  # noqa: E402
from bench.detect import last_night_2200, register  # noqa: E402
from bench.ingest import Publishers, fmt_rate, log, observed_rate  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "city.json"
NODE_RED_DIR = Path(__file__).resolve().parent / ".cache" / "node-red"
NODE_RED_PACKAGES = ("node-red@4", "node-red-contrib-influxdb@0.7")
GROUP = "roshni"
HUB_METRICS = ("readings_received_total", "readings_stored_total", "readings_duplicate_total",
               "readings_rejected_total", "spool_depth")


class CityBench(ingest.Bench):
    # With a series per lamp, InfluxDB 1.6's default 25 MB cache snapshots write 100 000
    # series' blocks every few seconds (54 s each here) and writes time out meanwhile; a
    # city's InfluxDB keeps a minute of readings in its cache (bench/README.md).
    influx_data_conf = 'cache-max-memory-size = "2g"\ncache-snapshot-memory-size = "1g"'
    def __init__(self, args: argparse.Namespace) -> None:
        # ingest.Bench's options that this benchmark keeps fixed.
        args.publishers, args.inflight = 2, 500
        super().__init__(args)
        self.results = {
            "bench": "city", "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "machine": common.machine_info(), "config": dict(vars(args)),
            "status": "running", "drain": {}}
        self.pg: Any = None
        self.db_url = ""
        self._db: Any = None
        self.night = last_night_2200()
        self.round = 0
        self.window = (0.0, 0.0)  # the current round's readings' times
        self.profiled = False

    # --- services ---

    def setup(self) -> None:
        from hub.supervise import Postgres

        super().setup()
        settings = {"shared_buffers": self.args.pg_shared_buffers}
        if self.args.profile:
            settings["shared_preload_libraries"] = "pg_stat_statements"
        self.pg = Postgres(self.tmp / "postgres", settings=settings)
        self.pg.start()
        self.db_url = self.pg.create_database("roshni")
        if self.args.profile:
            self.sql("CREATE EXTENSION pg_stat_statements")
        t0 = time.monotonic()
        register(self.db_url, self.args.nodes, installed_at=self.night - 7 * 86400,
                 name=common.node_id)
        log(f"postgres {self.db_url}: {self.args.nodes:,} nodes registered in "
            f"{time.monotonic() - t0:.1f}s")
        t0 = time.monotonic()
        self.warm_up()
        log(f"InfluxDB: every node's series made in both databases in "
            f"{time.monotonic() - t0:.1f}s")

    def warm_up(self) -> None:
        """A city's InfluxDB already has a series for every lamp: make them, in the shard
        of the measured night (its index is per shard) and before its first round, as the
        hub (tags area, district, node; seq an integer) and the Node-RED flow (tag node;
        numbers as floats) write them. Without this every run is the city's very first
        minute, where creating 100 000 series dominates (bench/README.md)."""
        from bench.detect import AREA_SIZE

        districts = ["central", "east", "keamari", "korangi", "malir", "south", "west"]
        t = int((self.night + 1) * 1e9)
        for db, line in (
                ("roshni", lambda i: f"reading,area=bench-area-{i // AREA_SIZE},district="
                                     f"{districts[(i // AREA_SIZE) % 7]},node="
                                     f"{common.node_id(i)} seq=0i {t}"),
                ("nodered", lambda i: f"reading,node={common.node_id(i)} seq=0 {t}")):
            common.influx_query(self.influx.url, f"CREATE DATABASE {db}", post=True)
            for start in range(0, self.args.nodes, 5000):
                body = "\n".join(line(i) for i in range(start, min(self.args.nodes,
                                                                    start + 5000)))
                common.influx_write(self.influx.url, db, body)

    def service_pids(self) -> dict[str, int]:
        return {**super().service_pids(), "postgres": self.pg.proc.pid}

    def inbox_depth(self) -> int:
        """Entries stored and not yet judged (the rules' inbox, all partitions; here all
        of them readings)."""
        return int(self.sql("SELECT coalesce(sum(n), 0) FROM rule_inbox")[0][0])

    def sql(self, statement: str) -> list[Any]:
        from sqlalchemy import text

        from hub.db import make_engine

        if self._db is None:
            self._db = make_engine(self.db_url)
        with self._db.begin() as conn:
            result = conn.execute(text(statement))
            return list(result) if result.returns_rows else []

    def statements(self, top: int = 15) -> list[dict[str, Any]]:
        """PostgreSQL's busiest statements since the reset (pg_stat_statements)."""
        return [dict(total_ms=round(total, 1), calls=calls, rows=rows,
                     query=" ".join(query.split())[:150])
                for total, calls, rows, query in self.sql(
                    "SELECT total_exec_time, calls, rows, query FROM pg_stat_statements "
                    f"ORDER BY total_exec_time DESC LIMIT {int(top)}")]

    def check_services(self) -> None:
        super().check_services()
        if not self.pg.running:
            raise RuntimeError(f"postgres died; see {self.pg.workdir}")

    def cleanup(self) -> None:
        if self._db is not None:
            self._db.dispose()
        if self.pg is not None:
            self.pg.close()
        super().cleanup()

    def publishers(self, n: int) -> Publishers:
        """One reading per node per round; each round is the next minutes of the same night
        with the next seq, so no consumer's run repeats another's readings."""
        self.round += 1
        self.window = (self.night + 120 * self.round, self.night + 120 * (self.round + 1))
        pubs = Publishers(self.ctx, self.host, self.port, n, self.args.publishers,
                          self.args.inflight, ts_base=self.night + 120 * self.round,
                          seq_base=self.round, nodes=self.args.nodes, night=True)
        self.pubs.append(pubs)
        return pubs

    # --- hub workers ---

    def workers(self, k: int, n: int, *, first: bool = False) -> dict[str, Any]:
        """`first`: the round that stores every node's first reading ever (its rows are
        inserted); the others update rows that exist, as after a hub's outage."""
        label = "hub first" if first else f"hub x{k}"
        log(f"\n== {label}: {k} `roshni hub run` worker(s), shared subscription, PostgreSQL, "
            f"{n:,} readings" + (", every node's first" if first else ""))
        # A 20 000-reading write can take longer than the default 10 s on a machine this
        # busy; abandoned and retried, it would be written again and again.
        env = {"ROSHNI_DB__URL": self.db_url, "ROSHNI_MQTT__SHARED_GROUP": GROUP,
               "ROSHNI_AUTH__SECRET_KEY": "bench-" + "k" * 40, "ROSHNI_INFLUX__TIMEOUT_S": "60"}
        hubs = [common.HubProcess(self.tmp / f"hub{k}-{j}", mqtt_url=self.mosq.url,
                                  influx_url=self.influx.url, client_id=f"bench-hub{k}-{j}",
                                  env=env) for j in range(k)]
        self.hubs.extend(hubs)
        # Each worker's persistent session and its place in the group exist before the
        # backlog, as for a hub that was restarting.
        for hub in hubs:
            common.clear_session(self.host, self.port, hub.client_id)
            hub.start()
        for hub in hubs:
            hub.wait_healthy(120)
        time.sleep(0.5)
        for hub in hubs:
            hub.stop()
        pub = self.wait_published(label, self.publishers(n))
        published = pub["published"]
        t0 = time.monotonic()
        for hub in hubs:
            hub.start()
        t_healthy = max(hub.wait_healthy(120) for hub in hubs)
        log(f"  [{label}] workers connected {t_healthy - t0:.1f}s after exec")
        sampler = common.Sampler({**{f"hub{j}": h.pid for j, h in enumerate(hubs)},
                                  **self.ours()}).start()
        spy = None
        if self.args.profile and not first and not self.profiled:
            # The first timed round's first worker (with --workers 2, one of two).
            self.profiled = True
            spy = common.PySpy(hubs[0].pid, RESULTS.parent / "profile-city-hub.txt",
                               gil=self.args.profile == "gil")
            self.spies.append(spy)
            self.sql("SELECT pg_stat_statements_reset()")

        def probe() -> dict[str, float]:
            s = {m: 0.0 for m in HUB_METRICS}
            for hub in hubs:
                got = hub.scrape()
                for m in HUB_METRICS:
                    s[m] += got.get(f"roshni_{m}", 0.0)
            s["stored"] = s["readings_stored_total"]
            s["filed"] = (s["stored"] + s["readings_duplicate_total"]
                          + s["readings_rejected_total"])
            # Stored is not yet judged: the rules' owners take what ingest filed in their
            # inbox (hub/rules/inbox.py); the drain ends when that is empty too.
            s["inbox"] = float(self.inbox_depth())
            s["judged"] = max(0.0, s["stored"] - s["inbox"])
            s["accounted"] = s["filed"] - s["inbox"]
            return s

        samples = self.watch(label, None, probe, published,
                             lambda s: f"stored {int(s['stored']):,}  "
                                       f"spool {int(s['spool_depth']):,}  "
                                       f"inbox {int(s['inbox']):,}")
        profile = None
        if spy is not None:
            spy.stop()
            profile = common.summarize_profile(spy.out)
            profile["postgres"] = self.statements()
        sampler.stop()
        last = samples[-1]
        stored, dups = int(last["stored"]), int(last["readings_duplicate_total"])
        in_influx = common.influx_count(self.influx.url, window=self.window)
        per_worker = [int(h.scrape().get("roshni_readings_stored_total", 0)) for h in hubs]
        for hub in hubs:
            hub.stop()
            common.clear_session(self.host, self.port, hub.client_id)
        procs = sampler.report()
        cpu = sum(procs[f"hub{j}"]["cpu_s"] for j in range(k))
        # Given up on (--stall): what is still in the workers' spools is late, not lost.
        spooled = 0 if last["complete"] else int(last["spool_depth"])
        res: dict[str, Any] = {
            "workers": k, "published": published, "stored": stored, "duplicates": dups,
            "rejected": int(last["readings_rejected_total"]), "finished": last["complete"],
            "spooled_when_given_up": spooled,
            "loss": published - stored - dups - spooled, "influx_points": in_influx,
            "stored_per_worker": per_worker,
            # The headline: stored and judged, timed from the first batch stored (as
            # `stored_only`, ingest's rate alone, with the rules still catching up behind
            # it) to the inbox empty.
            **judged_rate(samples),
            "from_connect": observed_rate(samples, "judged", t_from=t_healthy),
            "stored_only": observed_rate(
                [dict(s, complete=s["filed"] >= published) for s in samples], "stored"),
            "cpu_s": round(cpu, 2),
            "cpu_us_per_reading": round(1e6 * cpu / stored, 1) if stored else None,
            "processes": procs, "machine": sampler.machine(),
        }
        if profile:
            res["profile"] = profile
        if spooled:
            log(f"  [{label}] did not finish: {spooled:,} readings still in the spools")
        # InfluxDB's count is the proof only once everything was stored.
        self.check_loss(label, published, res["loss"], published if spooled else in_influx)
        log(f"  [{label}] stored {stored:,} (duplicates {dups}), InfluxDB {in_influx:,}; "
            f"rate {fmt_rate(res.get('rate'))}"
            + (f" (≤ {fmt_rate(res['rate_upper'])})" if res.get("rate_upper") else "")
            + f"; stored only {fmt_rate(res['stored_only'].get('rate'))}"
            + f"; {res['cpu_us_per_reading']} µs CPU/reading over {k} worker(s)")
        if profile:
            for f, pct in profile["self"][:12]:
                log(f"      self {pct:5.1f}%  {f}")
            for st in profile["postgres"]:
                log(f"      sql {st['total_ms']:8,.0f} ms {st['calls']:7,} calls "
                    f"{st['rows']:8,} rows  {st['query']}")
        return res

    def check_loss(self, label: str, published: int, loss: int, in_influx: int) -> None:
        problems = []
        if loss:
            problems.append(f"{loss:,} of {published:,} published neither stored nor "
                            "duplicates")
        if in_influx != published:
            problems.append(f"InfluxDB has {in_influx:,} points for {published:,} published")
        for p in problems:
            self.lost.append(f"{label}: {p}")
            log(f"  !!! LOST: {label}: {p}")

    # --- Node-RED ---

    def node_red(self, n: int) -> dict[str, Any]:
        label = "node-red"
        red = install_node_red()
        log(f"\n== {label}: mqtt in → json → function → join (1000 / 1 s) → influxdb batch, "
            f"{n:,} readings")
        cid = "bench-nodered"
        common.clear_session(self.host, self.port, cid)
        proc, _stop, _shared = self.baseline_process(cid, "create")  # its session, offline
        proc.join(10)
        pub = self.wait_published(label, self.publishers(n))
        published = pub["published"]
        user_dir = self.tmp / "node-red"
        user_dir.mkdir(exist_ok=True)
        flows = user_dir / "flows.json"
        flows.write_text(json.dumps(node_red_flow(self.port, self.influx.port, cid)))
        port = common_free_port()
        red_log = open(user_dir / "node-red.log", "ab")  # noqa: SIM115 - handed to the child
        try:
            p = subprocess.Popen(["node", str(red), "--userDir", str(user_dir), "--port",
                                  str(port), str(flows)], stdout=red_log,
                                 stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                 start_new_session=True)
        finally:
            red_log.close()
        self.popen.append(p)
        t_exec = time.monotonic()
        sampler = common.Sampler({"node-red": p.pid, **self.ours()}).start()

        red_proc = psutil.Process(p.pid)
        cpu_at_first: list[tuple[float, float]] = []  # (cpu s, stored) once storing began

        def probe() -> dict[str, float]:
            if p.poll() is not None:
                raise RuntimeError(f"node-red exited with {p.returncode}; see {user_dir}")
            c = float(common.influx_count(self.influx.url, db="nodered", window=self.window))
            if c and not cpu_at_first:
                t = red_proc.cpu_times()
                cpu_at_first.append((t.user + t.system, c))
            return {"stored": c, "accounted": c}

        samples = self.watch(label, None, probe, published,
                             lambda s: f"in InfluxDB {int(s['stored']):,}")
        sampler.stop()
        t = red_proc.cpu_times()
        cpu_end = t.user + t.system
        p.send_signal(signal.SIGINT)
        try:
            p.wait(15)
        except subprocess.TimeoutExpired:
            p.kill()
        common.clear_session(self.host, self.port, cid)
        stored = int(samples[-1]["stored"])
        procs = sampler.report()
        # Its start-up (~2 s of CPU) is left out, as the hub's is: CPU from the first sample
        # with points stored to the end, per reading stored in between.
        cpu0, stored0 = cpu_at_first[0] if cpu_at_first else (0.0, 0.0)
        cpu = cpu_end - cpu0
        res: dict[str, Any] = {
            "published": published, "influx_points": stored,
            **observed_rate(samples, "stored"),
            "from_exec": observed_rate(samples, "stored", t_from=t_exec),
            "cpu_s": round(cpu, 2), "cpu_s_with_startup": procs["node-red"]["cpu_s"],
            "cpu_us_per_reading": round(1e6 * cpu / (stored - stored0), 1)
            if stored > stored0 else None,
            "processes": procs, "machine": sampler.machine(),
        }
        self.check_loss(label, published, published - stored, stored)
        log(f"  [{label}] InfluxDB {stored:,}; rate {fmt_rate(res.get('rate'))}"
            + (f" (≤ {fmt_rate(res['rate_upper'])})" if res.get("rate_upper") else "")
            + f"; {res['cpu_us_per_reading']} µs CPU/reading")
        return res

    # --- run ---

    def run(self) -> None:
        n = self.args.nodes
        d = self.results["drain"]
        d["baseline"] = self.baseline("drain", n)
        if not self.args.skip_nodered:
            d["node_red"] = self.node_red(n)
        if not self.args.skip_first:
            # Before the timed worker counts, so that each of them finds every node's rows
            # made, as a city's hub does after its first hour.
            d["hub_first"] = self.workers(1, n, first=True)
        for k in self.args.workers:
            d[f"hub_x{k}"] = self.workers(k, n)

    def summary(self) -> None:
        d = self.results["drain"]
        base = (d.get("baseline") or {}).get("rate")
        log("\n== summary: drain of one reading from each of "
            f"{self.args.nodes:,} provisioned nodes at night")
        for name, r in d.items():
            rate = r.get("rate")
            ratio = f"{rate / base:.2f} x bare" if rate and base else ""
            log(f"  {name:10s} {fmt_rate(rate):>14s}  {ratio:12s}  "
                f"{r.get('cpu_us_per_reading')} µs CPU/reading")
        if self.lost:
            log("\n!!! READINGS LOST !!!\n  " + "\n  ".join(self.lost))

    def write(self) -> None:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        self.results["lost"] = self.lost
        RESULTS.write_text(json.dumps(self.results, indent=2, default=str))
        log(f"results: {RESULTS}")


def judged_rate(samples: list[dict]) -> dict[str, Any]:
    """observed_rate of what was stored and judged, from the first sample with anything
    stored: judging starts later than storing, and timed from its own start its rate
    would leave out the time the first batches waited to be judged."""
    firsts = [s for s in samples if s["stored"] > 0]
    if not firsts:
        return {"rate": None, "note": "nothing stored"}
    first = firsts[0]
    # The readings stored by then count as judged then: the rate is of what came after,
    # as for `stored_only`.
    return observed_rate([dict(s, judged_from=max(s["judged"], first["stored"])
                               if s["t"] >= first["t"] else 0.0) for s in samples],
                         "judged_from")


def common_free_port() -> int:
    from hub.supervise import free_port

    return free_port()


def install_node_red() -> Path:
    """Node-RED and its InfluxDB nodes from npm, once, into bench/.cache/node-red."""
    red = NODE_RED_DIR / "node_modules" / "node-red" / "red.js"
    if not red.exists():
        log(f"installing {' '.join(NODE_RED_PACKAGES)} into {NODE_RED_DIR} (npm, once)")
        NODE_RED_DIR.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--prefix", str(NODE_RED_DIR), "--no-audit",
                        "--no-fund", "--omit=dev", *NODE_RED_PACKAGES], check=True,
                       stdout=subprocess.DEVNULL)
    return red


# Reading → InfluxDB point, as a Node-RED user writes it in a function node.
_TO_POINT = """const {v, node: id, seq, ts, ...fields} = msg.payload;
msg.payload = {measurement: 'reading', tags: {node: id},
               fields: Object.assign({seq: seq}, fields), timestamp: Math.round(ts * 1000)};
return msg;"""


def node_red_flow(mqtt_port: int, influx_port: int, client_id: str) -> list[dict[str, Any]]:
    return [
        {"id": "rb-tab", "type": "tab", "label": "roshni bench"},
        {"id": "rb-broker", "type": "mqtt-broker", "name": "mosquitto", "broker": "127.0.0.1",
         "port": str(mqtt_port), "clientid": client_id, "autoConnect": True,
         "usetls": False, "protocolVersion": "4", "keepalive": "60", "cleansession": False,
         "autoUnsubscribe": False, "birthTopic": "", "closeTopic": "", "willTopic": ""},
        {"id": "rb-influx", "type": "influxdb", "hostname": "127.0.0.1",
         "port": str(influx_port), "protocol": "http", "database": "nodered", "name": "",
         "usetls": False, "influxdbVersion": "1.x"},
        {"id": "rb-in", "type": "mqtt in", "z": "rb-tab", "topic": common.SUBSCRIPTION, "qos": "1",
         "datatype": "utf8", "broker": "rb-broker", "nl": False, "rap": False, "inputs": 0,
         "wires": [["rb-json"]]},
        {"id": "rb-json", "type": "json", "z": "rb-tab", "property": "payload", "action": "obj",
         "pretty": False, "wires": [["rb-point"]]},
        {"id": "rb-point", "type": "function", "z": "rb-tab", "func": _TO_POINT, "outputs": 1,
         "wires": [["rb-join"]]},
        {"id": "rb-join", "type": "join", "z": "rb-tab", "mode": "custom", "build": "array",
         "property": "payload", "propertyType": "msg", "key": "topic", "joiner": "\\n",
         "joinerType": "str", "accumulate": False, "timeout": "1", "count": "1000",
         "reduceRight": False, "wires": [["rb-batch"]]},
        {"id": "rb-batch", "type": "influxdb batch", "z": "rb-tab", "influxdb": "rb-influx",
         "precision": "ms", "retentionPolicy": "", "name": "", "wires": []},
    ]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--nodes", type=int, default=100_000,
                    help="provisioned nodes, each sending one reading (default 100000)")
    ap.add_argument("--workers", default="1,2,3",
                    help="hub worker counts to run, comma-separated (default 1,2,3)")
    ap.add_argument("--skip-nodered", action="store_true")
    ap.add_argument("--skip-first", action="store_true",
                    help="no round of every node's first reading before the timed rounds: "
                         "the x1 round then inserts every node's rows")
    ap.add_argument("--stall", type=float, default=60.0,
                    help="give up waiting after this many seconds without progress (60)")
    ap.add_argument("--profile", nargs="?", const="all", choices=("all", "gil"),
                    help="py-spy record the first worker of the first timed round "
                         "(all: every thread's time, "
                         "waits too; gil: only what holds the GIL, the CPU one process can "
                         "use) and count PostgreSQL's statements (pg_stat_statements); its "
                         "figures are then not valid")
    ap.add_argument("--pg-shared-buffers", default="1GB",
                    help="PostgreSQL's shared_buffers: a city's server keeps its hot rows "
                         "in memory (default 1GB; the tests' 32MB does not hold 100 000 "
                         "nodes' state)")
    ap.add_argument("--keep-tmp", action="store_true", help="keep the temp dir (logs)")
    args = ap.parse_args(argv)
    args.workers = [int(k) for k in args.workers.split(",") if k.strip()]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def on_term(_sig: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    bench = CityBench(args)
    rc = 0
    try:
        bench.setup()
        bench.run()
        bench.results["status"] = "ok"
    except KeyboardInterrupt:
        log("\ninterrupted; cleaning up")
        bench.results["status"] = "interrupted"
        rc = 130
    except Exception as err:  # noqa: BLE001 - report, clean up, exit 1
        traceback.print_exc()
        bench.results["status"] = f"error: {err}"
        rc = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not skip cleanup
        try:
            bench.cleanup()
        finally:
            signal.signal(signal.SIGINT, signal.default_int_handler)
    bench.summary()
    bench.write()
    return 3 if bench.lost else rc


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
