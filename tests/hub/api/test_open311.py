"""Open311 GeoReport v2: repair tickets as service requests, and a citizen's "street light
out" report posted the way FixMyStreet's Open311 adapter posts it (form-encoded, with
`api_key`, `attribute[…]`), matched to the nearest lamp and what its sensor says."""

from __future__ import annotations

import math
import time
import xml.etree.ElementTree as ET

import httpx
import pytest
from sqlalchemy import update

from hub import alerts
from hub.db import writing
from hub.open311 import CitizenRequest
from tests.hub.api.conftest import FMS_KEY, World

SCHOOL_GATE = (24.8510, 67.1510)  # lamp khi-kor-0021: dark, with a repair ticket
BUS_STOP = (24.8610, 67.1610)  # lamp khi-kor-0022: burning


def metres_north(lat: float, lon: float, m: float) -> tuple[float, float]:
    return lat + m / 111_195.0, lon


def fms_form(lat: float, lon: float, *, fms_id: int, service_code: str = "street_light_out",
             api_key: str | None = FMS_KEY) -> dict[str, str]:
    """What FixMyStreet's perllib/Open311.pm sends for a new report (extended description,
    coordinates truncated to 6 places, the report's extra fields as attribute[…])."""
    url = f"https://fixmystreet.example.pk/report/{fms_id}"
    form = {
        "jurisdiction_id": "karachi",
        "service_code": service_code,
        "description": "Light out near the school gate\n\nThe lamp by the gate has been "
                       f"dark for three nights; children walk here after tuition.\n\n{url}\n",
        "first_name": "Saima",
        "last_name": "Baloch",
        "email": "saima@example.pk",
        "phone": "03001234567",
        "lat": f"{math.trunc(lat * 1e6) / 1e6:.6f}",
        "long": f"{math.trunc(lon * 1e6) / 1e6:.6f}",
        "attribute[title]": "Light out near the school gate",
        "attribute[description]": "The lamp by the gate has been dark for three nights.",
        "attribute[report_url]": url,
        "attribute[fixmystreet_id]": str(fms_id),
        "attribute[closest_address]": "Korangi Road",
    }
    if api_key is not None:
        form["api_key"] = api_key
    return form


def post(world: World, form: dict[str, str], fmt: str = "json") -> httpx.Response:
    # httpx form-encodes `data` as application/x-www-form-urlencoded, as LWP's POST does
    return httpx.post(f"{world.url}/open311/v2/requests.{fmt}", data=form, timeout=30)


def request(world: World, service_request_id: str) -> dict:
    r = httpx.get(f"{world.url}/open311/v2/requests/{service_request_id}.json", timeout=30)
    assert r.status_code == 200, r.text
    rows = r.json()
    assert len(rows) == 1
    return rows[0]


REQUEST_FIELDS = {"service_request_id", "status", "status_notes", "service_name",
                  "service_code", "description", "agency_responsible", "service_notice",
                  "requested_datetime", "updated_datetime", "expected_datetime", "address",
                  "address_id", "zipcode", "lat", "long", "media_url"}


def test_the_service_list(world: World):
    r = httpx.get(f"{world.url}/open311/v2/services.json")
    assert r.status_code == 200
    services = {s["service_code"]: s for s in r.json()}
    out = services["street_light_out"]
    assert out["service_name"] == "Street light out"
    assert out["metadata"] is False and out["type"] == "realtime"
    assert {"service_code", "service_name", "description", "metadata", "type", "keywords",
            "group"} <= set(out)
    xml = ET.fromstring(httpx.get(f"{world.url}/open311/v2/services.xml").content)
    assert "street_light_out" in [e.text for e in xml.iter("service_code")]
    assert httpx.get(f"{world.url}/open311/v2/services.json",
                     params={"jurisdiction_id": "lahore"}).status_code == 404


