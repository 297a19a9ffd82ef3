"""Detection end to end: a neighbourhood of nodes publishing a night of readings over real
Mosquitto into the hub as a real process (InfluxDB behind it), and what the committee, the
crew and the technicians would get, read from the hub's database and /metrics
(DESIGN.md §6).

Readings carry event times from last night in Karachi, a minute apart, published as fast
as the broker takes them: a night passes in seconds, and the hub must judge it exactly as
if it had been lived.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, create_engine, select, update

from hub import alerts, tickets
from hub.db import make_engine, writing
from hub.models import Node, NodeSeq, Outbox
from hub.supervise import HubProcess, Influxd, Mosquitto, _roshni
from tests.support import Publisher, metrics, wait_for, wait_judged

KARACHI = ZoneInfo("Asia/Karachi")
AREA, AREA_ID, DISTRICT = "Korangi 5", "korangi-5", "korangi"
# Dark on a quiet lane (nobody passes): the unsafe-spot score, which raises a dark lamp's
# priority once it shows a busy path, stays out of these tests.
DARK = {"lamp_on": False, "lamp_w": 0.3, "footfall": 0}
Fields = Callable[[float], dict[str, Any]]

HUB_TOML = """\
[[notify.subscribers]]
name = "k5-committee"
channel = "webhook"
url = "http://127.0.0.1:9/unreachable"
secret = "korangi-5-committee-secret"
audience = ["committee"]
areas = ["Korangi 5"]
digest = false

[[notify.subscribers]]
name = "korangi-crew"
channel = "webhook"
url = "http://127.0.0.1:9/unreachable"
secret = "korangi-depot-secret-000"
audience = ["crew"]
districts = ["korangi"]

[[notify.subscribers]]
name = "technicians"
channel = "webhook"
url = "http://127.0.0.1:9/unreachable"
secret = "technicians-secret-00000"
audience = ["technician"]

