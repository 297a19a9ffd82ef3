"""Nodes through the API: a technician registers one, assigns one the hub heard from but
did not know (pending), and reads a node's page: status, last seen, clock faults and the
lamp's counters, all from what the node published over MQTT."""

from __future__ import annotations

import time

from tests.hub.api.conftest import World
from tests.support import Publisher, reading, wait_for


def test_a_technician_registers_a_node_and_it_is_audited(world: World):
    body = {"id": "khi-eas-0101", "district": "east", "area": "Gulshan Block 5",
            "lat": 24.9211, "lon": 67.0952, "pole": "G5-101", "rated_w": 70,
            "feeder": "KE Gulshan 7"}
    with world.as_("tariq") as c:
        r = c.post("/api/v1/nodes", json=body)
        assert r.status_code == 201, r.text
        n = r.json()
        assert (n["id"], n["state"], n["district"], n["area"], n["pole"], n["feeder"]) == (
            "khi-eas-0101", "active", "east", "gulshan-block-5", "G5-101", "ke-gulshan-7")
        assert c.post("/api/v1/nodes", json=body).status_code == 409
        bad = c.post("/api/v1/nodes", json={**body, "id": "khi-eas-0104", "feeder": "--"})
        assert bad.status_code == 422 and "feeder" in bad.json()["detail"]
        bad = c.post("/api/v1/nodes", json={**body, "id": "khi-eas-0102", "district": "lahore"})
        assert bad.status_code == 422 and "unknown district" in bad.json()["detail"]
        bad = c.post("/api/v1/nodes", json={**body, "id": "Bad Id!"})
        assert bad.status_code == 422
        bad = c.post("/api/v1/nodes", json={**body, "id": "khi-eas-0103", "lat": 123})
        assert bad.status_code == 422
        swapped = {**body, "id": "khi-eas-0105", "lat": body["lon"], "lon": body["lat"]}
        bad = c.post("/api/v1/nodes", json=swapped)
        assert bad.status_code == 422 and "outside the service area" in bad.json()["detail"]
        assert "swapped" in bad.json()["detail"]
    entry = world.get("ayesha", "/api/v1/audit", target="node:khi-eas-0101").json()["data"]
    assert [(e["actor"], e["action"]) for e in entry] == [("tariq", "node.register")]
    assert entry[0]["detail"]["district"] == "east"
    # the new node is in the lists of those who may see East, and nobody else's
    assert {x["id"]: x["feeder"] for x in world.get(
        "tariq", "/api/v1/nodes", district="east").json()["data"]}["khi-eas-0101"] == \
        "ke-gulshan-7"
    assert world.get("kamran", "/api/v1/nodes/khi-eas-0101").status_code == 404


def test_a_pending_node_is_assigned_by_a_technician(world: World):
    pub = Publisher(world.mosquitto.host, world.mosquitto.port, client_id="pending-node")
    try:
        pub.send("roshni/v1/khi-new-0007/reading", reading("khi-new-0007", 1))
    finally:
        pub.close()

    def pending():
        r = world.get("tariq", "/api/v1/nodes", state="pending").json()["data"]
        return [n for n in r if n["id"] == "khi-new-0007"]
    node = wait_for(pending, what="the unknown node to be listed pending")[0]
    assert (node["district"], node["area"]) == ("unassigned", "unassigned")
    # committees and crews never see pending nodes
    assert world.get("kamran", "/api/v1/nodes/khi-new-0007").status_code == 404
    place = {"district": "korangi", "area": "Korangi 5", "lat": 24.8330, "lon": 67.1330,
             "pole": "K5-07"}
    with world.as_("kamran") as c:
        assert c.post("/api/v1/nodes/khi-new-0007/assign", json=place).status_code == 403
    with world.as_("tariq") as c:
        far = c.post("/api/v1/nodes/khi-new-0007/assign", json={**place, "lat": -24.833})
        assert far.status_code == 422 and "outside the service area" in far.json()["detail"]
        r = c.post("/api/v1/nodes/khi-new-0007/assign", json=place)
        assert r.status_code == 200, r.text
        assert (r.json()["state"], r.json()["area"]) == ("active", "korangi-5")
        again = c.post("/api/v1/nodes/khi-new-0007/assign", json=place)
        assert again.status_code == 409 and "already assigned" in again.json()["detail"]
        assert c.post("/api/v1/nodes/khi-nop-0000/assign", json=place).status_code == 404
    # now it is the Korangi 5 committee's and the Korangi crew's
    assert world.get("kiran", "/api/v1/nodes/khi-new-0007").status_code == 200
    assert world.get("kamran", "/api/v1/nodes/khi-new-0007").json()["pole"] == "K5-07"
    entries = world.get("ayesha", "/api/v1/audit", target="node:khi-new-0007").json()["data"]
    assert [(e["actor"], e["action"]) for e in entries] == [("tariq", "node.assign")]


