"""`roshni demo`: Mosquitto, InfluxDB, the hub and simulated lamp posts on one machine.

The broker and InfluxDB are started here unless ROSHNI_MQTT__URL / ROSHNI_INFLUX__URL
point at running ones (DESIGN.md §8). Nodes run as real `roshni node run --simulate`
processes, so what the demo shows is what a street would send.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from hub.supervise import HubProcess, Influxd, Mosquitto, NodeProcess, Service, free_port

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoNode:
    id: str
    district: str
    area: str
    lat: float
    lon: float
    scenario: str
    rated_w: float = 60.0


# Real neighbourhoods, made-up poles. One of each kind of trouble, the rest healthy.
STREET = [
    DemoNode("khi-kor-0001", "korangi", "Korangi 5", 24.8315, 67.1311, "default"),
    DemoNode("khi-kor-0002", "korangi", "Korangi 5", 24.8321, 67.1322, "lamp-fails"),
    DemoNode("khi-mal-0001", "malir", "Model Colony", 24.8842, 67.1781, "default"),
    DemoNode("khi-mal-0002", "malir", "Model Colony", 24.8851, 67.1790, "flicker"),
    DemoNode("khi-sou-0001", "south", "Saddar", 24.8560, 67.0270, "default"),
    DemoNode("khi-sou-0002", "south", "Saddar", 24.8566, 67.0281, "low-power"),
    DemoNode("khi-eas-0001", "east", "Gulshan-e-Iqbal", 24.9214, 67.0935, "default"),
    DemoNode("khi-eas-0002", "east", "Gulshan-e-Iqbal", 24.9220, 67.0944, "day-burner"),
    DemoNode("khi-wes-0001", "west", "Orangi", 24.9500, 66.9900, "default"),
    DemoNode("khi-wes-0002", "west", "Orangi", 24.9507, 66.9911, "tamper"),
]


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def _stored(hub: HubProcess) -> tuple[int, int]:
    """(readings stored, spool depth) from the hub's own metrics."""
    with urllib.request.urlopen(f"{hub.url}/metrics", timeout=5) as r:
        text = r.read().decode()
    values = {}
    for line in text.splitlines():
        if line.startswith(("roshni_readings_stored_total ", "roshni_spool_depth ")):
            name, _, value = line.partition(" ")
            values[name] = int(float(value))
    return values.get("roshni_readings_stored_total", 0), values.get("roshni_spool_depth", 0)


