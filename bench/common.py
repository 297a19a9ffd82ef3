"""Shared pieces of the benchmarks: load generators, a bare baseline subscriber, the hub as a
subprocess, scraping /metrics, InfluxDB queries and process sampling.

Everything talks to 127.0.0.1 only. The publisher and subscriber functions run in child
processes (multiprocessing, "spawn"), so they import only what they need.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import deque
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = REPO / ".venv" / "bin"
ROSHNI = str(VENV_BIN / "roshni") if (VENV_BIN / "roshni").exists() else "roshni"
PY_SPY = str(VENV_BIN / "py-spy")

NODE_UNIT = REPO / "deploy" / "systemd" / "roshni-node.service"


def node_unit_environment() -> dict[str, str]:
    """The variables the node's systemd unit gives the agent besides its ROSHNI_* paths
    (MALLOC_ARENA_MAX), so a benchmark measures the agent as production runs it."""
    env: dict[str, str] = {}
    for line in NODE_UNIT.read_text().splitlines():
        if line.startswith("Environment="):
            name, _, value = line.removeprefix("Environment=").strip().strip('"').partition("=")
            if not name.startswith("ROSHNI_"):
                env[name] = value
    return env


NODES = 1000
SUBSCRIPTION = "roshni/v1/+/reading"


def node_id(n: int) -> str:
    return f"bench-{n:04d}"


# --- payloads -------------------------------------------------------------------------------

# Every field of the DESIGN.md §4 example; values vary per message so nothing is constant-folded
# anywhere, formatted by hand so the publisher spends its CPU on MQTT, not on json.dumps.
_TEMPLATE = (
    '{"v":1,"node":"%s","seq":%d,"ts":%.3f,"interval_s":60,"lamp_on":%s,"lux":%.1f,'
    '"lamp_w":%.1f,"lamp_a":%.2f,"mains_v":%.1f,"energy_wh":%.1f,"footfall":%d,'
    '"presence_s":%d,"tamper":false,"cpu_c":%.1f,"uptime_s":%d,"rssi_dbm":%d,"spool":0}'
)


# A provisioned lamp at night, as a city sends it all night long: on, drawing near its rated
# 60 W, in the dark; every rule has something to look at and none fires.
_NIGHT = (
    '{"v":1,"node":"%s","seq":%d,"ts":%.3f,"interval_s":60,"lamp_on":true,"lux":%.1f,'
    '"lamp_w":%.1f,"lamp_a":%.2f,"mains_v":%.1f,"energy_wh":%.1f,"footfall":%d,'
    '"presence_s":%d,"tamper":false,"cpu_c":%.1f,"uptime_s":%d,"rssi_dbm":%d,"spool":0}'
)


def reading(i: int, *, ts_base: float, seq_base: int = 0, nodes: int = NODES,
            night: bool = False) -> tuple[str, bytes]:
    """Message number `i` of a run: node i % nodes, its seq increasing with i, ts = base + i ms.
    `night`: a burning lamp in the dark (bench/city.py), else a mixed day-and-night reading."""
    n = i % nodes
    k = i // nodes
    nid = node_id(n)
    if night:
        body = _NIGHT % (
            nid, seq_base + k, ts_base + i / 1000.0, 1.0 + (i % 23) / 10.0,
            57.0 + (i % 19) / 10.0, 0.25 + (i % 7) / 100.0, 229.8 - (i % 31) / 10.0,
            15234.0 + k / 10.0, i % 3, (i * 7) % 61, 51.2 + (i % 17) / 10.0, 86400 + k * 60,
            -61 - (i % 20))
        return f"roshni/v1/{nid}/reading", body.encode()
    body = _TEMPLATE % (
        nid, seq_base + k, ts_base + i / 1000.0, "true" if k % 4 else "false",
        3.1 + (i % 97) / 10.0, 48.2 - (i % 13) / 10.0, 0.21 + (i % 7) / 100.0,
        229.8 - (i % 31) / 10.0, 15234.0 + k / 10.0, i % 11, (i * 7) % 61,
        51.2 + (i % 17) / 10.0, 86400 + k * 60, -61 - (i % 20),
    )
    return f"roshni/v1/{nid}/reading", body.encode()


# --- MQTT clients (child processes) ----------------------------------------------------------

def publisher_main(host: str, port: int, index: int, nprocs: int, n: int, ts_base: float,
                   seq_base: int, progress: Any, out: Any, inflight: int = 500,
                   queue_size: int = 2000, nodes: int = NODES, night: bool = False) -> None:
    """Publish messages index, index+nprocs, ... < n at QoS 1 as fast as the broker acks them.

    paho's in-flight window is `inflight`; its memory queue is capped at `queue_size` (a
    publish beyond it returns ERR_QUEUE_SIZE, counted and retried after the oldest message
    is acknowledged), and we wait on the oldest MQTTMessageInfo whenever half of that is
    outstanding, so memory stays bounded. `progress` (shared int) = messages acked so far.
    With 1000 nodes and nprocs in (1, 2) every node is published by exactly one process, so
    its seq order on the wire is its seq order.
    """
    import paho.mqtt.client as mqtt

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{os.getpid()}",
                    protocol=mqtt.MQTTv311, clean_session=True)
    c.max_inflight_messages_set(inflight)
    c.max_queued_messages_set(queue_size)
    connected = threading.Event()
    c.on_connect = lambda *_a: connected.set()
    c.connect(host, port, 60)
    c.loop_start()
    if not connected.wait(15):
        out.put({"index": index, "error": "publisher could not connect"})
        return
    pending: deque[Any] = deque()
    acked = failed = queue_full = 0
    high, low = queue_size // 2, queue_size // 4

    def settle(info: Any) -> None:
        nonlocal acked, failed
        try:
            info.wait_for_publish(60)
        except (RuntimeError, ValueError):
            pass
        if info.rc == mqtt.MQTT_ERR_SUCCESS and info.is_published():
            acked += 1
        else:
            failed += 1

    t0 = time.monotonic()
    for i in range(index, n, nprocs):
        topic, body = reading(i, ts_base=ts_base, seq_base=seq_base, nodes=nodes, night=night)
        while True:
            info = c.publish(topic, body, qos=1)
            if info.rc == mqtt.MQTT_ERR_QUEUE_SIZE:
                queue_full += 1
                if pending:
                    settle(pending.popleft())
                else:
                    time.sleep(0.001)
                continue
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                failed += 1  # not queued by paho: never reaches the broker; not "published"
            else:
                pending.append(info)
            break
        if len(pending) >= high:
            while len(pending) > low:
                settle(pending.popleft())
            progress.value = acked
    while pending:
        settle(pending.popleft())
    t1 = time.monotonic()
    progress.value = acked
    c.disconnect()
    c.loop_stop()
    out.put({"index": index, "published": acked, "failed": failed, "queue_full": queue_full,
             "t_start": t0, "t_end": t1})


# Slots of the baseline subscriber's shared array.
B_COUNT, B_DUPS, B_FIRST, B_LAST, B_CONNACK, B_BAD = range(6)


def baseline_main(host: str, port: int, client_id: str, action: str, ready: Any, stop: Any,
                  shared: Any) -> None:
    """A bare paho subscriber: QoS 1, persistent session (clean_session=False), loop_forever,
    json.loads of every payload and a count. The ceiling for any Python consumer here.

    action "create": connect, subscribe, disconnect (the broker now queues for us).
    action "consume": connect, subscribe, count until `stop` is set.
    `shared` (doubles): count, dup-flagged, first/last message time, CONNACK time, bad JSON
    (times are time.monotonic(), which is one clock for all processes on Linux).
    """
    import paho.mqtt.client as mqtt

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                    protocol=mqtt.MQTTv311, clean_session=False)
    count = dups = bad = 0
    first = last = 0.0
    loads = json.loads

    def on_connect(client, _u, _flags, rc, _p):  # type: ignore[no-untyped-def]
        shared[B_CONNACK] = time.monotonic()
        client.subscribe(SUBSCRIPTION, qos=1)

    def on_subscribe(client, *_a):  # type: ignore[no-untyped-def]
        ready.set()
        if action == "create":
            client.disconnect()

    def on_message(_client, _u, msg):  # type: ignore[no-untyped-def]
        nonlocal count, dups, bad, first, last
        t = time.monotonic()
        try:
            loads(msg.payload)
        except ValueError:
            bad += 1
        if not count:
            first = t
        count += 1
        last = t
        if msg.dup:
            dups += 1

    def publish_counts() -> None:
        shared[B_COUNT], shared[B_DUPS], shared[B_BAD] = count, dups, bad
        shared[B_FIRST], shared[B_LAST] = first, last

    def watcher() -> None:
        while not stop.wait(0.1):
            publish_counts()
        c.disconnect()

    c.on_connect = on_connect
    c.on_subscribe = on_subscribe
    c.on_message = on_message
    if action == "consume":
        threading.Thread(target=watcher, daemon=True).start()
    c.connect(host, port, 60)
    c.loop_forever()
    publish_counts()


def clear_session(host: str, port: int, client_id: str) -> None:
    """Discard a persistent session: connect with clean_session=True under its client id.
    Otherwise the broker would queue every later run's messages for it."""
    import paho.mqtt.client as mqtt

    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                    protocol=mqtt.MQTTv311, clean_session=True)
    done = threading.Event()
    c.on_connect = lambda *_a: done.set()
    c.connect(host, port, 30)
    c.loop_start()
    done.wait(10)
    c.disconnect()
    c.loop_stop()


