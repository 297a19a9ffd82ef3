"""`roshni demo`: Mosquitto, InfluxDB, the hub and simulated lamp posts on one machine.

The broker and InfluxDB are started here unless ROSHNI_MQTT__URL / ROSHNI_INFLUX__URL
point at running ones (DESIGN.md §8). Nodes run as real `roshni node run --simulate`
processes, so what the demo shows is what a street would send.
"""

from __future__ import annotations

import datetime as dt
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
from zoneinfo import ZoneInfo

from hub.db import writing
from hub.supervise import HubProcess, Influxd, Mosquitto, NodeProcess, Service, free_port

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoNode:
    id: str
    district: str
    area: str
    lat: float
    lon: float
    scenario: str  # a scenario of node/sim/scenarios, or one of DEMO_SCENARIOS
    shows: str = "a healthy lamp"
    rated_w: float = 60.0


# Scenarios of the demo's own night (Karachi local times of its first evening; the
# simulation starts at 16:15, in daylight, see `night_start`).
DEMO_SCENARIOS = {
    "demo-lamp-fails": """description = "Dark from 18:30; the crew replaces the lamp at 18:55."
[lamp]
fails_at = "18:30"
repaired_at = "18:55"
""",
    "demo-power-cut": """description = "Load-shedding in Orangi from 19:00 to 19:40."
[mains]
cut_from = "19:00"
cut_until = "19:40"
""",
    "demo-tamper-power-cut": """description = "The enclosure is opened at 16:55 (and closed at \
17:05); the load-shedding of its area from 19:00 to 19:40."
[tamper]
opens_at = "16:55"
closes_at = "17:05"
[mains]
cut_from = "19:00"
cut_until = "19:40"
""",
}

# Ten real neighbourhoods' posts (made-up poles) in five districts, each showing one thing.
STREET = [
    DemoNode("khi-kor-0001", "korangi", "Korangi 5", 24.8315, 67.1311, "default"),
    DemoNode("khi-kor-0002", "korangi", "Korangi 5", 24.8321, 67.1322, "demo-lamp-fails",
             "lamp out at 18:30, ticket to the crew, repaired, verified by the sensor"),
    DemoNode("khi-mal-0001", "malir", "Model Colony", 24.8842, 67.1781, "default"),
    DemoNode("khi-mal-0002", "malir", "Model Colony", 24.8851, 67.1790, "flicker",
             "a flickering lamp"),
    DemoNode("khi-sou-0001", "south", "Saddar", 24.8566, 67.0281, "low-power",
             "a lamp drawing 40 % of its power"),
    DemoNode("khi-eas-0001", "east", "Gulshan-e-Iqbal", 24.9214, 67.0935, "default",
             "goes offline at 19:10 (the demo stops it), back at 19:50"),
    DemoNode("khi-eas-0002", "east", "Gulshan-e-Iqbal", 24.9220, 67.0944, "day-burner",
             "a day burner"),
    DemoNode("khi-wes-0001", "west", "Orangi", 24.9500, 66.9900, "demo-power-cut",
             "load-shedding of Orangi, 19:00-19:40"),
    DemoNode("khi-wes-0002", "west", "Orangi", 24.9507, 66.9911, "demo-tamper-power-cut",
             "a tamper switch at 16:55, and the load-shedding"),
    DemoNode("khi-wes-0003", "west", "Orangi", 24.9513, 66.9902, "demo-power-cut",
             "load-shedding of Orangi, 19:00-19:40"),
]
KARACHI = ZoneInfo("Asia/Karachi")
# The simulated night starts here: in daylight long enough (sun above 6 degrees until
# about 17:05 in December) for the day burner to show, even after a slow start.
EVENING = (16, 15)
OFFLINE_NODE, OFFLINE_FROM, OFFLINE_UNTIL = "khi-eas-0001", (19, 10), (19, 50)
REPAIRED_NODE, CREW, CREW_AT = "khi-kor-0002", "crew-korangi", (18, 52)
MORNING = (8, 0)  # next day: the simulated night is over, the demo goes on in real time
# Rules for a night played fast: the day burner is found within its first simulated hour,
# and the past night is judged as lived although a fresh hub's clock is a day ahead of it.
DEMO_RULES = {"ROSHNI_RULES__DAY_BURNER_DWELL_S": "600",
              "ROSHNI_RULES__FRESH_CLOCK_FROM_WALL": "false"}


def night_start(now: float) -> float:
    """The evening the demo plays: the latest 16:15 in Karachi at least a day ago, so that
    a night played fast stays behind the real clock (readings from the future would be
    clock faults) and is judged as it happened, in event time."""
    local = dt.datetime.fromtimestamp(now, KARACHI) - dt.timedelta(days=1)
    evening = local.replace(hour=EVENING[0], minute=EVENING[1], second=0, microsecond=0)
    if evening > local:
        evening -= dt.timedelta(days=1)
    return evening.timestamp()


