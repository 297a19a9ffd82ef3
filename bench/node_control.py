"""The node agent with lamp control on (DESIGN.md §11): RSS and CPU, and how fast the
output follows a presence edge.

    .venv/bin/python bench/node_control.py                  # 60 s per agent run, 100 edges
    .venv/bin/python bench/node_control.py --seconds 30 --edges 50

1. **Agent**: `roshni node run --simulate default` with profile `pi4-relay`, one reading a
   second, against a Mosquitto on 127.0.0.1, twice: with its `[output]` table (control
   on: a retained presence-mode program, the simulated passers-by on the PIR) and with the
   same profile minus `[output]` (control off). RSS max of the process tree and CPU % of one
   core after a 5 s warm-up, as `bench/ingest.py --node` measures them. The agent gets the
   variables of the shipped systemd unit (deploy/systemd/roshni-node.service:
   MALLOC_ARENA_MAX), as on a pole.
2. **Presence → output**: in this process, the node's own PIR sensor, lamp output and
   control on gpiozero's mock pins: the PIR pin is driven high at a random moment and the
   time until the PWM pin's duty changes is taken, `--edges` times (p50, p99, max).
   gpiozero samples a PIR 10 times a second, so most of it is that sampling.

Prints the figures and writes bench/results/node_control.json. Never asserts a speed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402

PRESENCE_PROGRAM = {"steps": [{"at": "sunset", "level": 100}, {"at": "sunrise", "level": 0}],
                    "presence": {"floor": 20, "level": 100, "hold_s": 30}}
RESULTS = Path(__file__).resolve().parent / "results" / "node_control.json"


def log(text: str) -> None:
    print(text, flush=True)


def publish_config(url: str, node_id: str) -> None:
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from protocol.payloads import program_sha
    from protocol.settings import MqttEndpoint
    from protocol.topics import Kind, topic

    body = {"v": 1, "version": 1, "sha": program_sha(PRESENCE_PROGRAM),
            "program": PRESENCE_PROGRAM}
    ep = MqttEndpoint.from_url(url)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-hub")
    client.connect(ep.host, ep.port)
    client.loop_start()
    client.publish(topic(node_id, Kind.CONFIG), json.dumps(body), qos=1,
                   retain=True).wait_for_publish(5)
    client.disconnect()
    client.loop_stop()


def run_agent(url: str, workdir: Path, profile: str, seconds: float, node_id: str,
              start: str) -> dict[str, Any]:
    warmup = min(5.0, seconds / 2)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROSHNI_")}
    env.update(common.node_unit_environment())
    env.update({"ROSHNI_NODE__ID": node_id, "ROSHNI_NODE__INTERVAL_S": "1",
                "ROSHNI_NODE__PROFILE": profile, "ROSHNI_MQTT__URL": url,
                "ROSHNI_SIM__START": start,
                "ROSHNI_DATA_DIR": str(workdir / "data"), "ROSHNI_LOG_LEVEL": "WARNING"})
    counter = common.Counter("127.0.0.1", int(url.rsplit(":", 1)[1]), f"roshni/v1/{node_id}/#")
    log_path = workdir / f"{node_id}.log"
    try:
        with open(log_path, "ab") as out:
            proc = subprocess.Popen([common.ROSHNI, "node", "run", "--simulate", "default"],
                                    env=env, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, cwd=workdir)
        try:
            sampler = common.Sampler({"node": proc.pid}, interval=0.5, tree=True).start()
            t0 = time.monotonic()
            marked = False
            while time.monotonic() - t0 < seconds and proc.poll() is None:
                if not marked and time.monotonic() - t0 >= warmup:
                    sampler.mark_cpu()
                    marked = True
                time.sleep(0.2)
            sampler.stop()
        finally:
            proc.terminate()
            rc = proc.wait(20)
    finally:
        counter.close()
    rep = sampler.report()["node"]
    levels = counter.counts.get("reading", 0)
    return {"profile": profile, "seconds": seconds, "warmup_s": warmup,
            "rss_max_mb": rep["rss_max_mb"], "cpu_pct_of_one_core": rep["cpu_pct_of_one_core"],
            "messages_seen": dict(counter.counts), "readings_seen": levels,
            "exit_on_sigterm": rc,
            "log_tail": log_path.read_text(errors="replace").splitlines()[-5:]}


def presence_latency(edges: int) -> dict[str, Any]:
    from gpiozero.pins.mock import MockFactory, MockPWMPin

    from node.control import LampControl
    from node.output import LampOutput
    from node.profile import Output
    from node.programs import ProgramStore, StoredProgram
    from node.schedule import decide
    from node.sensors import FootfallCounter
    from node.sun import Sun
    from protocol.wire import Program, parse, program_sha

    class ShiftableClock:
        """Wall time moved to a night; `offset` jumps it past a presence hold."""

        def __init__(self, start: float) -> None:
            self.offset = start - time.time()

        def now(self) -> float:
            return time.time() + self.offset

        def wait(self, seconds: float, stop: threading.Event) -> bool:
            return stop.wait(max(0.0, seconds))

    night = dt.datetime(2026, 12, 4, 22, 0, tzinfo=dt.timezone(dt.timedelta(hours=5)))
    clock = ShiftableClock(night.timestamp())
    pins = MockFactory(pin_class=MockPWMPin)
    output = LampOutput(Output(relay_pin=25, pwm_pin=12), now=clock.now(), pin_factory=pins)
    pir = FootfallCounter(17, clock=clock, refractory_s=0.0, pin_factory=pins)
    store_dir = Path(tempfile.mkdtemp(prefix="roshni-bench-"))
    store = ProgramStore(store_dir / "program.json")
    program = parse(Program, PRESENCE_PROGRAM)  # what the node holds (protocol.wire)
    store.save(StoredProgram(1, program_sha(PRESENCE_PROGRAM), program))
    sun = Sun(24.8607, 67.0011)
    control = LampControl(output, sun=sun, clock=clock, store=store,
                          announce=lambda kind, detail: None)
    pir.watch(control.presence)
    control.start()
    pwm, pin = pins.pin(12), pins.pin(17)
    floor_duty = 1 - PRESENCE_PROGRAM["presence"]["floor"] / 100
    latencies: list[float] = []
    # People arrive at any moment of gpiozero's 100 ms sampling cycle, not in step with it.
    rng = random.Random(12)
    try:
        for _ in range(edges):
            _spin(lambda: abs(pwm.state - floor_duty) < 1e-9, 5)
            time.sleep(rng.uniform(0.0, 0.1))
            t0 = time.perf_counter()
            pin.drive_high()
            _spin(lambda: pwm.state == 0.0, 5)
            latencies.append(time.perf_counter() - t0)
            pin.drive_low()
            _spin(lambda: not pir.present, 5)
            clock.offset += PRESENCE_PROGRAM["presence"]["hold_s"] + 1
            control.refresh()
        n = 20000
        t0 = time.perf_counter()
        for i in range(n):
            decide(program, clock.now() + i, sun)
        decide_us = (time.perf_counter() - t0) / n * 1e6
    finally:
        control.stop()
        pir.close()
        output.close()
    ms = sorted(x * 1000 for x in latencies)
    return {"edges": edges, "p50_ms": round(statistics.median(ms), 1),
            "p99_ms": round(ms[min(len(ms) - 1, int(len(ms) * 0.99))], 1),
            "max_ms": round(ms[-1], 1), "mean_ms": round(statistics.fmean(ms), 1),
            "decide_us": round(decide_us, 1)}


def _spin(check: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise RuntimeError("the output did not follow within 5 s")
        time.sleep(0.0002)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0, help="per agent run (60)")
    ap.add_argument("--edges", type=int, default=100, help="presence edges (100)")
    args = ap.parse_args()
    from hub.supervise import Mosquitto
    from node.profile import profiles_dir

    results: dict[str, Any] = {"machine": common.machine_info(),
                               "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    log(f"== presence edge -> output change on mock pins, {args.edges} edges")
    results["presence"] = lat = presence_latency(args.edges)
    log(f"  p50 {lat['p50_ms']} ms, p99 {lat['p99_ms']} ms, max {lat['max_ms']} ms; "
        f"one decision {lat['decide_us']} µs")
    with tempfile.TemporaryDirectory(prefix="roshni-bench-control-") as tmp:
        work = Path(tmp)
        text = (profiles_dir() / "pi4-relay.toml").read_text()
        no_output = work / "pi4-relay-no-output.toml"
        no_output.write_text(text.split("\n[output]")[0].replace(
            'name = "pi4-relay"', 'name = "pi4-relay-no-output"') + "\n")
        with Mosquitto(work / "mosquitto") as broker:
            # 21:00 in Karachi: the program has the lamp on, presence mode at work.
            start = dt.datetime.now(dt.UTC).replace(hour=16, minute=0, second=0).isoformat()
            publish_config(broker.url, "bench-control")
            for key, profile, node_id in (("control_on", "pi4-relay", "bench-control"),
                                          ("control_off", str(no_output), "bench-plain")):
                log(f"== node agent, {key}: {Path(profile).stem}, {args.seconds:.0f} s")
                results[key] = r = run_agent(broker.url, work, profile, args.seconds, node_id,
                                             start)
                log(f"  RSS max {r['rss_max_mb']} MB, CPU {r['cpu_pct_of_one_core']} % of one "
                    f"core; messages {r['messages_seen']}; exit {r['exit_on_sigterm']}")
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2))
    log(f"results: {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