def test_tickets_are_service_requests(world: World):
    ticket_id = world.tickets["k5"]
    ticket = world.get("ayesha", f"/api/v1/tickets/{ticket_id}").json()
    rows = httpx.get(f"{world.url}/open311/v2/requests.json").json()
    mine = [x for x in rows if x["service_request_id"] == f"ticket-{ticket_id}"]
    assert len(mine) == 1
    sr = mine[0]
    assert set(sr) == REQUEST_FIELDS
    assert sr["status"] == "open"
    assert sr["agency_responsible"] == "DMC Korangi"
    assert sr["service_code"] == "street_light_out"
    assert (sr["lat"], sr["long"]) == (24.8310, 67.1310)
    assert sr["address"] == "Pole K5-01, Korangi 5, Korangi"
    assert sr["expected_datetime"] == _iso(ticket["sla_due"])
    assert sr["requested_datetime"] == _iso(ticket["opened_at"])
    assert sr["status_notes"].startswith("Reported to the DMC crew")
    # by id, several at once, and as XML
    both = httpx.get(f"{world.url}/open311/v2/requests.json", params={
        "service_request_id": f"ticket-{ticket_id},ticket-{world.tickets['malir']}"}).json()
    assert [x["agency_responsible"] for x in both] == ["DMC Korangi", "DMC Malir"]
    xml = ET.fromstring(httpx.get(f"{world.url}/open311/v2/requests.xml").content)
    assert f"ticket-{ticket_id}" in [e.text for e in xml.iter("service_request_id")]
    assert httpx.get(f"{world.url}/open311/v2/requests/ticket-999999.json").status_code == 404
    closed = httpx.get(f"{world.url}/open311/v2/requests.json",
                       params={"status": "closed"}).json()
    assert all(x["status"] == "closed" for x in closed)


def _iso(ts: float) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(ts, dt.UTC).isoformat(timespec="seconds").replace(
        "+00:00", "Z")


def test_a_report_of_a_dark_lamp_the_sensor_agrees_with_joins_its_ticket(world: World):
    world.add_node("khi-kor-0021", "korangi", "Korangi 5", *SCHOOL_GATE, pole="K5-21")
    world.publish("khi-kor-0021", [False, False, False])  # dark, the sensor says
    ticket_id = world.new_ticket("khi-kor-0021")
    lat, lon = metres_north(*SCHOOL_GATE, 25)

    r = post(world, fms_form(lat, lon, fms_id=1017))
    assert r.status_code == 201, r.text
    answer = r.json()
    assert isinstance(answer, list) and len(answer) == 1
    report = answer[0]["service_request_id"]
    assert report.startswith("report-")

    sr = request(world, report)
    assert set(sr) == REQUEST_FIELDS
    assert sr["status"] == "open"
    assert f"joined repair ticket #{ticket_id}" in sr["status_notes"]
    assert sr["agency_responsible"] == "DMC Korangi"
    assert sr["service_code"] == "street_light_out"
    assert sr["description"].startswith("Light out near the school gate")
    assert sr["expected_datetime"] == _iso(
        world.get("ayesha", f"/api/v1/tickets/{ticket_id}").json()["sla_due"])
    assert "saima" not in str(sr).lower()  # who reported is never public

    # the committee sees the report with the evidence the sensor gave
    n = int(report.removeprefix("report-"))
    seen = world.get("kiran", f"/api/v1/reports/{n}").json()
    assert (seen["verdict"], seen["node"], seen["ticket_id"]) == ("agrees", "khi-kor-0021",
                                                                  ticket_id)
    assert 20 < seen["distance_m"] < 30
    assert [e["lamp_on"] for e in seen["evidence"]] == [False, False, False]
    assert world.get("mehwish", f"/api/v1/reports/{n}").status_code == 404

    # the crew repairs, the sensor verifies: the citizen's request is closed too
    with world.as_("kamran") as c:
        assert c.patch(f"/api/v1/tickets/{ticket_id}",
                       json={"status": "fixed", "note": "lamp replaced"}).status_code == 200
    assert request(world, report)["status"] == "open"
    world.clear_ticket(ticket_id)
    done = request(world, report)
    assert done["status"] == "closed"
    assert "Repaired" in done["status_notes"]
    assert request(world, f"ticket-{ticket_id}")["status"] == "closed"
    # and the report's arrival is in the audit log
    entries = world.get("ayesha", "/api/v1/audit", target=f"report:{n}").json()["data"]
    assert [(e["action"], e["actor"]) for e in entries] == [("report.create", "open311:key1")]