class Counter:
    """Counts messages on a topic filter in this process (used to check the node agent)."""

    def __init__(self, host: str, port: int, topic: str) -> None:
        import paho.mqtt.client as mqtt

        self.counts: dict[str, int] = {}
        self.c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                             client_id=f"bench-counter-{os.getpid()}", protocol=mqtt.MQTTv311)
        self.ready = threading.Event()
        self.c.on_connect = lambda cl, *_a: cl.subscribe(topic, qos=1)
        self.c.on_subscribe = lambda *_a: self.ready.set()
        self.c.on_message = self._on_message
        self.c.connect(host, port, 30)
        self.c.loop_start()
        self.ready.wait(10)

    def _on_message(self, _c: Any, _u: Any, msg: Any) -> None:
        kind = msg.topic.split("/", 3)[-1]  # roshni/v1/<id>/<kind>
        self.counts[kind] = self.counts.get(kind, 0) + 1

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()


# --- HTTP: hub and InfluxDB ------------------------------------------------------------------

def http_get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def parse_metrics(text: str) -> dict[str, float]:
    """Prometheus text → {metric name: value summed over its labels}."""
    out: dict[str, float] = {}
    for ln in text.splitlines():
        if not ln or ln[0] == "#":
            continue
        name_labels, _, value = ln.rpartition(" ")
        name = name_labels.split("{", 1)[0]
        try:
            out[name] = out.get(name, 0.0) + float(value)
        except ValueError:
            continue
    return out