[notify]
retry_initial_s = 600
retry_max_s = 3600
"""


def last_night() -> dt.date:
    """The date of the most recent evening whose night (to 07:00) is over."""
    now = dt.datetime.now(KARACHI)
    return now.date() - dt.timedelta(days=1 if now.hour >= 7 else 2)


def local(day: dt.date, hh: int, mm: int = 0) -> float:
    base = dt.datetime.combine(day, dt.time(0, 0), KARACHI)
    return (base + dt.timedelta(hours=hh, minutes=mm)).timestamp()


class Street:
    """One neighbourhood: its nodes, the hub they report to, and what the hub decided."""

    def __init__(self, broker: Mosquitto, hub: HubProcess, nodes: list[str]) -> None:
        self.broker = broker
        self.hub = hub
        self.nodes = nodes
        self.seq = dict.fromkeys(nodes, 0)
        self.pub = Publisher(broker.host, broker.port, client_id="street")
        self.db: Engine = make_engine(f"sqlite:///{hub.workdir / 'data' / 'hub.db'}")

    def close(self) -> None:
        self.pub.close()
        self.db.dispose()

    # --- the street ---

    def reading(self, node: str, t: float, **fields: Any) -> None:
        self.seq[node] += 1
        self.pub.send(f"roshni/v1/{node}/reading", {
            "v": 1, "node": node, "seq": self.seq[node], "ts": t, "interval_s": 60,
            "lamp_on": True, "lamp_w": 58.0, "mains_v": 230.0, "lux": 14.0, "footfall": 3,
            **fields})

    def status(self, node: str, state: str, session: int) -> None:
        body: dict[str, Any] = {"v": 1, "state": state, "session": session}
        body.update({"reason": "lost"} if state == "offline" else {"fw": "1.0"})
        self.pub.send(f"roshni/v1/{node}/status", body, retain=True)

    def minutes(self, start: float, end: float, silent: tuple[str, ...] = (),
                **per_node: Fields) -> None:
        """Every node (but the silent) reads once a minute from `start` to `end`."""
        t = start
        while t <= end:
            for node in self.nodes:
                if node not in silent:
                    f = per_node.get(node.replace("-", "_"))
                    self.reading(node, t, **(f(t) if f else {}))
            t += 60

    def settle(self) -> None:
        """Wait until the hub has stored and judged every reading published."""
        def stored() -> dict[str, int]:
            with self.db.connect() as conn:
                return dict(conn.execute(select(NodeSeq.node_id, NodeSeq.max_seq)
                                         .where(NodeSeq.kind == "reading")).all())

        want = {n: s for n, s in self.seq.items() if s}
        wait_for(lambda: stored() == want, timeout=60, what=f"readings up to {want} stored")
        wait_judged(self.db)

    # --- what people get ---

    def alerts(self, **filters: Any) -> list[dict[str, Any]]:
        with self.db.connect() as conn:
            return alerts.query(conn, limit=1000, **filters)[0]

    def tickets(self, **filters: Any) -> list[dict[str, Any]]:
        with self.db.connect() as conn:
            return tickets.query(conn, limit=1000, **filters)[0]

    def outcome(self) -> tuple[set[tuple], set[tuple]]:
        return ({(a["rule"], a["node"], a["state"]) for a in self.alerts()},
                {(t["fault"], t["node"], t["status"], t["priority"]) for t in self.tickets()})

    def notified(self) -> list[tuple[str, str, str | None]]:
        """(subscriber, kind, node) of every notification, in order."""
        with self.db.connect() as conn:
            return [(sub, kind, json.loads(p)["node"]) for sub, kind, p in conn.execute(
                select(Outbox.subscriber, Outbox.kind, Outbox.payload).order_by(Outbox.id))]

    def transition(self, ticket_id: int, to: str, note: str = "") -> None:
        with writing(self.db) as conn:  # the hub commits meanwhile: take the lock first
            tickets.transition(conn, ticket_id, to, "crew-ali", note)


def provision(hub: HubProcess, nodes: list[str], installed_at: float) -> None:
    """`roshni provision` each node, as installed before the night the test replays:
    readings older than a node's provisioning would be a clock fault."""
    for i, node in enumerate(nodes):
        subprocess.run([*_roshni(), "provision", node, "--district", DISTRICT, "--area", AREA,
                        "--lat", f"{24.8300 + i * 0.0004:.4f}", "--lon", "67.1300",
                        "--rated-w", "60", "--pole", f"K5-{100 + i}"],
                       env=hub.env, check=True, capture_output=True, timeout=60)
    engine = create_engine(f"sqlite:///{hub.workdir / 'data' / 'hub.db'}")
    with engine.begin() as conn:
        conn.execute(update(Node).values(provisioned_at=installed_at))
    engine.dispose()


class ConfiguredHub(HubProcess):
    def __init__(self, workdir: Path, env: dict[str, str], config: Path) -> None:
        super().__init__(workdir, env)
        self.args = ("hub", "run", "--config", str(config))


@pytest.fixture
def street_of(tmp_path: Path) -> Iterator[Callable[..., Street]]:
    """street_of(n, **rules) -> a running hub with n provisioned nodes in Korangi 5."""
    made: list[Any] = []

    def make(n: int = 5, **rules: Any) -> Street:
        broker = Mosquitto(tmp_path / "mosquitto")
        influx = Influxd(tmp_path / "influxd")
        made.extend([influx, broker])
        broker.start()
        influx.start()
        config = tmp_path / "hub.toml"
        # Last night, published in seconds into a fresh hub, is judged as if lived.
        rules = {"fresh_clock_from_wall": False, **rules}
        config.write_text(HUB_TOML + "[rules]\n" + "".join(
            f"{k} = {json.dumps(v)}\n" for k, v in rules.items()))
        hub = ConfiguredHub(tmp_path / "hub", {"ROSHNI_MQTT__URL": broker.url,
                                               "ROSHNI_INFLUX__URL": influx.url}, config)
        nodes = [f"khi-kor-{i:04d}" for i in range(1, n + 1)]
        provision(hub, nodes, installed_at=local(last_night(), -48))
        made.insert(0, hub)
        hub.start()
        street = Street(broker, hub, nodes)
        made.insert(0, street)
        return street

    yield make
    for thing in made:
        thing.close()