def run_demo(*, nodes: int, port: int, data_dir: Path, duration: float) -> int:
    from hub.db import make_engine, migrate
    from hub.registry import provision

    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    services: list[Service] = []
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())

    try:
        mqtt_url = os.environ.get("ROSHNI_MQTT__URL")
        if not mqtt_url:
            broker = Mosquitto(data_dir / "mosquitto")
            broker.start()
            services.append(broker)
            mqtt_url = broker.url
        influx_url = os.environ.get("ROSHNI_INFLUX__URL")
        if not influx_url:
            influx = Influxd(data_dir / "influxd")
            influx.start()
            services.append(influx)
            influx_url = influx.url

        hub_dir = data_dir / "hub"
        db_url = f"sqlite:///{hub_dir / 'data' / 'hub.db'}"
        (hub_dir / "data").mkdir(parents=True, exist_ok=True)
        migrate(db_url)
        engine = make_engine(db_url)
        street = [STREET[i % len(STREET)] for i in range(nodes)]
        street = [n if i < len(STREET) else DemoNode(
            f"{n.id}-{i // len(STREET)}", n.district, n.area, n.lat + 0.001 * i, n.lon,
            n.scenario) for i, n in enumerate(street)]
        for n in street:
            provision(engine, n.id, district=n.district, area=n.area, lat=n.lat, lon=n.lon,
                      rated_w=n.rated_w, profile="pi-zero-2w")
        logins = _demo_users(engine)
        engine.dispose()

        if not _port_free(port):
            new_port = free_port()
            print(f"port {port} is busy; using {new_port}")
            port = new_port
        hub = HubProcess(hub_dir, {"ROSHNI_MQTT__URL": mqtt_url,
                                   "ROSHNI_INFLUX__URL": influx_url}, port=port)
        hub.start()
        services.append(hub)

        for n in street:
            node = NodeProcess(data_dir / "nodes" / n.id, {
                "ROSHNI_NODE__ID": n.id, "ROSHNI_MQTT__URL": mqtt_url,
                "ROSHNI_NODE__LAT": str(n.lat), "ROSHNI_NODE__LON": str(n.lon),
                "ROSHNI_NODE__INTERVAL_S": os.environ.get("ROSHNI_NODE__INTERVAL_S", "10"),
            }, scenario=n.scenario)
            node.start()
            services.append(node)

        print(_banner(hub, mqtt_url, influx_url, street, data_dir, logins), flush=True)
        t0 = time.monotonic()
        while not stop.wait(10 if duration == 0 else min(10, max(0.1, duration / 4))):
            stored, depth = _stored(hub)
            alive = sum(1 for s in services if isinstance(s, NodeProcess) and s.running)
            print(f"[{time.strftime('%H:%M:%S')}] {stored} readings stored, "
                  f"{depth} waiting in the spool, {alive}/{len(street)} nodes running",
                  flush=True)
            if duration and time.monotonic() - t0 >= duration:
                break
        stored, _ = _stored(hub)
        print(json.dumps({"demo": "finished", "readings_stored": stored,
                          "nodes": len(street)}), flush=True)
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        print("stopping the demo…", flush=True)
        for svc in reversed(services):
            svc.close()


# One login per kind of user; the password is printed with the demo's URL.
DEMO_PASSWORD = "roshni-demo"
DEMO_USERS = [
    ("admin", "admin", None, ()),
    ("technician", "technician", None, ()),
    ("committee-korangi", "committee", None, ("Korangi 5",)),
    ("crew-korangi", "crew", "korangi", ()),
    ("committee-malir-ur", "committee", None, ("Model Colony",)),
]


def _demo_users(engine) -> list[str]:  # type: ignore[no-untyped-def]
    from hub.auth.users import UserError, create_user
    from hub.db import writing

    logins = []
    for name, role, district, areas in DEMO_USERS:
        try:
            with writing(engine) as conn:
                # development: the demo's one shared password, printed on its console
                create_user(conn, name, role=role, password=DEMO_PASSWORD, district=district,
                            areas=areas, language="ur" if name.endswith("-ur") else "en",
                            development=True)
        except UserError:
            pass  # kept from an earlier demo run in the same data directory
        scope = ", ".join([role, *([district] if district else []), *areas])
        logins.append(f"{name} / {DEMO_PASSWORD}  ({scope})")
    return logins


def _banner(hub: HubProcess, mqtt_url: str, influx_url: str, street: list[DemoNode],
            data_dir: Path, logins: list[str]) -> str:
    kinds = ", ".join(sorted({n.scenario for n in street}))
    users = "\n".join(f"                    {line}" for line in logins)
    return f"""
Roshni demo is running — {len(street)} simulated lamp posts ({kinds})

  Dashboard         {hub.url}/
  Logins            (user / password)
{users}
  Hub API           {hub.url}/docs
  Health, metrics   {hub.url}/healthz   {hub.url}/metrics
  MQTT broker       {mqtt_url}
  InfluxDB          {influx_url}   database "roshni", e.g.
                    curl -G {influx_url}/query --data-urlencode db=roshni \\
                         --data-urlencode "q=SELECT * FROM reading ORDER BY time DESC LIMIT 5"
  Rejected messages roshni hub dead-letters   (with ROSHNI_DATA_DIR={hub.workdir / 'data'})
  Everything lives under {data_dir}

Press Ctrl-C to stop.
"""