def influx_query(base: str, q: str, *, db: str | None = None, post: bool = False) -> dict:
    params = {"q": q, **({"db": db} if db else {})}
    data = urllib.parse.urlencode(params).encode()
    if post:
        req = urllib.request.Request(f"{base}/query", data=data, method="POST")
    else:
        req = urllib.request.Request(f"{base}/query?{data.decode()}")
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())


def influx_write(base: str, db: str, lines: str) -> None:
    """Line protocol (ns precision) into `db` over /write."""
    req = urllib.request.Request(f"{base}/write?db={urllib.parse.quote(db)}",
                                 data=lines.encode(), method="POST")
    with urllib.request.urlopen(req, timeout=120) as r:
        if r.status >= 300:
            raise RuntimeError(f"InfluxDB /write answered {r.status}")


def influx_count(base: str, db: str = "roshni",
                 window: tuple[float, float] | None = None) -> int:
    """Points in `reading` (count of the always-present field `seq`): the end-to-end proof.
    `window`: only points with from <= time < to (Unix seconds)."""
    where = (f" WHERE time >= {int(window[0] * 1e9)} AND time < {int(window[1] * 1e9)}"
             if window else "")
    res = influx_query(base, f"SELECT count(seq) FROM reading{where}", db=db)
    result = res.get("results", [{}])[0]
    if "error" in result:
        if "database not found" in result["error"]:
            return 0
        raise RuntimeError(f"InfluxDB: {result['error']}")
    series = result.get("series") or []
    return int(series[0]["values"][0][1]) if series else 0


