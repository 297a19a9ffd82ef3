"""What the exports hold: lamps coloured for a map, alerts where they are (an area incident
in the middle of its area), tickets as CSV a spreadsheet opens safely."""

from __future__ import annotations

import csv
import io
import time

from hub import alerts
from hub.db import writing
from tests.hub.api.conftest import World


def csv_rows(world: World, person: str, path: str, **params) -> list[dict[str, str]]:
    r = world.get(person, path, **params)
    assert r.content.startswith("\ufeff".encode()), "no byte order mark for Excel"
    return list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))


def test_the_map_colours_a_dark_lamp_dark(world: World):
    fc = world.get("kiran", "/api/v1/export/nodes.geojson").json()
    by_id = {f["id"]: f for f in fc["features"]}
    k5 = by_id["khi-kor-0001"]
    assert k5["geometry"] == {"type": "Point", "coordinates": [67.131, 24.831]}
    assert k5["properties"]["lamp"] == "dark" and "lamp_out" in k5["properties"]["open_alerts"]
    assert fc["count"] == len(fc["features"]) and fc["limit"] == 5000
    page = world.get("kiran", "/api/v1/export/nodes.geojson", limit=1, offset=1).json()
    assert [f["id"] for f in page["features"]] == [f["id"] for f in fc["features"]][1:2]
    assert world.get("kiran", "/api/v1/export/nodes.geojson", limit=50000).status_code == 422


def test_an_area_incident_is_placed_in_the_middle_of_its_area(world: World):
    with writing(world.db) as conn:
        alert_id, _ = alerts.open_alert(conn, rule="area_power_cut", node=None,
                                        district="korangi", area="korangi-6",
                                        started_at=time.time() - 120,
                                        detail={"nodes_down": 3, "nodes": 4})
    try:
        fc = world.get("kamran", "/api/v1/export/alerts.geojson").json()
        f = next(f for f in fc["features"] if f["id"] == alert_id)
        assert f["properties"]["node"] is None and f["properties"]["rule"] == "area_power_cut"
        assert f["geometry"]["coordinates"] == [67.141, 24.841]  # Korangi 6's one lamp
        rows = csv_rows(world, "kamran", "/api/v1/export/alerts.csv", rule="area_power_cut")
        assert [int(r["id"]) for r in rows] == [alert_id]
        assert (rows[0]["area"], rows[0]["area_name"]) == ("korangi-6", "Korangi 6")
        assert rows[0]["district_name"] == "Korangi"
        assert rows[0]["started_at"].endswith("+05:00")  # Karachi's time, with its offset
    finally:
        with writing(world.db) as conn:
            alerts.clear(conn, alert_id, ended_at=time.time())


def test_tickets_csv_has_the_place_and_is_safe_to_open(world: World):
    ticket_id = world.new_ticket("khi-kor-0002", "low_power", priority=3)
    with world.as_("kamran") as c:
        r = c.patch(f"/api/v1/tickets/{ticket_id}",
                    json={"status": "assigned", "assignee": "=HYPERLINK(\"http://x\")"})
        assert r.status_code == 200, r.text
    assert "attachment" in world.get("kamran", "/api/v1/export/tickets.csv").headers[
        "content-disposition"]
    rows = {int(r["id"]): r for r in csv_rows(world, "kamran", "/api/v1/export/tickets.csv",
                                              status="outstanding")}
    row = rows[ticket_id]
    assert (row["district_name"], row["area_name"], row["pole"]) == ("Korangi", "Korangi 6",
                                                                    "K6-02")
    assert row["assigned_to"].startswith("'=")  # a spreadsheet shows it, does not run it
    assert row["sla_due"].endswith("+05:00") and row["status"] == "assigned"
    world.clear_ticket(ticket_id)


def test_nodes_csv(world: World):
    rows = csv_rows(world, "tariq", "/api/v1/export/nodes.csv", district="malir")
    assert [r["id"] for r in rows] == ["khi-mal-0001"]
    assert (rows[0]["district_name"], rows[0]["area_name"]) == ("Malir", "Malir Cantt")
    assert rows[0]["open_alerts"].split() == sorted(rows[0]["open_alerts"].split())
    assert "node_offline" in rows[0]["open_alerts"]


def test_an_urdu_area_name_survives_the_csv_as_excel_reads_it(world: World):
    world.add_node("khi-kor-0051", "korangi", "Korangi 7 کورنگی", 24.8950, 67.1950, pole="KT-51")
    r = world.get("tariq", "/api/v1/export/nodes.csv", district="korangi")
    # Excel takes UTF-8 only with the byte order mark; without it Urdu is mojibake
    assert r.content.startswith(b"\xef\xbb\xbf")
    rows = {x["id"]: x for x in csv.DictReader(io.StringIO(r.content.decode("utf-8-sig")))}
    assert rows["khi-kor-0051"]["area_name"] == "Korangi 7 کورنگی"
