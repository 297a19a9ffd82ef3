"""`GET /api/v1/stream`, the dashboard's live feed, spoken to directly: who may listen, and
that each listener hears only about what the API would show them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.browser.conftest import PASSWORD, PHONE, World, login, wait_live


def token(world: World, user: str) -> str:
    r = httpx.post(f"{world.url}/api/v1/auth/token",
                   data={"username": user, "password": PASSWORD}, timeout=30)
    r.raise_for_status()
    return str(r.json()["access_token"])


class Stream:
    """An open event stream, read event by event."""

    def __init__(self, world: World, bearer: str, headers: dict[str, str] | None = None
                 ) -> None:
        self.client = httpx.Client(timeout=httpx.Timeout(10, read=40))
        self.cm = self.client.stream("GET", f"{world.url}/api/v1/stream", headers={
            "Authorization": f"Bearer {bearer}", **(headers or {})})
        self.response = self.cm.__enter__()
        self.lines = self.response.iter_lines()

    def events(self) -> Iterator[tuple[str, str, Any]]:
        """(event, id, data) for each event with data; comments and retry are skipped."""
        event, ident, data = "message", "", []
        for line in self.lines:
            if line == "":
                if data:
                    yield event, ident, json.loads("\n".join(data))
                event, data = "message", []
            elif line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("id:"):
                ident = line[3:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].strip())

    def until(self, wanted: Any) -> list[tuple[str, str, Any]]:
        """Every event up to and including the first for which `wanted(event, data)`."""
        seen = []
        for event in self.events():
            seen.append(event)
            if wanted(event[0], event[2]):
                return seen
        raise AssertionError(f"the stream ended before the event; saw {seen}")

    def close(self) -> None:
        self.cm.__exit__(None, None, None)
        self.client.close()


@pytest.fixture
def streams() -> Iterator[list[Stream]]:
    opened: list[Stream] = []
    yield opened
    for s in opened:
        s.close()


def test_the_stream_wants_a_valid_token(world):
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        r = httpx.get(f"{world.url}/api/v1/stream", headers=headers, timeout=30)
        assert r.status_code == 401, r.text
        assert "detail" in r.json()


def test_a_token_in_the_url_is_refused_and_the_dashboard_never_puts_it_there(
        world, open_page, guard):
    r = httpx.get(f"{world.url}/api/v1/stream",
                  params={"access_token": token(world, "crew-korangi")}, timeout=30)
    assert r.status_code == 400 and "Authorization" in r.json()["detail"]

    page = open_page(PHONE)
    urls: list[str] = []
    page.on("request", lambda req: urls.append(req.url))
    login(page, world, "crew-korangi")
    wait_live(page)
    bearer = page.evaluate("localStorage.getItem('roshni.token')")
    assert bearer and any("/api/v1/stream" in u for u in urls), urls
    assert not [u for u in urls if bearer in u or "access_token" in u]
    guard.check(page)


def test_a_korangi_crew_hears_of_korangi_tickets_only(world, streams):
    _, malir = world.open("day_burner", "khi-mal-0002", priority=4)
    _, korangi = world.open("day_burner", "khi-kor-0004", priority=4)
    crew = Stream(world, token(world, "crew-korangi"))
    streams.append(crew)
    [(event, _, ready)] = crew.until(lambda e, d: e == "ready")
    assert ready == {"resumed": False}

    world.move(malir, "assigned", "Malir crew on it", actor="crew-malir")
    world.move(korangi, "assigned", "Korangi crew on it")
    # the feed may still pass on the opening, made just before the crew connected
    heard = crew.until(lambda e, d: e == "ticket" and d["id"] == korangi
                       and d["status"] == "assigned")
    assert {d["id"] for e, _, d in heard if e == "ticket"} == {korangi}
    assert heard[-1][2]["history"][-1]["note"] == "Korangi crew on it"


def test_a_committee_hears_of_alerts_in_its_areas(world, streams):
    committee = Stream(world, token(world, "k5-committee"))
    streams.append(committee)
    committee.until(lambda e, d: e == "ready")
    elsewhere, _ = world.open("tamper", "khi-mal-0001", ticket=False)
    mine, _ = world.open("tamper", "khi-kor-0002", ticket=False)
    heard = committee.until(lambda e, d: e == "alert" and d["id"] == mine)
    assert elsewhere not in [d["id"] for e, _, d in heard if e == "alert"]
    assert heard[-1][2]["rule"] == "tamper" and heard[-1][2]["state"] == "active"


def test_a_browser_reconnecting_with_last_event_id_gets_what_it_missed(world, streams):
    bearer = token(world, "crew-korangi")
    first = Stream(world, bearer)
    streams.append(first)
    [(_, last_id, _)] = first.until(lambda e, d: e == "ready")
    first.close()
    streams.remove(first)

    # Another browser listens from before the change (a change made before it connected
    # might be polled before it listens, and it would only be told to reload): once it has
    # heard of it, the feed has it in its history, and the reconnecting one gets it
    # replayed, not merely live.
    other = Stream(world, bearer)
    streams.append(other)
    other.until(lambda e, d: e == "ready")
    _, ticket = world.open("low_power", "khi-kor-0004", priority=3)
    world.move(ticket, "in_progress", "while the first browser was away")
    other.until(lambda e, d: e == "ticket" and d["id"] == ticket
                and d["status"] == "in_progress")

    again = Stream(world, bearer, headers={"Last-Event-ID": last_id})
    streams.append(again)
    heard = again.until(lambda e, d: e == "ticket" and d["id"] == ticket
                        and d["status"] == "in_progress")
    assert heard[0][0] == "ready" and heard[0][2] == {"resumed": True}
