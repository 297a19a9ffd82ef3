"""Ingest benchmark: how fast the hub stores readings, against a bare paho subscriber
measured in the same run on the same machine (the ceiling for a Python consumer here).

    .venv/bin/python bench/ingest.py [--live N] [--drain N] [--node] [--skip-live]
                                     [--skip-drain] [--quick] [--profile]

It starts its own Mosquitto and InfluxDB 1.x (hub.supervise) in a temp dir, runs the hub as
a real `roshni hub run` subprocess, prints figures, and writes them to
bench/results/ingest.json. It measures, it never asserts a speed: the exit status is 0
whatever the figures are; 1 if it could not run (a service failed, an exception), 3 if
readings were LOST (published but neither stored nor counted as duplicates, or InfluxDB
holds a different number of points than were published), 130 on Ctrl-C.
See bench/README.md for what each figure means.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import multiprocessing as mp
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` and `hub` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402
from bench.common import B_CONNACK, B_COUNT, B_DUPS, B_FIRST, B_LAST  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "ingest.json"
SCRAPE_INTERVAL = 0.5  # /metrics at most twice a second: scraping is not free
PROGRESS_EVERY = 3.0


def log(msg: str) -> None:
    print(msg, flush=True)


def fmt_rate(r: float | None) -> str:
    return "n/a" if r is None else f"{r:,.0f}/s"


class Lost(Exception):
    pass


class Publishers:
    """1–2 publisher processes sharing the nodes (1000; `workload`: common.publisher_main's
    `nodes` and `night`); progress via shared counters."""

    def __init__(self, ctx: Any, host: str, port: int, n: int, nprocs: int, inflight: int,
                 ts_base: float, seq_base: int = 0, **workload: Any) -> None:
        self.n = n
        self.out = ctx.Queue()
        self.progress = [ctx.Value("q", 0, lock=False) for _ in range(nprocs)]
        self.procs = [ctx.Process(target=common.publisher_main, name=f"bench-pub-{k}",
                                  args=(host, port, k, nprocs, n, ts_base, seq_base,
                                        self.progress[k], self.out, inflight),
                                  kwargs=workload, daemon=True)
                      for k in range(nprocs)]
        self.results: list[dict] = []
        self.t_spawn = time.monotonic()
        for p in self.procs:
            p.start()

    @property
    def pids(self) -> dict[str, int]:
        return {f"publisher{k}": p.pid for k, p in enumerate(self.procs) if p.pid}

    def acked(self) -> int:
        if self.done():
            return self.published
        return sum(int(v.value) for v in self.progress)

    def done(self) -> bool:
        while len(self.results) < len(self.procs):
            try:
                self.results.append(self.out.get_nowait())
            except Exception:  # noqa: BLE001 - queue.Empty
                dead = [p for p in self.procs if p.exitcode not in (None, 0)]
                if dead:
                    raise RuntimeError(f"publisher exited with {dead[0].exitcode}") from None
                return False
        errors = [r["error"] for r in self.results if "error" in r]
        if errors:
            raise RuntimeError(errors[0])
        return True

    @property
    def published(self) -> int:
        return sum(r["published"] for r in self.results)

    def summary(self) -> dict[str, Any]:
        t0 = min(r["t_start"] for r in self.results)
        t1 = max(r["t_end"] for r in self.results)
        return {"published": self.published,
                "failed": sum(r["failed"] for r in self.results),
                "queue_full_retries": sum(r["queue_full"] for r in self.results),
                "processes": len(self.procs),
                "t_start": t0, "t_end": t1,
                "publish_rate": round(self.published / (t1 - t0), 1) if t1 > t0 else None}

    def stop(self) -> None:
        for p in self.procs:
            if p.is_alive():
                p.terminate()
        for p in self.procs:
            p.join(5)


def observed_rate(samples: list[dict], key: str, t_from: float | None = None
                  ) -> dict[str, Any]:
    """Rate of `key` from /metrics samples taken every SCRAPE_INTERVAL.

    start a = first sample with key > 0 (or `t_from` with a count of 0, e.g. the moment the
    hub answered /healthz); end b = first sample where the run was complete. The last
    reading was stored in (previous sample, b], so the true rate over [a, finish] lies
    between `rate` (finish = b: conservative, the headline) and `rate_upper`
    (finish = the sample before b)."""
    done = [i for i, s in enumerate(samples) if s.get("complete")]
    firsts = [i for i, s in enumerate(samples) if s[key] > 0]
    if not done or not firsts:
        return {"rate": None, "note": "run did not complete"}
    b = done[0]
    if t_from is not None:
        ta, ca = t_from, 0.0
    else:
        ta, ca = samples[firsts[0]]["t"], samples[firsts[0]][key]
    n = samples[b][key] - ca
    tb = samples[b]["t"]
    tp = samples[b - 1]["t"] if b > 0 else None
    if tb <= ta or n <= 0:
        return {"rate": None, "note": "everything was stored between two /metrics samples; "
                                      "use a larger N"}
    out = {"rate": round(n / (tb - ta), 1), "readings_timed": int(n),
           "seconds": round(tb - ta, 3)}
    if tp is not None and tp > ta:
        out["rate_upper"] = round(n / (tp - ta), 1)
        out["seconds_lower"] = round(tp - ta, 3)
    return out


class Bench:
    # More [data] settings for InfluxDB (hub.supervise.Influxd); none: its defaults.
    influx_data_conf = ""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.ctx = mp.get_context("spawn")
        self.tmp = Path(tempfile.mkdtemp(prefix="roshni-bench-"))
        self.mosq: Any = None
        self.influx: Any = None
        self.hubs: list[common.HubProcess] = []
        self.pubs: list[Publishers] = []
        self.subs: list[Any] = []
        self.spies: list[common.PySpy] = []
        self.popen: list[subprocess.Popen[bytes]] = []
        self.lost: list[str] = []
        self.results: dict[str, Any] = {
            "bench": "ingest",
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "machine": common.machine_info(),
            "config": {k: v for k, v in vars(args).items()},
            "status": "running",
            "live": {}, "drain": {}, "node": {},
        }

    # --- services ---

    def setup(self) -> None:
        from hub.supervise import Influxd, Mosquitto

        log(f"workdir {self.tmp}")
        self.mosq = Mosquitto(self.tmp / "mosquitto")
        self.mosq.start()
        self.influx = Influxd(self.tmp / "influxd", data_conf=self.influx_data_conf)
        self.influx.start(timeout=60)
        log(f"mosquitto {self.mosq.url} (pid {self.mosq.proc.pid}), "
            f"influxd {self.influx.url} (pid {self.influx.proc.pid})")

    @property
    def host(self) -> str:
        return self.mosq.host

    @property
    def port(self) -> int:
        return int(self.mosq.port)

    def service_pids(self) -> dict[str, int]:
        return {"mosquitto": self.mosq.proc.pid, "influxd": self.influx.proc.pid}

    def ours(self) -> dict[str, int]:
        return {**self.service_pids(), "bench": os.getpid()}

    def check_services(self) -> None:
        for svc in (self.mosq, self.influx):
            if not svc.running:
                raise RuntimeError(f"{svc.name} died; see {svc.workdir}")

    def cleanup(self) -> None:
        for spy in self.spies:
            with contextlib.suppress(Exception):
                spy.stop()
        for pubs in self.pubs:
            with contextlib.suppress(Exception):
                pubs.stop()
        for sub, stop in self.subs:
            with contextlib.suppress(Exception):
                stop.set()
                sub.join(3)
                if sub.is_alive():
                    sub.terminate()
                    sub.join(3)
        for p in self.popen:
            with contextlib.suppress(Exception):
                if p.poll() is None:
                    p.terminate()
                    try:
                        p.wait(15)
                    except subprocess.TimeoutExpired:
                        p.kill()
                        p.wait()
        for hub in self.hubs:
            with contextlib.suppress(Exception):
                hub.stop(timeout=20)
        for svc in (self.mosq, self.influx):
            if svc is not None:
                with contextlib.suppress(Exception):
                    svc.close()
        if self.args.keep_tmp:
            log(f"kept {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    # --- helpers ---

    def publishers(self, n: int) -> Publishers:
        pubs = Publishers(self.ctx, self.host, self.port, n, self.args.publishers,
                          self.args.inflight, ts_base=time.time() - 86400)
        self.pubs.append(pubs)
        return pubs

    def wait_published(self, label: str, pubs: Publishers) -> dict[str, Any]:
        t0 = last = time.monotonic()
        while not pubs.done():
            time.sleep(0.2)
            self.check_services()
            now = time.monotonic()
            if now - last >= PROGRESS_EVERY:
                last = now
                log(f"  [{label}] {now - t0:5.1f}s  published {pubs.acked():,}/{pubs.n:,}")
        s = pubs.summary()
        log(f"  [{label}] published {s['published']:,} in {s['t_end'] - s['t_start']:.1f}s "
            f"({fmt_rate(s['publish_rate'])}; failed {s['failed']}, "
            f"queue-full retries {s['queue_full_retries']})")
        return s

    def watch(self, label: str, pubs: Publishers | None, probe: Any, published: int | None,
              describe: Any) -> list[dict]:
        """Sample `probe()` every SCRAPE_INTERVAL until everything published is accounted
        for, or nothing moved for --stall seconds after publishing ended."""
        samples: list[dict] = []
        t_start = last_print = time.monotonic()
        last_val, last_change = -1.0, t_start
        while True:
            t0 = time.monotonic()
            s = probe()
            s["t"] = (t0 + time.monotonic()) / 2  # the counters were read in between
            target = published
            if pubs is not None and pubs.done():
                target = pubs.published
            s["complete"] = target is not None and s["accounted"] >= target
            samples.append(s)
            if s["complete"]:
                return samples
            if s["accounted"] != last_val:
                last_val, last_change = s["accounted"], t0
            elif target is not None and t0 - last_change > self.args.stall:
                log(f"  [{label}] no progress for {self.args.stall:.0f}s with "
                    f"{int(s['accounted']):,} of {target:,} accounted for; giving up")
                return samples
            if t0 - last_print >= PROGRESS_EVERY:
                last_print = t0
                pub = f"published {pubs.acked():,}  " if pubs is not None else ""
                log(f"  [{label}] {t0 - t_start:5.1f}s  {pub}{describe(s)}")
            self.check_services()
            time.sleep(max(0.0, t0 + SCRAPE_INTERVAL - time.monotonic()))

    # --- baseline: bare paho subscriber ---

    def baseline_process(self, client_id: str, action: str) -> tuple[Any, Any, Any]:
        shared = self.ctx.Array("d", 6, lock=False)
        ready, stop = self.ctx.Event(), self.ctx.Event()
        proc = self.ctx.Process(target=common.baseline_main, name=f"bench-baseline-{action}",
                                args=(self.host, self.port, client_id, action, ready, stop,
                                      shared), daemon=True)
        proc.start()
        self.subs.append((proc, stop))
        if not ready.wait(30):
            raise RuntimeError("baseline subscriber did not subscribe within 30 s")
        return proc, stop, shared

    def baseline(self, mode: str, n: int) -> dict[str, Any]:
        label = f"{mode} baseline"
        cid = f"bench-baseline-{mode}"
        log(f"\n== {label}: bare paho subscriber (QoS 1, persistent session, json.loads), "
            f"{n:,} readings")
        common.clear_session(self.host, self.port, cid)
        if mode == "drain":
            proc, _stop, _shared = self.baseline_process(cid, "create")
            proc.join(10)
            pubs = self.publishers(n)
            pub = self.wait_published(label, pubs)
            published: int | None = pub["published"]
            proc, stop, shared = self.baseline_process(cid, "consume")
            sampler = common.Sampler({"baseline": proc.pid, **self.ours()}).start()
        else:
            proc, stop, shared = self.baseline_process(cid, "consume")
            pubs = self.publishers(n)
            sampler = common.Sampler({"baseline": proc.pid, **self.ours(),
                                      **pubs.pids}).start()
            published = None

        def probe() -> dict[str, float]:
            c = shared[B_COUNT]
            return {"count": c, "accounted": c - shared[B_DUPS]}

        samples = self.watch(label, None if mode == "drain" else pubs, probe, published,
                             lambda s: f"received {int(s['count']):,}")
        sampler.stop()
        stop.set()
        proc.join(10)
        common.clear_session(self.host, self.port, cid)
        if mode == "live":
            pub = pubs.summary()
        count, dups = int(shared[B_COUNT]), int(shared[B_DUPS])
        first, last, connack = shared[B_FIRST], shared[B_LAST], shared[B_CONNACK]
        unique = count - dups
        drops = pub["published"] - unique
        res: dict[str, Any] = {
            "published": pub["published"], "received": count, "duplicates": dups,
            "broker_drops": drops, "publisher": pub,
            "rate": round(count / (last - first), 1) if count > 1 and last > first else None,
            "timing": "exact: count / (last message time - first message time), taken in "
                      "the subscriber's on_message",
            "seconds": round(last - first, 3),
            "observed_2hz": observed_rate(samples, "count"),
            "processes": sampler.report(), "machine": sampler.machine(),
        }
        cpu = res["processes"]["baseline"]["cpu_s"]
        res["cpu_us_per_reading"] = round(1e6 * cpu / count, 1) if count and cpu == cpu else None
        if mode == "drain":
            res["rate_from_connect"] = round(count / (last - connack), 1) if last > connack \
                else None
        else:
            res["lag_after_last_publish_s"] = round(last - pub["t_end"], 3)
        log(f"  [{label}] {count:,} received, rate {fmt_rate(res['rate'])} "
            f"(first→last message, {res['seconds']:.2f}s)"
            + (f", {fmt_rate(res['rate_from_connect'])} from CONNACK" if mode == "drain" else
               f", lag after last publish {res['lag_after_last_publish_s']:.2f}s"))
        if drops:
            msg = f"{label}: broker delivered {unique:,} of {pub['published']:,} published " \
                  f"({drops:,} dropped)"
            self.lost.append(msg)
            log(f"  !!! LOST: {msg}")
        else:
            log(f"  [{label}] no broker-side drops ({unique:,} unique of "
                f"{pub['published']:,} published)")
        return res

    # --- hub ---

    def new_hub(self, mode: str) -> common.HubProcess:
        hub = common.HubProcess(self.tmp / f"hub-{mode}", mqtt_url=self.mosq.url,
                                influx_url=self.influx.url, client_id=f"bench-hub-{mode}")
        self.hubs.append(hub)
        return hub

    def hub(self, mode: str, n: int) -> dict[str, Any]:
        label = f"{mode} hub"
        log(f"\n== {label}: `roshni hub run` storing into InfluxDB, {n:,} readings")
        common.influx_query(self.influx.url, "DROP DATABASE roshni", post=True)
        hub = self.new_hub(mode)
        common.clear_session(self.host, self.port, hub.client_id)
        published: int | None = None
        pubs: Publishers | None = None
        t0 = time.monotonic()
        hub.start()
        t_healthy = hub.wait_healthy()
        log(f"  [{label}] hub pid {hub.pid} healthy after {t_healthy - t0:.1f}s "
            f"(port {hub.port})")
        if mode == "drain":
            # Its persistent session now exists; stop it and build the backlog. /healthz says
            # connected once CONNACK is in; give its SUBSCRIBE a moment to reach the broker
            # (a missing subscription would show up below as loss).
            time.sleep(0.5)
            rc = hub.stop()
            log(f"  [{label}] hub stopped (SIGTERM, exit {rc}); publishing the backlog")
            pubs = self.publishers(n)
            pub = self.wait_published(label, pubs)
            published = pub["published"]
            t0 = time.monotonic()
            hub.start()
            t_healthy = hub.wait_healthy()
            log(f"  [{label}] hub restarted, pid {hub.pid}, connected "
                f"{t_healthy - t0:.1f}s after exec")
            sampler = common.Sampler({"hub": hub.pid, **self.ours()}).start()
        else:
            pubs = self.publishers(n)
            sampler = common.Sampler({"hub": hub.pid, **self.ours(),
                                      **pubs.pids}).start()
        spy = None
        if self.args.profile:
            spy = common.PySpy(hub.pid, RESULTS.parent / f"profile-hub-{mode}-"
                               f"{self.args.profile}.txt", gil=self.args.profile == "gil")
            self.spies.append(spy)

        def probe() -> dict[str, float]:
            m = hub.scrape()
            s = {k: m.get(f"roshni_{k}", 0.0) for k in (
                "readings_received_total", "readings_stored_total",
                "readings_duplicate_total", "readings_rejected_total", "spool_depth",
                "influx_retries_total", "influx_write_seconds_sum",
                "influx_write_seconds_count")}
            s["stored"] = s["readings_stored_total"]
            s["accounted"] = (s["stored"] + s["readings_duplicate_total"]
                              + s["readings_rejected_total"])
            s["rss_mb"] = sampler.rss_last.get("hub", 0) / 2**20
            return s

        samples = self.watch(
            label, pubs if mode == "live" else None, probe, published,
            lambda s: (f"received {int(s['readings_received_total']):,}  stored "
                       f"{int(s['stored']):,}  spool {int(s['spool_depth']):,}  "
                       f"rss {s['rss_mb']:.0f} MB"))
        profile = None
        if spy is not None:
            err = spy.stop()
            profile = common.summarize_profile(spy.out)
            if not profile:
                log(f"  [{label}] py-spy produced nothing: {err.strip()[-500:]}")
        sampler.stop()
        pub = pubs.summary()
        last = samples[-1]
        stored = int(last["stored"])
        dups = int(last["readings_duplicate_total"])
        rejected = int(last["readings_rejected_total"])
        in_influx = common.influx_count(self.influx.url)
        rc = hub.stop()
        common.clear_session(self.host, self.port, hub.client_id)
        loss = pub["published"] - stored - dups
        timing = observed_rate(samples, "stored")
        res: dict[str, Any] = {
            "published": pub["published"], "received": int(last["readings_received_total"]),
            "stored": stored, "duplicates": dups, "rejected": rejected, "loss": loss,
            "influx_points": in_influx, "publisher": pub, **timing,
            "timing": "from /metrics sampled at 2 Hz: (stored at the sample where everything "
                      "was accounted for - stored at the first sample with stored > 0) / "
                      "time between those samples; rate_upper uses the sample before the "
                      "last one (the true end lies between)",
            "spool_depth_max": int(max(s["spool_depth"] for s in samples)),
            "influx_writes": int(last["influx_write_seconds_count"]),
            "influx_write_seconds": round(last["influx_write_seconds_sum"], 2),
            "influx_retries": int(last["influx_retries_total"]),
            "hub_exit": rc,
            "processes": sampler.report(), "machine": sampler.machine(),
            "hub_rss_max_mb": sampler.report()["hub"]["rss_max_mb"],
        }
        cpu = res["processes"]["hub"]["cpu_s"]
        res["cpu_us_per_reading"] = round(1e6 * cpu / stored, 1) if stored and cpu == cpu \
            else None
        if mode == "drain":
            res["from_connect"] = observed_rate(samples, "stored", t_from=t_healthy)
            # The receiver's side: broker → spool (fsynced, acked) = stored + spool depth.
            spooled = [s["t"] for s in samples
                       if s["stored"] + s["spool_depth"] >= pub["published"]]
            if spooled:
                res["broker_to_spool_s"] = round(spooled[0] - t_healthy, 2)
                res["broker_to_spool_rate"] = round(
                    pub["published"] / max(spooled[0] - t_healthy, 1e-9), 1)
        else:
            ends = [s["t"] for s in samples if s.get("complete")]
            if ends:
                # Includes up to one scrape interval (0.5 s) of sampling delay.
                res["lag_after_last_publish_s"] = round(ends[0] - pub["t_end"], 2)
                log(f"  [{label}] publishers {fmt_rate(pub['publish_rate'])}; everything "
                    f"stored {res['lag_after_last_publish_s']:.2f}s after the last PUBACK "
                    "(≤ 0.5 s of that is /metrics sampling)")
        if profile:
            res["profile"] = profile
        log(f"  [{label}] stored {stored:,}, duplicates {dups}, rejected {rejected}, "
            f"InfluxDB holds {in_influx:,} points; rate {fmt_rate(res.get('rate'))}"
            + (f" (at most {fmt_rate(res['rate_upper'])})" if res.get("rate_upper") else "")
            + f"; peak RSS {res['hub_rss_max_mb']:.0f} MB")
        timed = res.get("readings_timed") or 0
        if res.get("rate") and (timed < 0.5 * pub["published"]
                                or res["seconds"] < 5 * SCRAPE_INTERVAL):
            res["note"] = (f"{timed:,} of {pub['published']:,} readings stored within a "
                           f"{res['seconds']:.2f} s timing window, against /metrics sampled "
                           f"every {SCRAPE_INTERVAL} s: the rate is rough, use a larger N")
            log(f"  [{label}] note: {res['note']}")
        problems = []
        if loss:
            problems.append(f"published {pub['published']:,} - stored {stored:,} - "
                            f"duplicates {dups:,} = {loss:,}")
        if in_influx != pub["published"]:
            problems.append(f"InfluxDB has {in_influx:,} points for {pub['published']:,} "
                            "published")
        for p in problems:
            self.lost.append(f"{label}: {p}")
            log(f"  !!! LOST: {label}: {p}")
        if not problems:
            log(f"  [{label}] no loss: every published reading is in InfluxDB")
        if profile:
            log(f"  [{label}] py-spy: threads {profile['threads'][:4]}")
            for f, pct in profile["self"][:8]:
                log(f"      self {pct:5.1f}%  {f}")
        return res

    def compare(self, mode: str) -> None:
        r = self.results[mode]
        b, h = r.get("baseline", {}), r.get("hub", {})
        if b.get("rate") and h.get("rate"):
            r["ratio_pct"] = round(100 * h["rate"] / b["rate"], 1)
            if h.get("rate_upper"):
                r["ratio_pct_upper"] = round(100 * h["rate_upper"] / b["rate"], 1)

    # --- modes ---

    def live(self, n: int) -> None:
        self.results["live"] = {"n": n}
        self.results["live"]["baseline"] = self.baseline("live", n)
        self.results["live"]["hub"] = self.hub("live", n)
        self.compare("live")

    def drain(self, n: int) -> None:
        self.results["drain"] = {"n": n}
        self.results["drain"]["baseline"] = self.baseline("drain", n)
        self.results["drain"]["hub"] = self.hub("drain", n)
        self.compare("drain")

    def node(self, seconds: float) -> None:
        log(f"\n== node agent: `roshni node run --simulate default`, {seconds:.0f}s at one "
            "reading per second")
        warmup = min(5.0, seconds / 2)
        env = dict(os.environ)
        env.update(common.node_unit_environment())  # MALLOC_ARENA_MAX, as on a pole
        env.update({"ROSHNI_NODE__ID": "bench-node", "ROSHNI_NODE__INTERVAL_S": "1",
                    "ROSHNI_MQTT__URL": self.mosq.url,
                    "ROSHNI_DATA_DIR": str(self.tmp / "node" / "data"),
                    "ROSHNI_LOG_LEVEL": "WARNING"})
        (self.tmp / "node").mkdir(exist_ok=True)
        log_path = self.tmp / "node" / "node.log"
        counter = common.Counter(self.host, self.port, "roshni/v1/bench-node/#")
        try:
            with open(log_path, "ab") as out:
                proc = subprocess.Popen([common.ROSHNI, "node", "run", "--simulate", "default"],
                                        env=env, stdout=out, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, start_new_session=True,
                                        cwd=self.tmp / "node")
            self.popen.append(proc)
            sampler = common.Sampler({"node": proc.pid}, interval=0.5, tree=True).start()
            t0 = time.monotonic()
            marked = False
            last = t0
            while (now := time.monotonic()) - t0 < seconds:
                if proc.poll() is not None:
                    break
                if not marked and now - t0 >= warmup:
                    sampler.mark_cpu()
                    readings_at_mark = counter.counts.get("reading", 0)
                    marked = True
                if now - last >= PROGRESS_EVERY * 3:
                    last = now
                    log(f"  [node] {now - t0:4.0f}s  rss {sampler.rss_last['node'] / 2**20:.1f}"
                        f" MB, messages {dict(counter.counts)}")
                time.sleep(0.2)
            sampler.stop()
            tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-15:])
            if proc.poll() is not None:
                msg = (f"node agent not available: `roshni node run` exited with "
                       f"{proc.returncode} after {time.monotonic() - t0:.1f}s:\n{tail}")
                log(f"  {msg}")
                self.results["node"] = {"available": False, "error": msg}
                return
            proc.terminate()
            try:
                rc = proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                rc = proc.wait()
            time.sleep(0.5)
        finally:
            counter.close()
        rep = sampler.report()["node"]
        readings = counter.counts.get("reading", 0)
        window = sampler.t1 - sampler.t0
        res = {"available": True, "seconds": seconds, "warmup_s": warmup,
               "cpu_window_s": round(window, 1),
               "rss_max_mb": rep["rss_max_mb"], "cpu_s": rep["cpu_s"],
               "cpu_pct_of_one_core": rep["cpu_pct_of_one_core"],
               "messages_seen": dict(counter.counts), "readings_seen": readings,
               "readings_in_cpu_window": readings - (readings_at_mark if marked else 0),
               "exit_on_sigterm": rc}
        if readings == 0:
            res["available"] = False
            res["error"] = f"node agent ran but published no reading:\n{tail}"
            log(f"  node agent not available: ran but published no reading:\n{tail}")
        log(f"  [node] RSS max {res['rss_max_mb']:.1f} MB (process tree), CPU "
            f"{res['cpu_pct_of_one_core']:.2f} % of one core over {window:.0f}s after a "
            f"{warmup:.0f}s warm-up; {readings} readings seen; exit {rc} on SIGTERM")
        self.results["node"] = res

    # --- report ---

    def broker_log(self) -> None:
        """Mosquitto says so when it drops messages for a client ("Outgoing messages are
        being dropped"); count that and any errors it logged."""
        if self.mosq is None:
            return
        try:
            lines = (self.mosq.workdir / "mosquitto.log").read_text(errors="replace").splitlines()
        except OSError:
            return
        dropped = [ln for ln in lines if "dropped" in ln.lower()]
        errors = [ln for ln in lines if ("error" in ln.lower() or "warning" in ln.lower())
                  and "should not be run as root" not in ln]
        self.results["broker_log"] = {"dropped_lines": len(dropped), "error_lines": len(errors),
                                      "sample": (dropped + errors)[:5]}
        if dropped:
            self.lost.append(f"mosquitto logged {len(dropped)} 'dropped' line(s): {dropped[0]}")
        if errors:
            log(f"mosquitto logged {len(errors)} error/warning line(s), e.g. {errors[0]}")

    def summary(self) -> None:
        log("\n== summary (2-core machine: broker, InfluxDB, publishers and consumer share it)")
        for mode in ("live", "drain"):
            r = self.results.get(mode) or {}
            b, h = r.get("baseline"), r.get("hub")
            if not b and not h:
                continue
            log(f"{mode:5s} n={r.get('n'):,}")
            def extra(x: dict, mode: str = mode) -> str:
                m = x.get("machine", {})
                pub = (f"publishers {fmt_rate(x['publisher']['publish_rate'])}, "
                       if mode == "live" else "")
                return (f"[{pub}machine busy {m.get('busy_pct_of_all_cores')} %, others "
                        f"{m.get('others_cpu_pct_of_one_core')} % of a core]")

            if b:
                log(f"   baseline  {fmt_rate(b.get('rate')):>12}  broker drops "
                    f"{b['broker_drops']}, CPU {b.get('cpu_us_per_reading')} µs/reading  "
                    f"{extra(b)}")
            if h:
                upper = f" (≤ {fmt_rate(h['rate_upper'])})" if h.get("rate_upper") else ""
                log(f"   hub       {fmt_rate(h.get('rate')):>12}{upper}  loss {h['loss']}, "
                    f"InfluxDB {h['influx_points']:,}/{h['published']:,}, "
                    f"peak RSS {h['hub_rss_max_mb']:.0f} MB, "
                    f"CPU {h['processes']['hub']['cpu_pct_of_one_core']:.0f} % of a core, "
                    f"{h.get('cpu_us_per_reading')} µs/reading  "
                    f"{extra(h)}")
                fc = h.get("from_connect") or {}
                if mode == "drain" and fc.get("rate"):
                    up = f" (≤ {fmt_rate(fc['rate_upper'])})" if fc.get("rate_upper") else ""
                    log(f"   hub from connect {fmt_rate(fc['rate'])}{up}; broker → spool "
                        f"{fmt_rate(h.get('broker_to_spool_rate'))}")
            if mode == "live" and b and h:
                log(f"   lag after the last PUBACK: baseline "
                    f"{b.get('lag_after_last_publish_s')}s, hub "
                    f"{h.get('lag_after_last_publish_s')}s (0 = kept up with the publishers)")
            if r.get("ratio_pct") is not None:
                up = f"–{r['ratio_pct_upper']:.0f}" if r.get("ratio_pct_upper") else ""
                rough = " (rough: see note above)" if h and h.get("note") else ""
                log(f"   hub/baseline {r['ratio_pct']:.0f}{up} %{rough}")
        nd = self.results.get("node") or {}
        if nd.get("available"):
            log(f"node  RSS max {nd['rss_max_mb']:.1f} MB, CPU "
                f"{nd['cpu_pct_of_one_core']:.2f} % of one core")
        elif nd:
            log(f"node  {nd.get('error', '').splitlines()[0]}")
        if self.lost:
            log("\n!!! READINGS LOST !!!")
            for m in self.lost:
                log(f"!!! {m}")

    def write(self) -> None:
        self.results["lost"] = self.lost
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(self.results, indent=2, default=str) + "\n")
        log(f"\nwrote {RESULTS}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--live", type=int, default=100_000, metavar="N",
                    help="readings in the live run (default 100000)")
    ap.add_argument("--drain", type=int, default=100_000, metavar="N",
                    help="readings in the drain backlog (default 100000)")
    ap.add_argument("--node", action="store_true", help="also measure the node agent")
    ap.add_argument("--node-seconds", type=float, default=60.0,
                    help="node agent run time (default 60; CPU after a 5 s warm-up)")
    ap.add_argument("--skip-live", action="store_true")
    ap.add_argument("--skip-drain", action="store_true")
    ap.add_argument("--quick", action="store_true", help="20000 readings per mode (smoke run)")
    ap.add_argument("--publishers", type=int, choices=(1, 2), default=1,
                    help="publisher processes (default 1)")
    ap.add_argument("--inflight", type=int, default=500,
                    help="paho in-flight window per publisher (default 500)")
    ap.add_argument("--stall", type=float, default=60.0,
                    help="give up waiting after this many seconds without progress (60)")
    ap.add_argument("--profile", nargs="?", const="all", choices=("all", "gil"),
                    help="py-spy record the hub while it ingests ('gil': only samples "
                         "holding the GIL, i.e. Python CPU); slows it, so figures of a "
                         "profiled run are not the benchmark's. Collapsed stacks go to "
                         "bench/results/profile-hub-<mode>-<kind>.txt")
    ap.add_argument("--keep-tmp", action="store_true", help="keep the temp dir (logs)")
    args = ap.parse_args(argv)
    if args.quick:
        args.live = args.drain = 20_000
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def on_term(_sig: int, _frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    bench = Bench(args)
    rc = 0
    try:
        bench.setup()
        if not args.skip_live:
            bench.live(args.live)
        if not args.skip_drain:
            bench.drain(args.drain)
        if args.node:
            bench.node(args.node_seconds)
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
            bench.broker_log()
            bench.cleanup()
        finally:
            signal.signal(signal.SIGINT, signal.default_int_handler)
    bench.summary()
    bench.write()
    if bench.lost:
        return 3
    return rc


if __name__ == "__main__":
    sys.exit(main())