def eventually(probe: Callable[[], Any], expected: Any, timeout: float = 15.0) -> None:
    """Wait for the tick (which judges silence) to catch up; then compare, with a diff."""
    try:
        wait_for(lambda: probe() == expected, timeout=timeout)
    except AssertionError:
        pass
    assert probe() == expected


def dark_from(t0: float, until: float = float("inf")) -> Fields:
    return lambda t: DARK if t0 <= t < until else {}


def test_a_lamp_failing_at_2310_is_one_alert_and_one_ticket_one_reading_after_dwell(
        street_of):
    s = street_of(5)
    night = last_night()
    fail = local(night, 23, 10)
    lamp = {"khi_kor_0002": dark_from(fail)}
    s.minutes(local(night, 22, 40), local(night, 23, 19), **lamp)
    s.settle()
    assert s.outcome() == (set(), set())  # dark for 9 minutes: not yet

    s.minutes(local(night, 23, 20), local(night, 23, 20), **lamp)
    # the alert and the ticket are there before the next reading is even sent
    wait_for(lambda: s.tickets(), what="the ticket")
    s.minutes(local(night, 23, 21), local(night, 23, 40), **lamp)
    s.settle()
    assert s.outcome() == ({("lamp_out", "khi-kor-0002", "active")},
                           {("lamp_out", "khi-kor-0002", "open", 2)})
    [alert], [ticket] = s.alerts(), s.tickets()
    assert (alert["started_at"], alert["area"], alert["district"]) == (fail, AREA_ID, DISTRICT)
    assert (ticket["opened_at"], ticket["district"]) == (local(night, 23, 20), DISTRICT)
    assert (alert["ticket_id"], ticket["alert_id"]) == (ticket["id"], alert["id"])
    assert ticket["sla_due"] == ticket["opened_at"] + 48 * 3600
    assert ticket["evidence"][-1]["lamp_on"] is False
    assert s.notified() == [("k5-committee", "alert_opened", "khi-kor-0002"),
                            ("korangi-crew", "ticket_opened", "khi-kor-0002")]
    m = wait_for(lambda: (m := metrics(s.hub.url)).get(
        'roshni_alerts_open{rule="lamp_out"}') == 1 and m, what="the alert in /metrics")
    assert m['roshni_tickets{status="open"}'] == 1
    assert m['roshni_alerts_open{rule="area_power_cut"}'] == 0


def test_load_shedding_is_one_area_incident_and_the_lamp_still_dark_after_gets_a_ticket(
        street_of):
    s = street_of(5)
    night = last_night()
    cut0, cut1 = local(night, 20), local(night, 22)
    n1, n2, n3, n4, n5 = s.nodes

    # A quiet lane (nobody passes): the unsafe-spot score, which would raise the dark
    # lamp's priority, stays out of this test.
    def on_battery(t: float) -> dict[str, Any]:
        return {"footfall": 0, **({"lamp_on": False, "lamp_w": 0.0, "mains_v": 0.0}
                                  if cut0 <= t < cut1 else {})}

    def stays_dark(t: float) -> dict[str, Any]:
        return {**on_battery(t), **DARK} if t >= cut0 else {}

    for n in s.nodes:
        s.status(n, "online", session=1)
    quiet = {n.replace("-", "_"): on_battery for n in s.nodes}
    s.minutes(local(night, 19, 40), cut0 - 60, **quiet)
    s.minutes(cut0, cut0, silent=(n4, n5), khi_kor_0001=on_battery, khi_kor_0002=on_battery,
              khi_kor_0003=stays_dark)
    s.status(n4, "offline", session=1)  # no battery: its last will; n5 just goes quiet
    s.minutes(cut0 + 60, cut1 - 60, silent=(n4, n5), khi_kor_0001=on_battery,
              khi_kor_0002=on_battery, khi_kor_0003=stays_dark)
    s.settle()
    assert s.outcome() == ({("area_power_cut", None, "active")}, set())

    s.status(n4, "online", session=2)
    s.status(n5, "online", session=2)
    s.minutes(cut1, local(night, 22, 30), **{**quiet, "khi_kor_0003": stays_dark})
    s.settle()
    wait_for(lambda: s.outcome()[0] == {("area_power_cut", None, "cleared"),
                                        ("lamp_out", n3, "active")},
             what="the cut over and the dark lamp's alert")
    assert s.outcome()[1] == {("lamp_out", n3, "open", 2)}
    [cut] = s.alerts(rule="area_power_cut")
    assert (cut["started_at"], cut["ended_at"], cut["node"]) == (cut0, cut1, None)
    assert s.tickets()[0]["opened_at"] == cut1 + 600  # dwell counted from the cut's end
    assert s.notified() == [("k5-committee", "alert_opened", None),
                            ("k5-committee", "alert_opened", n3),
                            ("korangi-crew", "ticket_opened", n3)]