class HubProcess:
    """`roshni hub run` as a real subprocess with its own data dir and MQTT client id."""

    def __init__(self, workdir: Path, *, mqtt_url: str, influx_url: str, client_id: str,
                 env: dict[str, str] | None = None) -> None:
        from hub.supervise import free_port

        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.mqtt_url, self.influx_url, self.client_id = mqtt_url, influx_url, client_id
        self.env = env or {}  # more ROSHNI_* settings (database, shared group)
        self._free_port = free_port
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = self.workdir / "hub.log"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> None:
        self.port = self._free_port()
        env = dict(os.environ)
        env.update({
            "ROSHNI_MQTT__URL": self.mqtt_url,
            "ROSHNI_MQTT__CLIENT_ID": self.client_id,
            "ROSHNI_INFLUX__URL": self.influx_url,
            "ROSHNI_DATA_DIR": str(self.workdir / "data"),
            "ROSHNI_HTTP__PORT": str(self.port),
            "ROSHNI_LOG_LEVEL": "WARNING",
            **self.env,
        })
        log = open(self.log_path, "ab")  # noqa: SIM115 - handed to the child
        try:
            self.proc = subprocess.Popen([ROSHNI, "hub", "run"], env=env, stdout=log,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         start_new_session=True, cwd=self.workdir)
        finally:
            log.close()

    def wait_healthy(self, timeout: float = 60.0) -> float:
        """Poll /healthz (20 Hz) until 200; return the time.monotonic() it answered 200."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"hub exited while starting:\n{self.log_tail()}")
            try:
                status, _ = http_get(f"{self.base}/healthz", timeout=1.0)
                if status == 200:
                    return time.monotonic()
            except OSError:
                pass
            time.sleep(0.05)
        raise TimeoutError(f"hub did not become healthy in {timeout:.0f}s:\n{self.log_tail()}")

    def scrape(self) -> dict[str, float]:
        status, body = http_get(f"{self.base}/metrics", timeout=10.0)
        if status != 200:
            raise RuntimeError(f"/metrics answered {status}")
        return parse_metrics(body.decode())

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM (uvicorn shuts the hub down cleanly), SIGKILL after `timeout`."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no hub log)"


# --- process sampling ------------------------------------------------------------------------

class Sampler:
    """Samples RSS (max) of named processes every `interval` s in a thread, and their CPU
    seconds (user + system, including reaped children) between start() and stop().
    `tree=True` adds the process's live children to its RSS."""

    def __init__(self, procs: dict[str, int], interval: float = 0.2, tree: bool = False) -> None:
        import psutil

        self._psutil = psutil
        self.procs = {name: psutil.Process(pid) for name, pid in procs.items()}
        self.interval = interval
        self.tree = tree
        self.rss_max: dict[str, int] = dict.fromkeys(self.procs, 0)
        self.rss_last: dict[str, int] = dict.fromkeys(self.procs, 0)
        self._cpu0: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="sampler")
        self.t0 = self.t1 = 0.0

    def _cpu(self, p: Any) -> float:
        try:
            t = p.cpu_times()
            return t.user + t.system + t.children_user + t.children_system
        except self._psutil.Error:
            return float("nan")

    def _rss(self, p: Any) -> int:
        try:
            rss = p.memory_info().rss
            if self.tree:
                for ch in p.children(recursive=True):
                    with contextlib.suppress(self._psutil.Error):
                        rss += ch.memory_info().rss
            return rss
        except self._psutil.Error:
            return 0

    def _machine_busy(self) -> float:
        t = self._psutil.cpu_times()
        return sum(t) - t.idle - getattr(t, "iowait", 0.0) - getattr(t, "guest", 0.0) \
            - getattr(t, "guest_nice", 0.0)

    def mark_cpu(self) -> None:
        """(Re)start the CPU window now (e.g. after a warm-up)."""
        self.t0 = time.monotonic()
        self._cpu0 = {n: self._cpu(p) for n, p in self.procs.items()}
        self._busy0 = self._machine_busy()

    def start(self) -> Sampler:
        self.mark_cpu()
        self._thread.start()
        return self

    def _run(self) -> None:
        while True:
            for name, p in self.procs.items():
                rss = self._rss(p)
                self.rss_last[name] = rss
                self.rss_max[name] = max(self.rss_max[name], rss)
            if self._stop.wait(self.interval):
                return

    def stop(self) -> Sampler:
        self.t1 = time.monotonic()
        self.cpu = {n: self._cpu(p) - self._cpu0[n] for n, p in self.procs.items()}
        self.machine_busy = self._machine_busy() - self._busy0
        self._stop.set()
        self._thread.join(5)
        return self

    def report(self) -> dict[str, dict[str, float]]:
        window = max(self.t1 - self.t0, 1e-9)
        return {n: {"rss_max_mb": round(self.rss_max[n] / 2**20, 1),
                    "cpu_s": round(self.cpu.get(n, float("nan")), 2),
                    "cpu_pct_of_one_core": round(100 * self.cpu.get(n, float("nan")) / window, 1)}
                for n in self.procs}

    def machine(self) -> dict[str, float]:
        """Whole-machine CPU over the window, and what processes not sampled here used
        (other people's tests on a shared machine show up there)."""
        window = max(self.t1 - self.t0, 1e-9)
        ours = sum(v for v in self.cpu.values() if v == v)  # skip NaN
        return {"window_s": round(window, 2),
                "busy_pct_of_all_cores": round(100 * self.machine_busy / window
                                               / (os.cpu_count() or 1), 1),
                "others_cpu_pct_of_one_core": round(100 * (self.machine_busy - ours) / window,
                                                    1),
                "loadavg_1m": round(os.getloadavg()[0], 2)}