def _local(start: float, hm: tuple[int, int], *, next_day: bool = False) -> float:
    day = dt.datetime.fromtimestamp(start, KARACHI) + dt.timedelta(days=int(next_day))
    return day.replace(hour=hm[0], minute=hm[1], second=0, microsecond=0).timestamp()


class SimClock:
    """The demo's simulated time: `start` at the moment the nodes started, `speed` times
    faster than the wall clock."""

    def __init__(self, start: float, speed: float) -> None:
        self.start, self.speed, self.wall0 = start, speed, time.time()

    def now(self) -> float:
        return self.start + (time.time() - self.wall0) * self.speed

    def wall_at(self, t: float) -> float:
        return self.wall0 + (t - self.start) / self.speed


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


def run_demo(*, nodes: int, port: int, data_dir: Path, duration: float,
             speed: float = 60.0) -> int:
    from hub.db import make_engine, migrate
    from hub.models import Node
    from hub.registry import provision

    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    services: list[Service] = []
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    fast = speed != 1.0

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
            n.scenario, n.shows) for i, n in enumerate(street)]
        start = night_start(time.time()) if fast else time.time()
        for n in street:
            provision(engine, n.id, district=n.district, area=n.area, lat=n.lat, lon=n.lon,
                      rated_w=n.rated_w, profile="pi-zero-2w")
        if fast:
            # Installed before the night it plays: its readings are not clock faults.
            with writing(engine) as conn:
                conn.execute(Node.__table__.update().where(Node.id.in_([n.id for n in street]))
                             .values(provisioned_at=start - 86400))
        logins = _demo_users(engine)
        scenarios = _write_scenarios(data_dir / "scenarios")

        if not _port_free(port):
            new_port = free_port()
            print(f"port {port} is busy; using {new_port}")
            port = new_port
        hub = HubProcess(hub_dir, {"ROSHNI_MQTT__URL": mqtt_url,
                                   "ROSHNI_INFLUX__URL": influx_url,
                                   **(DEMO_RULES if fast else {})}, port=port)
        hub.start()
        services.append(hub)

        clock = SimClock(start, speed)
        posts: dict[str, NodeProcess] = {}

        def start_node(n: DemoNode, *, real_time: bool) -> None:
            env = {"ROSHNI_NODE__ID": n.id, "ROSHNI_MQTT__URL": mqtt_url,
                   "ROSHNI_NODE__LAT": str(n.lat), "ROSHNI_NODE__LON": str(n.lon),
                   "ROSHNI_NODE__INTERVAL_S": os.environ.get(
                       "ROSHNI_NODE__INTERVAL_S", "10" if real_time else "60")}
            if not real_time:
                # One street clock for every post, however long each takes to boot.
                env |= {"ROSHNI_SIM__START": repr(clock.start),
                        "ROSHNI_SIM__START_WALL": repr(clock.wall0),
                        "ROSHNI_SIM__SPEED": repr(speed)}
            scenario = scenarios.get(n.scenario, n.scenario)
            node = NodeProcess(data_dir / "nodes" / n.id, env,
                               scenario="default" if real_time and fast else scenario)
            node.start()
            posts[n.id] = node

        for n in street:
            start_node(n, real_time=not fast)
        print(_banner(hub, mqtt_url, influx_url, street, data_dir, logins, clock if fast
                      else None), flush=True)
        director = Director(engine, clock, street, start_node, posts) if fast else None
        t0 = last_report = time.monotonic()
        while not stop.wait(0.5):
            if director is not None:
                director.step()
            if time.monotonic() - last_report >= (10 if not duration else
                                                   min(10, max(0.5, duration / 4))):
                last_report = time.monotonic()
                print(_progress(hub, engine, posts, clock if fast else None), flush=True)
            if duration and time.monotonic() - t0 >= duration:
                break
        stored, _ = _stored(hub)
        print(json.dumps({"demo": "finished", "readings_stored": stored,
                          "nodes": len(street), "alerts": _open_rules(engine)}), flush=True)
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        print("stopping the demo…", flush=True)
        nodes = list(locals().get("posts", {}).values())
        for node in nodes:  # all at once: each hands over its spool before it exits
            if node.proc is not None and node.running:
                node.proc.send_signal(node.stop_signal)
        for node in nodes:
            node.close()
        for svc in reversed(services):
            svc.close()