def test_a_report_the_sensor_disagrees_with_stays_open_with_evidence(world: World):
    world.add_node("khi-kor-0022", "korangi", "Korangi 5", *BUS_STOP, pole="K5-22")
    world.publish("khi-kor-0022", [True, True, True, True])  # burning, the sensor says
    lat, lon = metres_north(*BUS_STOP, -15)

    r = post(world, fms_form(lat, lon, fms_id=1018), fmt="xml")  # FixMyStreet's default
    assert r.status_code == 201, r.text
    assert r.headers["content-type"].startswith("text/xml")
    report = ET.fromstring(r.content).find("request/service_request_id").text

    sr = request(world, report)
    assert sr["status"] == "open"
    assert "reports it burning" in sr["status_notes"]
    assert "a person to check" in sr["status_notes"]
    n = int(report.removeprefix("report-"))
    seen = world.get("kamran", f"/api/v1/reports/{n}").json()
    assert (seen["verdict"], seen["ticket_id"], seen["alert_id"]) == ("disagrees", None, None)
    assert [e["lamp_on"] for e in seen["evidence"]] == [True, True, True, True]
    assert all(e["ts"] > time.time() - 600 for e in seen["evidence"])
    assert n in {x["id"] for x in world.get("kiran", "/api/v1/reports",
                                            checked="false").json()["data"]}

    # a person checks and closes it, saying what they found; audited
    with world.as_("kiran") as c:
        r = c.patch(f"/api/v1/reports/{n}",
                    json={"status": "closed", "note": "lamp fine; the one across the road"})
        assert r.status_code == 200, r.text
        assert c.patch(f"/api/v1/reports/{n}",
                       json={"status": "closed", "note": "again"}).status_code == 409
    closed = request(world, report)
    assert closed["status"] == "closed"
    # the public is told it was checked; what was found and who found it stay with staff
    assert closed["status_notes"] == "Checked and closed by the city's staff."
    seen = world.get("kamran", f"/api/v1/reports/{n}").json()
    assert (seen["closed_by"], seen["check_note"]) == ("kiran",
                                                       "lamp fine; the one across the road")
    entries = world.get("ayesha", "/api/v1/audit", target=f"report:{n}").json()["data"]
    assert [e["action"] for e in entries] == ["report.close", "report.create"]


def test_a_dark_lamp_on_a_feeder_with_a_power_cut_joins_the_cut_and_its_neighbour_not(
        world: World):
    """The feeder's cut is filed under Korangi 5 (most of its lamps are there); a lamp on
    it in Korangi 6 belongs to it, a Korangi 5 lamp on another supply does not."""
    on_feeder, beside = (24.8710, 67.1710), (24.8810, 67.1810)
    world.add_node("khi-kor-0031", "korangi", "Korangi 6", *on_feeder, pole="K6-31",
                   feeder="KE Korangi 31")
    world.add_node("khi-kor-0032", "korangi", "Korangi 5", *beside, pole="K5-32")
    with writing(world.db) as conn:
        cut, _ = alerts.open_alert(conn, rule="area_power_cut", node=None, district="korangi",
                                   area="korangi-5", feeder="ke-korangi-31",
                                   started_at=time.time() - 900)
    try:
        joined = post(world, fms_form(*metres_north(*on_feeder, 10), fms_id=1030))
        n = int(joined.json()[0]["service_request_id"].removeprefix("report-"))
        seen = world.get("ayesha", f"/api/v1/reports/{n}").json()
        assert (seen["verdict"], seen["alert_id"]) == ("power_cut", cut)
        assert "on its feeder" in seen["status_notes"]

        other = post(world, fms_form(*metres_north(*beside, 10), fms_id=1031))
        n = int(other.json()[0]["service_request_id"].removeprefix("report-"))
        seen = world.get("ayesha", f"/api/v1/reports/{n}").json()
        assert seen["verdict"] != "power_cut" and seen["alert_id"] is None
    finally:
        with writing(world.db) as conn:
            alerts.clear(conn, cut, ended_at=time.time())


