"""A crew's ticket updates from a phone on a bad network (issue 11): sent again and again
with the same idempotency key they are applied once, with the time the crew acted; one
the ticket can no longer make (the sensor verified it meanwhile) is a 409 with the ticket
as it is now. Photos prove a repair. And the ticket says where it is in people's words:
pole and area name."""

from __future__ import annotations

import struct
import time
import uuid
import zlib
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.hub.api.conftest import World


def key() -> str:
    return str(uuid.uuid4())


def notes(ticket: dict, note: str) -> list[dict]:
    return [e for e in ticket["history"] if e["note"] == note]


def test_an_update_sent_again_with_its_key_is_applied_once_at_the_time_the_crew_acted(
        world: World):
    ticket_id = world.new_ticket("khi-kor-0001", "low_power", priority=3)
    acted = time.time() - 120  # done offline two minutes ago
    body = {"status": "in_progress", "note": "offline: fuse box opened",
            "idempotency_key": key(), "acted_at": acted}
    with world.as_("kamran") as c:
        first = c.patch(f"/api/v1/tickets/{ticket_id}", json=body)
        again = c.patch(f"/api/v1/tickets/{ticket_id}", json=body)
    assert first.status_code == 200, first.text
    assert again.status_code == 200, again.text
    assert again.headers.get("idempotent-replayed") == "true"
    assert "idempotent-replayed" not in first.headers
    assert again.json()["status"] == first.json()["status"] == "in_progress"
    stored = world.get("kamran", f"/api/v1/tickets/{ticket_id}").json()
    [entry] = notes(stored, "offline: fuse box opened")
    assert entry["at"] == acted and entry["recorded_at"] >= acted + 120
    assert entry["actor"] == "kamran"
    world.clear_ticket(ticket_id)


def test_the_same_update_sent_at_once_many_times_is_applied_once(world: World):
    ticket_id = world.new_ticket("khi-kor-0001", "low_power", priority=3)
    body = {"status": "fixed", "note": "replaced the choke", "idempotency_key": key(),
            "acted_at": time.time() - 5}
    with world.as_("kamran") as c, ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda _: c.patch(f"/api/v1/tickets/{ticket_id}", json=body),
                                range(6)))
    assert [r.status_code for r in answers] == [200] * 6, [r.text for r in answers]
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in answers) == 5
    stored = world.get("kamran", f"/api/v1/tickets/{ticket_id}").json()
    assert len(notes(stored, "replaced the choke")) == 1
    assert stored["fixed_at"] == body["acted_at"]
    world.clear_ticket(ticket_id)


def test_an_update_the_sensor_overtook_is_a_conflict_with_the_ticket_as_it_is_now(
        world: World):
    ticket_id = world.new_ticket("khi-kor-0001", "low_power", priority=3)
    acted = time.time() - 60
    world.clear_ticket(ticket_id)  # the lamp burnt all night: verified before the crew's
    with world.as_("kamran") as c:  # update arrives
        r = c.patch(f"/api/v1/tickets/{ticket_id}",
                    json={"status": "fixed", "note": "cleaned the photocell",
                          "idempotency_key": key(), "acted_at": acted})
    assert r.status_code == 409, r.text
    assert "verified" in r.json()["detail"]
    assert r.json()["ticket"]["id"] == ticket_id
    assert r.json()["ticket"]["status"] == "verified"
    assert notes(world.get("kamran", f"/api/v1/tickets/{ticket_id}").json(),
                 "cleaned the photocell") == []


