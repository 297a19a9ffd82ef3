"""Changes people make through the API — a crew moving a ticket, a committee acknowledging
an alert — go through the hub's services, show in the ticket's history, are refused with a
reason when they cannot be made, and each leaves an audit entry: who, what, when."""

from __future__ import annotations

import time

from tests.hub.api.conftest import World


def audit_entries(world: World, **params: str) -> list[dict]:
    r = world.get("ayesha", "/api/v1/audit", **params)
    assert r.status_code == 200, r.text
    return r.json()["data"]


def test_the_crews_queue_is_most_urgent_first_then_by_sla(world: World):
    later = world.new_ticket("khi-kor-0002", "low_power", priority=3, sla_h=200)
    sooner = world.new_ticket("khi-kor-0002", "day_burner", priority=3, sla_h=10)
    body = world.get("kamran", "/api/v1/tickets", status="outstanding", limit=500).json()
    order = [(t["priority"], t["sla_due"]) for t in body["data"]]
    assert order == sorted(order)
    ids = [t["id"] for t in body["data"]]
    assert ids[0] == world.tickets["k5-urgent"]  # priority 1 first
    assert ids.index(sooner) < ids.index(later)
    # the DESIGN §7 shape, with history and evidence
    t = body["data"][0]
    assert {"id", "node", "district", "area", "fault", "status", "priority", "opened_at",
            "sla_due", "alert_id", "history"} <= set(t)
    assert t["history"][0]["actor"] == "sensor" and t["evidence"]
    # paging: the same queue a page at a time
    first = world.get("kamran", "/api/v1/tickets", status="outstanding", limit=2).json()
    second = world.get("kamran", "/api/v1/tickets", status="outstanding", limit=2,
                       offset=2).json()
    assert [x["id"] for x in first["data"] + second["data"]] == ids[:4]
    assert first["count"] == body["count"]
    assert world.get("kamran", "/api/v1/tickets", limit=100000).status_code == 422
    # filter by priority
    p3 = world.get("kamran", "/api/v1/tickets", priority=3).json()["data"]
    assert p3 and {t["priority"] for t in p3} == {3}
    for ticket_id in (later, sooner):
        world.clear_ticket(ticket_id)


def test_a_crew_moves_its_ticket_to_in_progress_with_a_note(world: World):
    ticket_id = world.new_ticket("khi-kor-0001", "low_power", priority=3)
    before = time.time()
    with world.as_("kamran") as c:
        r = c.patch(f"/api/v1/tickets/{ticket_id}",
                    json={"status": "in_progress", "note": "van on the way <b>now</b>"})
    assert r.status_code == 200, r.text
    t = r.json()
    assert t["status"] == "in_progress"
    last = t["history"][-1]
    assert (last["actor"], last["from_status"], last["to_status"], last["note"]) == (
        "kamran", "open", "in_progress", "van on the way <b>now</b>")
    # the ticket page shows it too, and the audit log has who, what, when
    assert world.get("kiran", f"/api/v1/tickets/{ticket_id}").json()["status"] == "in_progress"
    entry = audit_entries(world, target=f"ticket:{ticket_id}")[0]
    assert (entry["actor"], entry["action"]) == ("kamran", "ticket.transition")
    assert entry["detail"]["from"] == "open" and entry["detail"]["to"] == "in_progress"
    assert entry["detail"]["note"] == "van on the way <b>now</b>"
    assert before - 1 <= entry["at"] <= time.time() + 1
    world_fixed = c_patch(world, "kamran", ticket_id, "fixed", "new lamp fitted")
    assert world_fixed.json()["status"] == "fixed"
    # once fixed, only the sensor decides: the crew is told so, nothing changes
    again = c_patch(world, "kamran", ticket_id, "in_progress", "oops")
    assert again.status_code == 409
    assert "the sensor decides" in again.json()["detail"]
    assert world.get("kamran", f"/api/v1/tickets/{ticket_id}").json()["status"] == "fixed"
    assert len(audit_entries(world, target=f"ticket:{ticket_id}")) == 2
    world.clear_ticket(ticket_id)