def test_a_report_far_from_any_lamp_waits_for_a_person(world: World):
    r = post(world, fms_form(24.70, 66.90, fms_id=1019))
    assert r.status_code == 201
    report = r.json()[0]["service_request_id"]
    sr = request(world, report)
    assert sr["status"] == "open" and "No Roshni lamp sensor within 60 m" in sr["status_notes"]
    n = int(report.removeprefix("report-"))
    # no district: only those who see everywhere see it
    assert world.get("ayesha", f"/api/v1/reports/{n}").json()["verdict"] == "no_node"
    assert world.get("kamran", f"/api/v1/reports/{n}").status_code == 404


@pytest.mark.parametrize(("change", "status", "words"), [
    ({"api_key": None}, 403, "api_key"),
    ({"api_key": "guessed"}, 403, "api_key"),
    ({"service_code": "pothole"}, 400, "service_code 'pothole'"),
    ({"lat": "north"}, 400, "lat='north' is not a number"),
    ({"long": None}, 400, "both lat and long"),
    ({"jurisdiction_id": "lahore"}, 404, "jurisdiction_id"),
])
def test_a_report_that_cannot_be_taken_is_refused_with_the_reason(world: World, change,
                                                                   status, words):
    form = fms_form(*SCHOOL_GATE, fms_id=2000)
    for k, v in change.items():
        if v is None:
            form.pop(k)
        else:
            form[k] = v
    before = world.get("ayesha", "/api/v1/reports").json()["count"]
    r = post(world, form)
    assert r.status_code == status
    assert words in r.json()["detail"]
    assert world.get("ayesha", "/api/v1/reports").json()["count"] == before


def test_staff_notes_stay_off_the_public_feed_and_a_published_phrase_shows(world: World):
    world.add_node("khi-kor-0041", "korangi", "Korangi 6", 24.8910, 67.1910, pole="K6-41")
    ticket = world.new_ticket("khi-kor-0041", priority=3)
    try:
        with world.as_("kamran") as c:
            r = c.patch(f"/api/v1/tickets/{ticket}", json={
                "status": "in_progress", "note": "junction box looted again, call Rashid"})
            assert r.status_code == 200, r.text
        for fmt in ("json", "xml"):
            page = httpx.get(f"{world.url}/open311/v2/requests/ticket-{ticket}.{fmt}").text
            assert "Rashid" not in page and "kamran" not in page, page
        with world.as_("kamran") as c:
            r = c.patch(f"/api/v1/tickets/{ticket}", json={
                "status": "fixed", "note": "new cable from stores, Rashid signed",
                "public_note": "Cable replaced"})
            assert r.status_code == 200, r.text
        sr = request(world, f"ticket-{ticket}")
        assert "Cable replaced" in sr["status_notes"] and "Rashid" not in sr["status_notes"]
        # staff still see their own notes in the ticket's history
        history = world.get("kamran", f"/api/v1/tickets/{ticket}").json()["history"]
        assert any("Rashid" in (h.get("note") or "") for h in history)
    finally:
        world.clear_ticket(ticket)


def test_a_control_character_in_a_report_is_refused_and_the_xml_feed_stays_well_formed(
        world: World):
    form = fms_form(24.70, 66.91, fms_id=3001)
    form["description"] = "dark\x01 street"
    r = post(world, form)
    assert r.status_code == 422 and "U+0001" in r.json()["detail"]
    files = {k: (None, v) for k, v in form.items()}  # the same as multipart/form-data
    r = httpx.post(f"{world.url}/open311/v2/requests.json", files=files, timeout=30)
    assert r.status_code == 422, r.text

    # a report stored before input was checked still leaves the feed readable
    form["description"] = "an older report"
    n = int(post(world, form).json()[0]["service_request_id"].removeprefix("report-"))
    with writing(world.db) as conn:
        conn.execute(update(CitizenRequest).where(CitizenRequest.id == n)
                     .values(description="dark\x01 street\x1b"))
    r = httpx.get(f"{world.url}/open311/v2/requests.xml", timeout=30)
    assert r.status_code == 200
    ET.fromstring(r.content)  # well-formed
    one = httpx.get(f"{world.url}/open311/v2/requests/report-{n}.xml", timeout=30)
    assert ET.fromstring(one.content).find("request/description").text == "dark street"
