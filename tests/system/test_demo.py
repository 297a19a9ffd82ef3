"""`roshni demo` — the README's first command — brings everything up on its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.parse
import urllib.request

from hub.supervise import free_port
from tests.support import get_json, wait_for

# Every kind of trouble the README promises from the demo, and a repair the sensor verified.
EVERY_FAULT = {"lamp_out", "area_power_cut", "flicker", "low_power", "day_burner", "tamper",
               "node_offline"}


def test_demo_starts_everything_prints_working_logins_and_shows_every_fault(tmp_path):
    """At 240x the demo's night reaches 19:30 on the street (after the power cut, the
    offline post and the verified repair) about 40 s after it starts, whatever the time of
    day the test runs: the night it plays is a past one, judged in event time."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROSHNI_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "roshni_cli", "demo", "--port", str(port), "--speed", "240",
         "--duration", "60", "--data-dir", str(tmp_path / "demo")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: get_json(f"{base}/healthz")[0] == 200, timeout=60,
                 what="the demo hub to be healthy")
        with urllib.request.urlopen(f"{base}/", timeout=10) as r:
            assert r.status == 200 and "text/html" in r.headers["content-type"]
        form = urllib.parse.urlencode({"username": "crew-korangi",
                                       "password": "roshni-demo"}).encode()
        with urllib.request.urlopen(f"{base}/api/v1/auth/token", data=form, timeout=10) as r:
            assert json.loads(r.read())["access_token"]
        out, _ = proc.communicate(timeout=150)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    assert f"Dashboard         http://127.0.0.1:{port}/" in out
    assert "crew-korangi / roshni-demo" in out
    summary = json.loads(next(line for line in out.splitlines() if line.startswith('{"demo"')))
    assert summary["readings_stored"] > 0 and summary["nodes"] == 10
    raised = {rule for rule, n in summary["alerts"].items() if n}
    assert EVERY_FAULT <= raised, out
    assert summary["alerts"]["verified_tickets"] >= 1, out
    assert "crew-korangi marked ticket" in out