def test_acted_at_and_keys_out_of_bounds_are_refused_with_a_reason(world: World):
    ticket_id = world.new_ticket("khi-kor-0001", "low_power", priority=3)
    other = world.new_ticket("khi-kor-0001", "day_burner", priority=3)
    opened = world.get("kamran", f"/api/v1/tickets/{ticket_id}").json()["opened_at"]
    url = f"/api/v1/tickets/{ticket_id}"
    with world.as_("kamran") as c:
        future = c.patch(url, json={"status": "assigned", "acted_at": time.time() + 3600})
        before = c.patch(url, json={"status": "assigned", "acted_at": opened - 60})
        bad_key = c.patch(url, json={"status": "assigned", "idempotency_key": "x y"})
        used = key()
        assert c.patch(url, json={"status": "assigned", "idempotency_key": used}
                       ).status_code == 200
        reused = c.patch(f"/api/v1/tickets/{other}",
                         json={"status": "assigned", "idempotency_key": used})
    assert future.status_code == 422 and "future" in future.json()["detail"]
    assert before.status_code == 422 and "before" in before.json()["detail"]
    assert bad_key.status_code == 422 and bad_key.json()["detail"]
    assert reused.status_code == 422 and "another update" in reused.json()["detail"]
    assert world.get("kamran", f"/api/v1/tickets/{other}").json()["status"] == "open"
    for t in (ticket_id, other):
        world.clear_ticket(t)


def test_a_ticket_names_its_pole_area_and_district(world: World):
    t = world.get("kamran", f"/api/v1/tickets/{world.tickets['k6']}").json()
    assert (t["pole"], t["area_name"], t["district_name"]) == ("K6-02", "Korangi 6", "Korangi")
    queue = world.get("kamran", "/api/v1/tickets", status="outstanding").json()["data"]
    assert {(q["node"], q["pole"], q["area_name"]) for q in queue} >= {
        ("khi-kor-0002", "K6-02", "Korangi 6")}


def png(width: int = 4, height: int = 3) -> bytes:
    """A real (tiny) PNG image."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))
    rows = b"".join(b"\0" + b"\xf5\xb7\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def test_a_crew_proves_a_repair_with_a_photo_seen_by_those_who_may_see_the_ticket(
        world: World):
    ticket_id = world.new_ticket("khi-kor-0001", "low_power", priority=3)
    photo, url = png(), f"/api/v1/tickets/{ticket_id}/photos"
    first, second = key(), key()
    with world.as_("kamran") as c:
        put = c.put(f"{url}/{first}", content=photo, headers={"Content-Type": "image/png"})
        again = c.put(f"{url}/{first}", content=photo, headers={"Content-Type": "image/png"})
        # by content, not by name: text called a JPEG, and a photo over the cap, are refused
        fake = c.put(f"{url}/{second}", content=b"<html>not a photo</html>" * 10,
                     headers={"Content-Type": "image/jpeg"})
        huge = c.put(f"{url}/{second}", content=photo + b"\0" * 2_000_000)
        moved = c.patch(f"/api/v1/tickets/{ticket_id}",
                        json={"status": "fixed", "note": "new lamp, see photo",
                              "photos": [first]})
        unknown = c.patch(f"/api/v1/tickets/{ticket_id}",
                          json={"status": "fixed", "photos": [key()]})
    assert put.status_code == 200, put.text
    assert again.json() == put.json()
    assert fake.status_code == 415 and "JPEG" in fake.json()["detail"]
    assert huge.status_code == 413 and huge.json()["detail"]
    assert moved.status_code == 200, moved.text
    assert unknown.status_code in (409, 422)  # fixed already; and no such photo
    [entry] = notes(moved.json(), "new lamp, see photo")
    assert entry["photos"] == [put.json()]
    # the crew and the area's committee see it; another district's crew and nobody do not
    for name, status in (("kamran", 200), ("kiran", 200), ("mehwish", 404), (None, 401)):
        r = world.get(name, put.json()["url"])
        assert r.status_code == status, (name, r.text)
        if status == 200:
            assert r.content == photo and r.headers["content-type"] == "image/png"
    # Open311 offers it as the service request's media_url, a public unguessable address
    sr = world.get(None, f"/open311/v2/requests/ticket-{ticket_id}.json").json()[0]
    # Open311 clients (FixMyStreet, a city's CRM) run elsewhere: the address is whole
    assert sr["media_url"].startswith(f"{world.url}/api/v1/tickets/photos/")
    assert len(sr["media_url"].rsplit("/", 1)[1]) >= 40
    public = httpx.get(sr["media_url"], timeout=10)
    assert public.status_code == 200 and public.content == photo
    assert world.get(None, "/api/v1/tickets/photos/not-a-token").status_code == 404
    world.clear_ticket(ticket_id)