class Director:
    """What happens on the demo's night besides the scenarios: a node that goes offline and
    comes back, the crew that replaces the dark lamp, and morning, after which the posts
    report in real time."""

    def __init__(self, engine, clock: SimClock, street: list[DemoNode],  # type: ignore[no-untyped-def]
                 start_node, posts: dict[str, NodeProcess]) -> None:
        self.engine, self.clock, self.street = engine, clock, street
        self.start_node, self.posts = start_node, posts
        start = clock.start
        self.offline = (_local(start, OFFLINE_FROM), _local(start, OFFLINE_UNTIL))
        self.crew_at = _local(start, CREW_AT)
        self.morning = _local(start, MORNING, next_day=True)
        self.done: set[str] = set()

    def step(self) -> None:
        now = self.clock.now()
        ids = {n.id for n in self.street}
        if OFFLINE_NODE in ids and now >= self.offline[0] and "offline" not in self.done:
            self.done.add("offline")
            print(f"[demo] {OFFLINE_NODE} loses its power supply and falls silent",
                  flush=True)
            self.posts[OFFLINE_NODE].kill()
        if "offline" in self.done and now >= self.offline[1] and "back" not in self.done:
            self.done.add("back")
            print(f"[demo] {OFFLINE_NODE} is back", flush=True)
            self.start_node(self._node(OFFLINE_NODE), real_time=False)
        if REPAIRED_NODE in ids and now >= self.crew_at and "crew" not in self.done:
            if self._crew_repairs(now):
                self.done.add("crew")
        if now >= self.morning and "morning" not in self.done:
            self.done.add("morning")
            print("[demo] the night is over: the posts go on in real time", flush=True)
            for n in self.street:
                self.posts[n.id].close()
                self.start_node(n, real_time=True)

    def _node(self, node_id: str) -> DemoNode:
        return next(n for n in self.street if n.id == node_id)

    def _crew_repairs(self, now: float) -> bool:
        """The crew takes the dark lamp's ticket and marks it fixed; the sensor verifies."""
        from sqlalchemy import select

        from hub import tickets
        from hub.models import Ticket

        with writing(self.engine) as conn:
            row = conn.execute(select(Ticket.id, Ticket.status).where(
                Ticket.node_id == REPAIRED_NODE, Ticket.fault == "lamp_out",
                Ticket.status.in_(tickets.OUTSTANDING))).first()
            if row is None:
                return False
            ticket_id, status = row
            if status != tickets.IN_PROGRESS:
                tickets.transition(conn, ticket_id, tickets.IN_PROGRESS, CREW,
                                   "On our way with a new lamp.", at=now - 600)
            tickets.transition(conn, ticket_id, tickets.FIXED, CREW,
                               "Replaced the lamp and its fuse.", at=now)
        print(f"[demo] {CREW} marked ticket {ticket_id} fixed; the sensor will verify it",
              flush=True)
        return True


def _write_scenarios(folder: Path) -> dict[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, text in DEMO_SCENARIOS.items():
        path = folder / f"{name}.toml"
        path.write_text(text, encoding="utf-8")
        paths[name] = str(path)
    return paths


def _open_rules(engine) -> dict[str, int]:  # type: ignore[no-untyped-def]
    """Every alert raised so far, by rule, and the tickets the sensor verified."""
    from sqlalchemy import func, select

    from hub.models import Alert, Ticket

    with engine.connect() as conn:
        counts = dict(conn.execute(select(Alert.rule, func.count()).group_by(Alert.rule)).all())
        counts["verified_tickets"] = conn.execute(select(func.count()).select_from(Ticket)
                                                  .where(Ticket.status == "verified")).scalar()
    return {k: int(v) for k, v in counts.items()}


def _progress(hub: HubProcess, engine, posts: dict[str, NodeProcess],  # type: ignore[no-untyped-def]
              clock: SimClock | None) -> str:
    stored, depth = _stored(hub)
    alive = sum(1 for p in posts.values() if p.running)
    street = ""
    if clock is not None:
        street = dt.datetime.fromtimestamp(clock.now(), KARACHI).strftime(" — street %a %H:%M")
    found = ", ".join(f"{rule} {n}" for rule, n in sorted(_open_rules(engine).items()) if n)
    return (f"[{time.strftime('%H:%M:%S')}{street}] {stored} readings stored, {depth} waiting "
            f"in the spool, {alive}/{len(posts)} posts running; so far: {found or 'nothing'}")


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
            data_dir: Path, logins: list[str], clock: SimClock | None) -> str:
    users = "\n".join(f"                    {line}" for line in logins)
    posts = "\n".join(f"                    {n.id}  {n.area:<16} {n.shows}" for n in street)
    if clock is not None:
        evening = dt.datetime.fromtimestamp(clock.start, KARACHI).strftime("%a %d %b, %H:%M")
        when = (f"The night from {evening} (Karachi) plays {clock.speed:g}x as fast: a "
                "minute is an hour on the street,\nand every kind of fault shows within "
                "five minutes. After the simulated morning the posts report in real time.")
    else:
        when = "The posts report in real time."
    return f"""
Roshni demo is running — {len(street)} simulated lamp posts
{when}

  Posts
{posts}

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