def test_a_node_page_shows_status_and_the_lamps_counters(world: World):
    node = "khi-kor-0009"
    ticket_id = world.new_ticket(node)
    pub = Publisher(world.mosquitto.host, world.mosquitto.port, client_id="k5-node")
    t0 = time.time() - 20 * 60
    # a reading a minute: off, on for 10 min, off for 2, on for 5: two switch-ons,
    # 15 minutes burning, the meter counting 1 Wh for each of them
    states = [False] + [True] * 10 + [False] * 2 + [True] * 5
    meter = 1000.0
    try:
        pub.send(f"roshni/v1/{node}/status",
                 {"v": 1, "state": "online", "session": 1, "ts": t0, "fw": "1.2.0",
                  "profile": "pi-zero-ldr", "config_sha": "abc"}, retain=True)
        for seq, on in enumerate(states, start=1):
            meter += 1.0 if on else 0.0
            last_sent = time.time()
            pub.send(f"roshni/v1/{node}/reading",
                     reading(node, seq, t0 + seq * 60, lamp_on=on, energy_wh=meter,
                             lamp_w=55.0 if on else 0.0, interval_s=60))
    finally:
        pub.close()

    def page():
        n = world.get("kiran", f"/api/v1/nodes/{node}").json()
        stats = n.get("lamp_stats") or {}
        return n if abs((stats.get("last_ts") or 0) - (t0 + len(states) * 60)) < 0.01 else None
    n = wait_for(page, timeout=30, what="the last reading counted on the node page")
    assert n["status"] == "online" and n["fw"] == "1.2.0"
    # last seen: when its newest message came, the last reading, not the birth before it
    assert n["last_seen"] >= last_sent and n["clock_faults"] == 0
    stats = n["lamp_stats"]
    assert stats["switch_on_count"] == 2, stats
    assert abs(stats["burning_hours"] - 15 / 60) < 1e-6, stats
    assert abs(stats["energy_wh"] - 15.0) < 1e-6, stats
    assert stats["lamp_on"] is True
    # its open repair ticket and alert are on the page and on the map
    assert ticket_id in n["open_tickets"]
    assert "lamp_out" in n["open_alerts"] and n["lamp"] == "dark"
    world.clear_ticket(ticket_id)
    n = world.get("kiran", f"/api/v1/nodes/{node}").json()
    assert n["open_tickets"] == [] and n["lamp"] == "on"


def test_node_filters_and_paging(world: World):
    all_nodes = world.get("ayesha", "/api/v1/nodes", limit=500).json()
    assert all_nodes["count"] == len(all_nodes["data"]) >= 4
    ids = [n["id"] for n in all_nodes["data"]]
    assert ids == sorted(ids)
    page = world.get("ayesha", "/api/v1/nodes", limit=2, offset=1).json()
    assert [n["id"] for n in page["data"]] == ids[1:3]
    assert page["count"] == all_nodes["count"]
    k6 = world.get("ayesha", "/api/v1/nodes", area="Korangi 6").json()["data"]
    assert [n["id"] for n in k6] == ["khi-kor-0002"]
    assert world.get("ayesha", "/api/v1/nodes", state="retired").status_code == 422
    assert world.get("ayesha", "/api/v1/nodes", offset=-1).status_code == 422
