"""Every role against every resource: what each person may list, open and export, with
the scope rules of DESIGN.md §7 — lists filtered, 404 (not 403) for an object outside the
scope, 403 only for what a role may never do."""

from __future__ import annotations

import csv
import io
import time

import pytest
from sqlalchemy import insert

from hub.db import writing
from hub.models import SpotScore
from tests.hub.api.conftest import World

# Where each person may look: districts (crew) or areas (committee); None: everywhere.
SCOPES = {
    "ayesha": None, "tariq": None,
    "kamran": ("district", {"korangi"}), "mehwish": ("district", {"malir"}),
    "kiran": ("area", {"korangi-5"}), "zara": ("area", {"korangi-5", "malir-cantt"}),
}
# seeded objects by where they are
PLACES = {"k5": ("korangi", "korangi-5"), "k5-urgent": ("korangi", "korangi-5"),
          "k6": ("korangi", "korangi-6"), "malir": ("malir", "malir-cantt")}


def in_scope(person: str, district: str, area: str) -> bool:
    scope = SCOPES[person]
    if scope is None:
        return True
    kind, places = scope
    return (district if kind == "district" else area) in places


def visible(person: str) -> set[str]:
    return {k for k, (d, a) in PLACES.items() if in_scope(person, d, a)}


PEOPLE = list(SCOPES)


@pytest.mark.parametrize("person", PEOPLE)
def test_ticket_lists_hold_exactly_the_persons_scope(world: World, person: str):
    r = world.get(person, "/api/v1/tickets", limit=500)
    if person == "tariq":
        assert r.status_code == 403, r.text  # technicians look after nodes, not repairs
        assert "technician" in r.json()["detail"]
        return
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"data", "count"}
    got = {t["id"] for t in body["data"]}
    assert all(in_scope(person, t["district"], t["area"]) for t in body["data"])
    assert {world.tickets[k] for k in visible(person)} <= got
    assert not {world.tickets[k] for k in set(PLACES) - visible(person)} & got
    assert body["count"] == len(body["data"])


@pytest.mark.parametrize("person", PEOPLE)
def test_a_ticket_outside_the_scope_is_not_found(world: World, person: str):
    for key in PLACES:
        r = world.get(person, f"/api/v1/tickets/{world.tickets[key]}")
        if person == "tariq":
            assert r.status_code == 403
        elif key in visible(person):
            assert r.status_code == 200, r.text
            assert r.json()["id"] == world.tickets[key]
        else:
            assert r.status_code == 404, (person, key, r.text)
            assert r.json() == {"detail": f"no ticket {world.tickets[key]}"}
    # and one that does not exist at all looks just the same
    if person != "tariq":
        assert world.get(person, "/api/v1/tickets/999999").status_code == 404


@pytest.mark.parametrize("person", PEOPLE)
def test_alert_lists_and_alerts_follow_the_scope(world: World, person: str):
    r = world.get(person, "/api/v1/alerts", limit=500)
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert all(in_scope(person, a["district"], a["area"]) for a in data)
    got = {a["id"] for a in data}
    for key, (district, area) in PLACES.items():
        alert_id = world.alerts[key]
        assert (alert_id in got) == in_scope(person, district, area), (person, key)
        status = world.get(person, f"/api/v1/alerts/{alert_id}").status_code
        assert status == (200 if in_scope(person, district, area) else 404), (person, key)


@pytest.mark.parametrize("person", PEOPLE)
def test_node_lists_and_node_pages_follow_the_scope(world: World, person: str):
    r = world.get(person, "/api/v1/nodes", limit=500)
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert all(in_scope(person, n["district"], n["area"]) for n in data)
    if SCOPES[person] is not None:
        assert not [n for n in data if n["state"] == "pending"]
    for node in ("khi-kor-0001", "khi-kor-0002", "khi-mal-0001"):
        row = world.get("ayesha", f"/api/v1/nodes/{node}").json()
        expected = 200 if in_scope(person, row["district"], row["area"]) else 404
        assert world.get(person, f"/api/v1/nodes/{node}").status_code == expected
        readings = world.get(person, f"/api/v1/nodes/{node}/readings")
        assert readings.status_code == expected, readings.text


def test_a_filter_outside_the_scope_gives_an_empty_list_not_someone_elses(world: World):
    r = world.get("kamran", "/api/v1/tickets", district="malir")
    assert r.json() == {"data": [], "count": 0}
    r = world.get("kiran", "/api/v1/alerts", area="Korangi 6")
    assert r.json() == {"data": [], "count": 0}
    r = world.get("kiran", "/api/v1/nodes", area="Korangi 5")
    assert {n["id"] for n in r.json()["data"]} >= {"khi-kor-0001", "khi-kor-0003"}
    # zara's two areas, narrowed to one of them by its name
    r = world.get("zara", "/api/v1/tickets", area="Malir Cantt")
    assert {t["area"] for t in r.json()["data"]} == {"malir-cantt"}


