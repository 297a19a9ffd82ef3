"""`roshni demo` — the README's first command — brings everything up on its own."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.parse
import urllib.request

from hub.supervise import free_port
from tests.support import get_json, wait_for


def test_demo_starts_broker_influx_hub_nodes_and_prints_working_logins(tmp_path):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "roshni_cli", "demo", "--nodes", "3", "--port", str(port),
         "--duration", "30", "--data-dir", str(tmp_path / "demo")],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**__import__("os").environ, "ROSHNI_NODE__INTERVAL_S": "1"})
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
        out, _ = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    assert f"Dashboard         http://127.0.0.1:{port}/" in out
    assert "crew-korangi / roshni-demo" in out
    summary = json.loads(next(line for line in out.splitlines() if line.startswith('{"demo"')))
    assert summary["readings_stored"] > 0
