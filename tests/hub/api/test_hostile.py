"""Hostile clients and hostile input (issue 10): whatever a client sends, the hub answers a
4xx JSON {"detail": ...}, and no guesser escapes the login throttle.

Every route is found in the hub's own OpenAPI document, so a route added later is checked
too. Some requests come from other loopback addresses (127.0.0.2 … 127.0.0.254) as if from
other machines: the world's hub trusts 127.0.0.2 as its reverse proxy."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from hub.supervise import HubProcess, Mosquitto
from tests.hub.api.conftest import (
    ACCOUNT_LIMIT,
    ADDRESS_LIMIT,
    METRICS_TOKEN,
    PASSWORD,
    PROXY,
    SECRET_KEY,
    World,
    add_user,
)

BIG = str(2**63)
HOSTILE_BODIES = {
    "NaN": b'{"note": NaN, "status": "in_progress", "language": "en"}',
    "Infinity": b'{"note": "n", "priority": Infinity, "lat": -Infinity}',
    "1e999": b'{"note": "n", "lat": 1e999, "lon": 1e999}',
    "lone surrogate": b'{"note": "\\ud800", "name": "x\\udfff"}',
    "2^63": b'{"note": "n", "priority": 9223372036854775808, "interval_s": 9223372036854775808}',
    "control character": b'{"note": "dark\\u0001lamp", "status": "in_progress"}',
}


def operations(world: World) -> Iterator[tuple[str, str, dict[str, Any]]]:
    spec = world.get("ayesha", "/openapi.json").json()
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            if "stream" not in path:
                yield method.upper(), path, op


def fill(path: str, op: dict[str, Any], value: str | None = None) -> str:
    """The path with its parameters filled in: integers with `value` (or 1)."""
    types = {p["name"]: p.get("schema", {}).get("type") for p in op.get("parameters", ())
             if p["in"] == "path"}

    def one(m: re.Match[str]) -> str:
        name = m.group(1)
        if name == "fmt":
            return "json"
        return (value or "1") if types.get(name) == "integer" else "khi-kor-0001"

    return re.sub(r"\{([^}]+)\}", one, path)


def is_clear_4xx(r: httpx.Response) -> bool:
    return (400 <= r.status_code < 500 and r.headers["content-type"].startswith(
        "application/json") and "detail" in r.json())


def test_every_json_endpoint_refuses_what_json_cannot_hold_with_a_4xx(world: World):
    checked = []
    with world.as_("ayesha") as c:
        for method, path, op in operations(world):
            content = op.get("requestBody", {}).get("content", {})
            if "application/json" not in content:
                continue
            for name, body in HOSTILE_BODIES.items():
                r = c.request(method, fill(path, op), content=body,
                              headers={"content-type": "application/json"})
                assert is_clear_4xx(r), (method, path, name, r.status_code, r.text[:200])
            checked.append(path)
    assert len(checked) >= 5, checked  # the check found the API's JSON endpoints


def test_ids_offsets_and_numbers_of_2_63_and_more_are_a_4xx(world: World):
    checked = 0
    with world.as_("ayesha") as c:
        for method, path, op in operations(world):
            params = op.get("parameters", ())
            if any(p["in"] == "path" and p.get("schema", {}).get("type") == "integer"
                   for p in params):
                r = c.request(method, fill(path, op, BIG), json={})
                assert is_clear_4xx(r), (method, path, r.status_code, r.text[:200])
                checked += 1
            if method != "GET":
                continue
            for p in params:
                types = {s.get("type") for s in (p.get("schema", {}),
                                                 *p.get("schema", {}).get("anyOf", ()))}
                if p["in"] == "query" and types & {"integer", "number"}:
                    for value in (BIG, "1e999"):
                        r = c.get(fill(path, op), params={p["name"]: value})
                        assert is_clear_4xx(r), (path, p["name"], value, r.status_code,
                                                 r.text[:200])
                        checked += 1
    assert checked >= 10


@pytest.mark.parametrize("stop", ["1e20", "1e12", "-5"])
def test_a_reading_range_beyond_what_influxdb_holds_is_a_400_not_influxdbs_error(
        world: World, stop: str):
    # the day before `stop`, by default
    r = world.get("tariq", "/api/v1/nodes/khi-kor-0009/readings", stop=stop)
    assert r.status_code in (400, 422), r.text
    assert "InfluxDB" not in r.json()["detail"]


def test_json_answers_tell_the_browser_not_to_sniff(world: World):
    for path in ("/api/v1/tickets", "/api/v1/no-such-thing", "/healthz",
                 "/open311/v2/requests.json"):
        r = world.get("ayesha", path)
        assert r.headers.get("x-content-type-options") == "nosniff", path


def from_address(world: World, address: str) -> httpx.Client:
    """A client whose requests come from `address` (a loopback address of its own)."""
    return httpx.Client(base_url=world.url, timeout=30,
                        transport=httpx.HTTPTransport(local_address=address))


def login(c: httpx.Client, name: str, password: str, **headers: str) -> httpx.Response:
    return c.post("/api/v1/auth/token", data={"username": name, "password": password},
                  headers=headers)


def test_a_forwarded_for_header_does_not_reset_the_login_throttle(world: World):
    """From 127.0.0.1, the address uvicorn trusts X-Forwarded-For from by default."""
    assert add_user(world.hub, "xff-target", "crew", "--district", "east").returncode == 0
    with from_address(world, "127.0.0.1") as c:
        codes = [login(c, "xff-target", f"guess-{i}", **{"X-Forwarded-For": f"10.9.{i}.1"}
                       ).status_code for i in range(6)]
    assert codes == [401] * 5 + [429], codes


def test_one_account_guessed_from_many_addresses_is_throttled(world: World):
    assert add_user(world.hub, "many-guessers", "crew", "--district", "east").returncode == 0
    codes = []
    for i in range(ACCOUNT_LIMIT + 1):
        with from_address(world, f"127.0.0.{30 + i}") as c:
            codes.append(login(c, "many-guessers", f"guess-{i}").status_code)
    assert codes == [401] * ACCOUNT_LIMIT + [429], codes
    with from_address(world, "127.0.0.99") as c:
        r = login(c, "many-guessers", PASSWORD)
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0


def test_one_address_guessing_many_accounts_is_throttled(world: World):
    codes = []
    with from_address(world, "127.0.0.12") as c:
        for i in range(ADDRESS_LIMIT + 1):
            codes.append(login(c, f"nobody-{i}", "guess").status_code)
        assert codes == [401] * ADDRESS_LIMIT + [429], codes
        # logging in to one's own account does not reset the count
        assert login(c, "kamran", PASSWORD).status_code == 429
    with from_address(world, "127.0.0.13") as c:
        assert login(c, "kamran", PASSWORD).status_code == 200


def test_a_trusted_proxy_names_the_client(world: World):
    """Behind the configured reverse proxy, each client is throttled on its own address."""
    assert add_user(world.hub, "behind-proxy", "crew", "--district", "east").returncode == 0
    with from_address(world, PROXY) as proxy:
        for _ in range(5):
            r = login(proxy, "behind-proxy", "guess", **{"X-Forwarded-For": "198.51.100.7"})
            assert r.status_code == 401
        blocked = login(proxy, "behind-proxy", PASSWORD,
                        **{"X-Forwarded-For": "198.51.100.7"})
        assert blocked.status_code == 429
        other = login(proxy, "behind-proxy", PASSWORD, **{"X-Forwarded-For": "198.51.100.8"})
        assert other.status_code == 200, other.text


# --- /metrics and /docs ---


def test_metrics_and_docs_are_served_locally_and_not_to_clients_elsewhere(world: World):
    assert world.get(None, "/metrics").status_code == 200
    docs = world.get(None, "/docs")
    assert docs.status_code == 200
    with from_address(world, PROXY) as proxy:  # a client on the street, through the proxy
        elsewhere = {"X-Forwarded-For": "198.51.100.20"}
        for path in ("/metrics", "/docs", "/openapi.json"):
            r = proxy.get(path, headers=elsewhere)
            assert r.status_code == 403 and "detail" in r.json(), path
        # Prometheus elsewhere, with the configured bearer token
        r = proxy.get("/metrics", headers={**elsewhere,
                                           "Authorization": f"Bearer {METRICS_TOKEN}"})
        assert r.status_code == 200 and "roshni_readings_received_total" in r.text
        wrong = proxy.get("/metrics", headers={**elsewhere, "Authorization": "Bearer guess"})
        assert wrong.status_code == 403


def test_the_docs_page_loads_its_files_from_the_hub_not_a_cdn(world: World):
    page = world.get(None, "/docs").text
    sources = re.findall(r'(?:src|href)="([^"]+)"', page) + re.findall(r"url: '([^']+)'", page)
    assert sources, page
    assert not [s for s in sources if s.startswith(("http:", "https:", "//"))], sources
    for src in re.findall(r'(?:src|href)="([^"]+)"', page):
        r = world.get(None, src)
        assert r.status_code == 200 and len(r.content) > 1000, src
    assert "SwaggerUIBundle" in world.get(None, "/docs/assets/swagger-ui-bundle.js").text


# --- a hub whose Open311 takes reports without a key, and serves no docs or metrics ---


@pytest.fixture(scope="module")
def keyless_hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubProcess]:
    """Its own broker and state; InfluxDB is not needed for what it is asked here (a
    report far from any lamp is judged without readings)."""
    workdir = tmp_path_factory.mktemp("keyless")
    with Mosquitto(workdir / "mosquitto") as mosquitto, HubProcess(workdir / "hub", {
            "ROSHNI_MQTT__URL": mosquitto.url, "ROSHNI_INFLUX__URL": "http://127.0.0.1:9",
            "ROSHNI_AUTH__SECRET_KEY": SECRET_KEY, "ROSHNI_OPEN311__API_KEYS": "",
            "ROSHNI_OPEN311__REPORTS_PER_ADDRESS": "3", "ROSHNI_HTTP__METRICS": "off",
            "ROSHNI_HTTP__DOCS": "off"}) as hub:
        yield hub


def test_anonymous_reports_are_limited_per_address(keyless_hub: HubProcess):
    form = {"service_code": "street_light_out", "lat": "24.70", "long": "66.90",
            "description": "dark street"}

    def post(address: str) -> httpx.Response:
        with httpx.Client(transport=httpx.HTTPTransport(local_address=address),
                          timeout=30) as c:
            return c.post(f"{keyless_hub.url}/open311/v2/requests.json", data=form)

    codes = [post("127.0.0.21").status_code for _ in range(5)]
    assert codes == [201, 201, 201, 429, 429], codes
    r = post("127.0.0.21")
    assert 0 < int(r.headers["retry-after"]) <= 3600 and "too many reports" in r.json()["detail"]
    assert post("127.0.0.22").status_code == 201  # another address is not affected


def test_metrics_and_docs_can_be_switched_off(keyless_hub: HubProcess):
    for path in ("/metrics", "/docs", "/openapi.json"):
        assert httpx.get(f"{keyless_hub.url}{path}", timeout=30).status_code == 404, path
    assert httpx.get(f"{keyless_hub.url}/healthz", timeout=30).status_code == 200


# --- Open311 as a client library nobody here wrote sees it ---


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_an_independent_open311_client_reads_every_service_and_request(world: World, fmt):
    from georeport import GeoReport  # georeport on PyPI, GeoReport v2 client

    client = GeoReport(f"{world.url}/open311/v2", jurisdiction="karachi",
                       output_format=fmt)
    services = client.get_service_list()
    codes = [s["service_code"] for s in services]
    assert "street_light_out" in codes
    for code in codes:
        definition = client.get_service_definition(code)
        assert definition["service_code"] == code
        assert definition["attributes"] in ([], None)  # XML: an empty <attributes/>
    requests = client.get_service_requests()
    requests = requests if isinstance(requests, list) else [requests]
    assert requests and all(r["service_request_id"] for r in requests)
    one = client.get_service_request(requests[0]["service_request_id"])
    assert one["service_request_id"] == requests[0]["service_request_id"]


def test_an_unknown_service_definition_is_404(world: World):
    r = world.get(None, "/open311/v2/services/pothole.json")
    assert r.status_code == 404 and "pothole" in r.json()["detail"]