def test_flicker_low_power_unplugged_and_tamper_each_have_exactly_their_outcome(street_of):
    s = street_of(8)
    night = last_night()
    n1, n2, n3, n4 = s.nodes[:4]
    t0 = local(night, 22, 30)

    def flicker(t: float) -> dict[str, Any]:  # burns 2 min, dark 1, all night
        return DARK if int((t - t0) // 60) % 3 == 2 else {}

    def tamper(t: float) -> dict[str, Any]:
        return {"tamper": local(night, 23, 5) <= t < local(night, 23, 15)}

    per_node = dict(khi_kor_0001=flicker, khi_kor_0002=lambda t: {"lamp_w": 24.0},
                    khi_kor_0004=tamper)
    s.minutes(t0, local(night, 22, 59), **per_node)
    s.minutes(local(night, 23), local(night, 23, 40), silent=(n3,), **per_node)  # unplugged
    s.settle()
    expected = ({("flicker", n1, "active"), ("low_power", n2, "active"),
                 ("node_offline", n3, "active"), ("tamper", n4, "cleared")},
                {("flicker", n1, "open", 3), ("low_power", n2, "open", 3)})
    eventually(s.outcome, expected)
    assert sorted(s.notified()) == sorted([
        ("korangi-crew", "ticket_opened", n1), ("korangi-crew", "ticket_opened", n2),
        ("technicians", "alert_opened", n3), ("k5-committee", "alert_opened", n4)])


def test_a_lamp_burning_by_day_is_a_low_priority_ticket_and_nothing_else(street_of):
    s = street_of(4)
    now = dt.datetime.now(KARACHI)
    day = now.date() - dt.timedelta(days=0 if now.hour >= 11 else 1)
    off = {n.replace("-", "_"): (lambda t: {"lamp_on": False, "lamp_w": 0.3, "lux": 9000.0})
           for n in s.nodes[1:]}
    s.minutes(local(day, 9), local(day, 10, 45), **off)
    s.settle()
    assert s.outcome() == ({("day_burner", s.nodes[0], "active")},
                           {("day_burner", s.nodes[0], "open", 4)})
    assert s.notified() == [("korangi-crew", "ticket_opened", s.nodes[0])]


def test_fixed_but_still_dark_is_reopened_and_30_min_burning_verifies_and_clears(street_of):
    s = street_of(5)
    night = last_night()
    fail, repaired = local(night, 23, 10), local(night, 24, 40)
    lamp = {"khi_kor_0001": dark_from(fail, repaired)}
    s.minutes(local(night, 23), local(night, 23, 25), **lamp)
    [ticket] = wait_for(lambda: s.tickets(), what="the ticket")
    s.transition(ticket["id"], "assigned")
    s.transition(ticket["id"], "in_progress")
    s.transition(ticket["id"], "fixed", "replaced the driver")
    s.minutes(local(night, 23, 26), local(night, 24, 30), **lamp)
    s.settle()
    assert s.tickets()[0]["status"] == "reopened"

    s.transition(ticket["id"], "fixed", "replaced the lamp")
    s.minutes(local(night, 24, 31), local(night, 25, 20), **lamp)
    s.settle()
    [ticket], [alert] = s.tickets(), s.alerts()
    assert ticket["status"] == "verified"
    assert ticket["verified_at"] == repaired + 1800
    assert (alert["state"], alert["ended_at"]) == ("cleared", repaired)
    assert [(h["actor"], h["to_status"]) for h in ticket["history"]] == [
        ("sensor", "open"), ("crew-ali", "assigned"), ("crew-ali", "in_progress"),
        ("crew-ali", "fixed"), ("sensor", "reopened"), ("crew-ali", "fixed"),
        ("sensor", "verified")]
    assert [k for _, k, _ in s.notified()] == [
        "alert_opened", "ticket_opened", "ticket_reopened", "ticket_verified"]
    assert s.notified()[-1][0] == "k5-committee"


def test_a_hub_killed_mid_night_reaches_the_same_outcome(street_of):
    s = street_of(5)
    night = last_night()
    fail = local(night, 23, 10)
    lamp = {"khi_kor_0003": dark_from(fail)}
    s.minutes(local(night, 22, 50), local(night, 23, 15), **lamp)
    s.settle()
    s.hub.kill()  # SIGKILL halfway through the dwell
    s.minutes(local(night, 23, 16), local(night, 23, 18), **lamp)  # queued by the broker
    s.hub.start()
    s.minutes(local(night, 23, 19), local(night, 23, 22), **lamp)
    wait_for(lambda: s.tickets(), what="the ticket")
    s.hub.kill()  # and again once the alert is out
    s.minutes(local(night, 23, 23), local(night, 23, 30), **lamp)
    s.hub.start()
    s.minutes(local(night, 23, 31), local(night, 23, 40), **lamp)
    s.settle()
    assert s.outcome() == ({("lamp_out", "khi-kor-0003", "active")},
                           {("lamp_out", "khi-kor-0003", "open", 2)})
    [alert], [ticket] = s.alerts(), s.tickets()
    # the half-elapsed timer survived: raised by the 23:20 reading, as without the kill
    assert (alert["started_at"], ticket["opened_at"]) == (fail, local(night, 23, 20))
    assert s.notified() == [("k5-committee", "alert_opened", "khi-kor-0003"),
                            ("korangi-crew", "ticket_opened", "khi-kor-0003")]


def test_replayed_history_is_a_past_incident_and_is_not_notified(street_of):
    s = street_of(5)
    night = last_night()
    n1 = s.nodes[0]
    gap0, gap1 = local(night, 22), local(night, 23)
    was_dark = dark_from(local(night, 22, 10), local(night, 22, 40))
    s.minutes(local(night, 21, 40), gap0 - 60)
    s.minutes(gap0, gap1 - 60, silent=(n1,))  # n1 cannot reach the broker for an hour
    spooled = []
    for t in range(int(gap0), int(gap1), 60):
        s.seq[n1] += 1
        spooled.append({"v": 1, "node": n1, "seq": s.seq[n1], "ts": float(t),
                        "interval_s": 60, "lamp_on": True, "lamp_w": 58.0, "mains_v": 230.0,
                        **was_dark(t)})
    s.pub.send(f"roshni/v1/{n1}/reading", spooled)  # its spool, in one message at 23:00
    s.minutes(gap1, local(night, 23, 20))
    s.settle()
    [past] = wait_for(lambda: s.alerts(rule="lamp_out", state="cleared"),
                      what="the past incident")
    assert past["historical"] and past["node"] == n1
    assert (past["started_at"], past["ended_at"]) == (local(night, 22, 10),
                                                      local(night, 22, 40))
    assert s.tickets() == []
    assert [n for n in s.notified() if n[1] != "alert_opened" or n[0] != "technicians"] == []
