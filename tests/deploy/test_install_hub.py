"""deploy/install-hub.sh, unattended, on a fresh Debian 12 (a debootstrap chroot): the hub
it installs answers /healthz connected to its broker, a node provisioned there reaches
InfluxDB over TLS through the installed accounts, and a second run changes nothing that
matters."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import ssl
import subprocess
import time
import tomllib
import urllib.parse
import urllib.request
from base64 import b64encode

import paho.mqtt.client as mqtt
import pytest

from hub.supervise import free_port
from tests.deploy import units
from tests.deploy.chroot import Chroot
from tests.support import get_json, wait_for

NODE = "khi-kor-0042"
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


def _owner(c: Chroot, path: str) -> tuple[str, str, int]:
    """(user, group, mode) of a file in the chroot, names from the chroot's own databases."""
    st = c.path(path).stat()
    users = {int(f[2]): f[0] for f in _db(c, "/etc/passwd")}
    groups = {int(f[2]): f[0] for f in _db(c, "/etc/group")}
    return users[st.st_uid], groups[st.st_gid], st.st_mode & 0o7777


def _db(c: Chroot, path: str) -> list[list[str]]:
    return [line.split(":") for line in c.path(path).read_text().splitlines() if line]


def _start(c: Chroot, unit: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    """Start a service inside the chroot the way its installed unit says."""
    plan = units.plan(c.root, unit)
    for argv in plan.pre:
        c.run(argv, env=plan.env)
    return c.spawn(plan.start, env={**plan.env, **(env or {})}, cwd=plan.cwd,
                   log_name=unit.removesuffix(".service"))


def _snapshot(c: Chroot, paths: list[str]) -> dict[str, str]:
    return {p: hashlib.sha256(c.path(p).read_bytes()).hexdigest() for p in paths}


def _influx(url: str, q: str, user: str | None = None, password: str = "",
            method: str = "GET") -> tuple[int, dict]:
    data = urllib.parse.urlencode({"db": "roshni", "q": q, "epoch": "s"})
    req = urllib.request.Request(f"{url}/query?{data}", method=method)
    if user:
        req.add_header("Authorization", "Basic " + b64encode(f"{user}:{password}".encode())
                       .decode())
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def test_install_hub_on_fresh_debian(fresh_debian: Chroot) -> None:
    c = fresh_debian
    mqtt_port, mqtts_port, influx_port, rpc_port, http_port = (free_port() for _ in range(5))
    while len({mqtt_port, mqtts_port, influx_port, rpc_port, http_port}) < 5:
        rpc_port = free_port()
    install = ["/root/roshni/deploy/install-hub.sh", "--hostname", "roshni-hub.test",
               "--ip", "127.0.0.1", "--influx-port", str(influx_port),
               "--influx-rpc-port", str(rpc_port)]

    started = time.monotonic()
    first = c.run(install, timeout=1500)
    first_s = time.monotonic() - started
    # Not PID 1 here: the units are enabled, not started, and the script says how.
    assert "systemctl start" in first.stdout
    for unit in ("roshni-hub", "mosquitto", "influxdb"):
        assert c.path(f"/etc/systemd/system/multi-user.target.wants/{unit}.service").is_symlink()

    # Users, files and modes as the units and the broker need them.
    assert _owner(c, "/etc/roshni/hub.toml") == ("root", "roshni", 0o640)
    assert _owner(c, "/etc/roshni/influxdb-admin.env") == ("root", "root", 0o600)
    assert _owner(c, "/var/lib/roshni") == ("roshni", "roshni", 0o750)
    assert _owner(c, "/var/lib/roshni/hub.db")[0] == "roshni"
    assert _owner(c, "/etc/mosquitto/roshni.passwd") == ("root", "mosquitto", 0o640)
    assert _owner(c, "/etc/mosquitto/certs/broker.key") == ("root", "mosquitto", 0o640)
    assert _owner(c, "/etc/mosquitto/certs/ca.key") == ("root", "root", 0o600)
    hub_toml = c.path("/etc/roshni/hub.toml").read_text()
    cfg = tomllib.loads(hub_toml)
    hub_password = re.match(r"mqtt://roshni-hub:([^@]+)@", cfg["mqtt"]["url"]).group(1)
    assert "change-me" not in hub_toml and len(cfg["auth"]["secret_key"]) >= 32
    assert cfg["broker"]["node_url"] == "mqtts://roshni-hub.test:8883"
    passwd = c.path("/etc/mosquitto/roshni.passwd").read_text()
    assert passwd.startswith("roshni-hub:$7$") and hub_password not in passwd
    assert "\nroshni-hub-cmd:$7$" in passwd, "the hub's command sender has no account"
    hub_unit = units.load(c.root, "roshni-hub.service")
    assert hub_unit.one("Service", "User") == "roshni"
    assert c.path(hub_unit.get("Service", "ExecStart")[0].split()[0]).exists()
    analyze = shutil.which("systemd-analyze")
    if analyze:
        done = subprocess.run([analyze, "verify", f"--root={c.root}", "roshni-hub.service"],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0 and not done.stderr.strip(), done.stderr

    # A test machine's ports: the broker's two listeners move to free ports on loopback.
    conf = c.path("/etc/mosquitto/conf.d/roshni.conf")
    text, n = re.subn(r"^listener 8883$", f"listener {mqtts_port} 127.0.0.1",
                      conf.read_text(), flags=re.M)
    text, m = re.subn(r"^listener 1883 127\.0\.0\.1$", f"listener {mqtt_port} 127.0.0.1",
                      text, flags=re.M)
    assert n == m == 1
    conf.write_text(text)
    hub_env = {"ROSHNI_MQTT__URL": cfg["mqtt"]["url"].replace(":1883", f":{mqtt_port}"),
               "ROSHNI_HTTP__PORT": str(http_port)}

    _start(c, "mosquitto.service")
    _start(c, "influxdb.service")
    hub = _start(c, "roshni-hub.service", hub_env)
    health = wait_for(lambda: (s := get_json(f"http://127.0.0.1:{http_port}/healthz"))[0] == 200
                      and s[1], timeout=120, what="the installed hub's /healthz")
    assert health["mqtt"] == "connected", health
    assert hub.poll() is None

    # An operator provisions a node as root; the broker is told by SIGHUP (pid file).
    out = c.run(["roshni", "provision", NODE, "--district", "korangi", "--area", "Korangi 5",
                 "--lat", "24.8315", "--lon", "67.1311", "--config", "/etc/roshni/hub.toml"])
    assert "reloaded" in out.stdout, out.stdout
    bundle = c.path(f"/var/lib/roshni/bundles/{NODE}")
    node_cfg = tomllib.loads((bundle / "node.toml").read_text())
    node_password = urllib.parse.unquote(
        re.match(rf"mqtts://{NODE}:([^@]+)@", node_cfg["mqtt"]["url"]).group(1))

    # The node publishes over TLS with its own credentials; the hub stores the reading in
    # InfluxDB with its own account and the registry's tags.
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=NODE)
    client.username_pw_set(NODE, node_password)
    client.tls_set(ca_certs=str(bundle / "ca.crt"), tls_version=ssl.PROTOCOL_TLS_CLIENT)
    wait_for(lambda: client.connect("127.0.0.1", mqtts_port) == 0 or None, timeout=30,
             what="the node's TLS connection")
    client.loop_start()
    try:
        msg = {"v": 1, "node": NODE, "seq": 1, "ts": time.time(), "interval_s": 60,
               "lamp_on": True, "lux": 2.5, "footfall": 4}
        info = client.publish(f"roshni/v1/{NODE}/reading", json.dumps(msg), qos=1)
        info.wait_for_publish(30)
        assert info.is_published()
    finally:
        client.loop_stop()
        client.disconnect()
    influx_url = f"http://127.0.0.1:{influx_port}"
    user, password = cfg["influx"]["username"], cfg["influx"]["password"]

    def stored():  # type: ignore[no-untyped-def]
        status, body = _influx(influx_url, "SELECT footfall, district FROM reading", user,
                               password)
        series = body.get("results", [{}])[0].get("series")
        return series and series[0]["values"]

    values = wait_for(stored, timeout=60, what="the node's reading in InfluxDB")
    assert values[0][1:] == [4, "korangi"]
    # InfluxDB has authentication on: without the hub's account nothing is read.
    status, _ = _influx(influx_url, "SELECT * FROM reading")
    assert status == 401

    # Second run: succeeds, and keeps every setting, secret, certificate and account.
    kept = ["/etc/roshni/hub.toml", "/etc/roshni/influxdb-admin.env",
            "/etc/mosquitto/roshni.passwd", "/etc/mosquitto/certs/ca.crt",
            "/etc/mosquitto/certs/ca.key", "/etc/mosquitto/certs/broker.crt",
            "/etc/mosquitto/certs/broker.key", "/etc/default/influxdb",
            "/etc/systemd/system/roshni-hub.service"]
    before = _snapshot(c, kept)
    started = time.monotonic()
    c.run(install, timeout=900)
    second_s = time.monotonic() - started
    assert _snapshot(c, kept) == before
    assert stored()  # the hub's InfluxDB password is still the one in hub.toml
    # The hub still runs from the reinstalled venv, with the node in its database.
    units_dir = c.path("/etc/systemd/system")
    assert sorted(p.name for p in units_dir.glob("roshni-*.service")) == [
        "roshni-hub.service", "roshni-hub@.service"]
    hub.terminate()
    hub.wait(30)
    hub = _start(c, "roshni-hub.service", hub_env)
    wait_for(lambda: get_json(f"http://127.0.0.1:{http_port}/healthz")[0] == 200,
             timeout=120, what="the hub after the second install")
    out = c.run(["roshni", "provision", NODE, "--district", "korangi", "--area", "Korangi 5",
                 "--lat", "24.8315", "--lon", "67.1311", "--config", "/etc/roshni/hub.toml"])
    assert "credentials kept" in out.stdout

    # Backup and restore as the operator (root) does it on the installed hub: the restored
    # database belongs to the hub's user again, and the hub starts on it.
    config = ["--config", "/etc/roshni/hub.toml"]
    c.run(["roshni", "hub", "backup", "/root/hub-backup.db", *config])
    hub.terminate()
    hub.wait(30)
    for suffix in ("", "-wal", "-shm"):
        c.path(f"/var/lib/roshni/hub.db{suffix}").unlink(missing_ok=True)
    c.run(["roshni", "hub", "restore", "/root/hub-backup.db", *config])
    assert _owner(c, "/var/lib/roshni/hub.db")[:2] == ("roshni", "roshni")
    _start(c, "roshni-hub.service", hub_env)
    wait_for(lambda: get_json(f"http://127.0.0.1:{http_port}/healthz")[0] == 200,
             timeout=120, what="the hub on the restored database")
    out = c.run(["roshni", "provision", NODE, "--district", "korangi", "--area", "Korangi 5",
                 "--lat", "24.8315", "--lon", "67.1311", *config])
    assert "credentials kept" in out.stdout  # the node is known, its password unchanged
    print(f"\ninstall-hub.sh on a fresh Debian: first run {first_s:.0f} s, "
          f"second run {second_s:.0f} s")