class PySpy:
    """`py-spy record` of a pid into a collapsed-stack file (raw format), stopped by SIGINT."""

    def __init__(self, pid: int, out: Path, rate: int = 100, gil: bool = False) -> None:
        self.out = out
        out.parent.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [PY_SPY, "record", "-p", str(pid), "-r", str(rate), "-f", "raw", "--threads",
             "-o", str(out), "--nonblocking", *(["--gil"] if gil else [])],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
        return err


def summarize_profile(path: Path, top: int = 15) -> dict[str, Any]:
    """Per-thread sample shares and the functions with most self / inclusive samples."""
    threads: dict[str, int] = {}
    self_t: dict[str, int] = {}
    incl: dict[str, int] = {}
    total = 0
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return {}
    for ln in text.splitlines():
        stack, _, n = ln.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        k = int(n)
        total += k
        frames = stack.split(";")
        threads[frames[0]] = threads.get(frames[0], 0) + k
        funcs = [f.split(" (")[0] + " (" + f.split(" (")[-1].split(":")[0].rsplit("/", 1)[-1]
                 + ")" if " (" in f else f for f in frames[1:]]
        if funcs:
            self_t[funcs[-1]] = self_t.get(funcs[-1], 0) + k
        for f in set(funcs):
            incl[f] = incl.get(f, 0) + k

    def pct(d: dict[str, int]) -> list[tuple[str, float]]:
        return [(f, round(100 * v / total, 1))
                for f, v in sorted(d.items(), key=lambda kv: -kv[1])[:top]]

    return {"samples": total, "threads": pct(threads), "self": pct(self_t),
            "inclusive": pct(incl)}


def machine_info() -> dict[str, Any]:
    import platform

    import paho.mqtt

    def first_line(cmd: list[str]) -> str:
        try:
            out = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
            return (out.stdout or out.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "?"

    model = "?"
    with contextlib.suppress(OSError):
        for ln in Path("/proc/cpuinfo").read_text().splitlines():
            if ln.startswith("model name"):
                model = ln.split(":", 1)[1].strip()
                break
    return {
        "cpus": os.cpu_count(), "cpu_model": model,
        "python": sys.version.split()[0], "platform": platform.platform(),
        "paho_mqtt": paho.mqtt.__version__,
        "mosquitto": first_line(["mosquitto", "-h"]),
        "influxd": first_line(["influxd", "version"]),
        "git_commit": first_line(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"]),
    }