@pytest.mark.parametrize("person", PEOPLE)
def test_exports_follow_the_same_scope(world: World, person: str):
    nodes = world.get(person, "/api/v1/export/nodes.geojson")
    assert nodes.status_code == 200
    assert nodes.headers["content-type"].startswith("application/geo+json")
    fc = nodes.json()
    assert fc["type"] == "FeatureCollection"
    assert fc["features"] and all(in_scope(person, f["properties"]["district"],
                                           f["properties"]["area"]) for f in fc["features"])

    alerts = world.get(person, "/api/v1/export/alerts.geojson").json()
    ids = {f["id"] for f in alerts["features"]}
    for key, (district, area) in PLACES.items():
        assert (world.alerts[key] in ids) == in_scope(person, district, area)

    csv_r = world.get(person, "/api/v1/export/tickets.csv")
    if person == "tariq":
        assert csv_r.status_code == 403
        return
    assert csv_r.status_code == 200
    assert csv_r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(csv_r.content.decode("utf-8-sig"))))
    assert all(in_scope(person, r["district"], r["area"]) for r in rows)
    exported = {int(r["id"]) for r in rows}
    assert {world.tickets[k] for k in visible(person)} <= exported
    assert not {world.tickets[k] for k in set(PLACES) - visible(person)} & exported


@pytest.mark.parametrize("person", PEOPLE)
def test_what_each_role_may_never_do_is_403(world: World, person: str):
    role = {"ayesha": "admin", "tariq": "technician", "kamran": "crew", "mehwish": "crew",
            "kiran": "committee", "zara": "committee"}[person]
    with world.as_(person) as c:
        users = c.get("/api/v1/users").status_code
        audit = c.get("/api/v1/audit").status_code
        register = c.post("/api/v1/nodes", json={
            "id": f"khi-tst-{person[:4]}", "district": "east", "area": "Gulshan",
            "lat": 24.92, "lon": 67.09}).status_code
        ack = c.post(f"/api/v1/alerts/{world.alerts['malir-offline']}/ack").status_code
        # asking for what only the sensor may do changes nothing, whoever asks
        move = c.patch(f"/api/v1/tickets/{world.tickets['malir']}",
                       json={"status": "verified", "note": "x"})
    assert (users, audit) == ((200, 200) if role == "admin" else (403, 403))
    assert register == (201 if role in ("admin", "technician") else 403)
    # ack: committee members outside Malir get 404; crews may not ack at all
    assert ack == {"admin": 200, "technician": 200, "crew": 403,
                   "committee": 200 if person == "zara" else 404}[role]
    # the Malir ticket: its crew and the admin are told why not; others never learn of it
    assert move.status_code == {"ayesha": 409, "mehwish": 409, "kamran": 404, "tariq": 403,
                                "kiran": 403, "zara": 403}[person], move.text
    if move.status_code == 409:
        assert "only the sensor verifies" in move.json()["detail"]


def test_without_a_token_nothing_but_health_and_open311(world: World):
    for path in ("/api/v1/tickets", "/api/v1/alerts", "/api/v1/nodes", "/api/v1/spots",
                 "/api/v1/me", "/api/v1/export/nodes.geojson", "/api/v1/export/tickets.csv",
                 "/api/v1/nodes/khi-kor-0001/readings", "/api/v1/reports"):
        r = world.get(None, path)
        assert r.status_code == 401, path
        assert r.headers["www-authenticate"] == "Bearer"
        assert "detail" in r.json()
    assert world.get(None, "/healthz").status_code == 200
    assert world.get(None, "/open311/v2/services.json").status_code == 200


def test_spots_ranking_is_scoped_and_merges_a_committees_areas(world: World):
    night = "2026-01-15"
    scores = {"khi-kor-0001": 40.0, "khi-kor-0003": 5.0, "khi-kor-0002": 70.0,
              "khi-mal-0001": 20.0}
    with writing(world.db) as conn:
        conn.execute(insert(SpotScore), [
            dict(node_id=n, night=night, dark_minutes=30.0, exposure=s, score=s,
                 updated_at=time.time()) for n, s in scores.items()])
    for person in PEOPLE:
        r = world.get(person, "/api/v1/spots", night=night)
        assert r.status_code == 200
        body = r.json()
        got = [s["node"] for s in body["data"]]
        expected = sorted((n for n in scores if in_scope(person, *_place(world, n))),
                          key=lambda n: -scores[n])
        assert got == expected, person
        assert [s["rank"] for s in body["data"]] == list(range(1, len(got) + 1))
        assert body["count"] == len(expected)
    # zara's two areas, paged: the second page carries on the ranking
    page2 = world.get("zara", "/api/v1/spots", night=night, limit=1, offset=1).json()
    assert [(s["rank"], s["node"]) for s in page2["data"]] == [(2, "khi-mal-0001")]
    assert page2["count"] == 3


def _place(world: World, node: str) -> tuple[str, str]:
    n = world.get("ayesha", f"/api/v1/nodes/{node}").json()
    return n["district"], n["area"]


def test_the_api_documents_itself(world: World):
    assert world.get(None, "/docs").status_code == 200
    spec = world.get(None, "/openapi.json").json()
    for path in ("/api/v1/auth/token", "/api/v1/nodes", "/api/v1/nodes/{node_id}/readings",
                 "/api/v1/alerts/{alert_id}/ack", "/api/v1/tickets/{ticket_id}",
                 "/api/v1/spots", "/api/v1/export/nodes.geojson",
                 "/open311/v2/requests.{fmt}"):
        assert path in spec["paths"], path