def c_patch(world: World, person: str, ticket_id: int, status: str, note: str):
    with world.as_(person) as c:
        return c.patch(f"/api/v1/tickets/{ticket_id}", json={"status": status, "note": note})


def test_a_korangi_crew_cannot_change_a_malir_ticket(world: World):
    malir = world.tickets["malir"]
    before = world.get("ayesha", f"/api/v1/tickets/{malir}").json()
    r = c_patch(world, "kamran", malir, "in_progress", "not mine")
    assert r.status_code == 404
    assert r.json() == {"detail": f"no ticket {malir}"}
    after = world.get("ayesha", f"/api/v1/tickets/{malir}").json()
    assert after["status"] == before["status"] and after["history"] == before["history"]
    assert not [e for e in audit_entries(world, target=f"ticket:{malir}")
                if e["actor"] == "kamran"]


def test_a_bad_status_is_refused_with_what_is_allowed(world: World):
    ticket_id = world.tickets["k6"]
    r = c_patch(world, "kamran", ticket_id, "closed", "")
    assert r.status_code == 422  # not a status at all
    r = c_patch(world, "kamran", ticket_id, "reopened", "")
    assert r.status_code == 409
    assert "allowed: assigned, in_progress, fixed" in r.json()["detail"]
    with world.as_("kamran") as c:
        assert c.patch(f"/api/v1/tickets/{ticket_id}", json={"note": "x"}).status_code == 422


def test_a_committee_acknowledges_an_alert_once_and_it_is_audited(world: World):
    ticket_id = world.new_ticket("khi-kor-0003", "flicker", priority=3)
    alert_id = world.get("ayesha", f"/api/v1/tickets/{ticket_id}").json()["alert_id"]
    with world.as_("kiran") as c:
        r = c.post(f"/api/v1/alerts/{alert_id}/ack")
        assert r.status_code == 200, r.text
        a = r.json()
        assert (a["state"], a["acknowledged_by"]) == ("acknowledged", "kiran")
        assert {"id", "rule", "state", "node", "district", "area", "started_at", "ended_at",
                "ticket_id"} <= set(a)
        assert a["ticket_id"] == ticket_id
        again = c.post(f"/api/v1/alerts/{alert_id}/ack")
        assert again.status_code == 200 and again.json()["acknowledged_by"] == "kiran"
        listed = c.get("/api/v1/alerts", params={"state": "acknowledged"}).json()["data"]
        assert alert_id in {x["id"] for x in listed}
        assert alert_id not in {x["id"] for x in
                                c.get("/api/v1/alerts", params={"state": "active"}).json()["data"]}
    entries = audit_entries(world, target=f"alert:{alert_id}")
    assert [(e["actor"], e["action"]) for e in entries] == [("kiran", "alert.ack")]
    world.clear_ticket(ticket_id)


def test_a_cleared_alert_cannot_be_acknowledged(world: World):
    from hub import alerts
    from hub.db import writing

    with writing(world.db) as conn:
        alert_id, _ = alerts.open_alert(conn, rule="tamper", node="khi-kor-0001",
                                        district="korangi", area="korangi-5",
                                        started_at=time.time() - 60)
        alerts.clear(conn, alert_id, ended_at=time.time())
    with world.as_("kiran") as c:
        r = c.post(f"/api/v1/alerts/{alert_id}/ack")
    assert r.status_code == 409
    assert "already cleared" in r.json()["detail"]


def test_alert_filters(world: World):
    data = world.get("ayesha", "/api/v1/alerts", rule="node_offline").json()["data"]
    assert data and {a["rule"] for a in data} == {"node_offline"}
    data = world.get("ayesha", "/api/v1/alerts", district="malir", state="open").json()["data"]
    assert {a["district"] for a in data} == {"malir"}
    assert {a["state"] for a in data} <= {"active", "acknowledged"}
    assert world.get("ayesha", "/api/v1/alerts", rule="no_such_rule").status_code == 422


def test_a_technician_acknowledges_a_node_offline_alert(world: World):
    alert_id = world.alerts["malir-offline"]
    with world.as_("tariq") as c:
        r = c.post(f"/api/v1/alerts/{alert_id}/ack")
    assert r.status_code == 200 and r.json()["state"] == "acknowledged"
