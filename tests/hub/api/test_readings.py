"""A node's chart: 7 days of readings in a real InfluxDB, read back raw and downsampled
through the API with InfluxQL over /query — the same answer whether the hub talks to
InfluxDB with `api = "v1"` or `api = "v2"`."""

from __future__ import annotations

import datetime as dt
import time
import urllib.request
from collections.abc import Iterator

import httpx
import pytest

from hub.registry import provision
from hub.supervise import HubProcess, Influxd
from tests.hub.api.conftest import NODES, World, add_user, hub_env

NODE = "khi-kor-0003"
DAYS = 7


def write_lines(influxd: Influxd, lines: list[str]) -> None:
    for start in range(0, len(lines), 5000):
        body = "\n".join(lines[start:start + 5000]).encode()
        req = urllib.request.Request(f"{influxd.url}/write?db=roshni&precision=s", data=body,
                                     method="POST")
        with urllib.request.urlopen(req, timeout=30) as r:
            assert r.status == 204


@pytest.fixture(scope="module")
def week(world: World) -> tuple[int, int]:
    """A reading a minute for 7 days, ending at the last full hour: the lamp on every other
    hour, lux cycling 0..9, footfall cycling 0..4."""
    end = int(time.time()) // 3600 * 3600
    start = end - DAYS * 86400
    lines = []
    for k in range(DAYS * 1440):
        on = "true" if (k // 60) % 2 == 0 else "false"
        lines.append(f"reading,area=korangi-5,district=korangi,node={NODE} "
                     f"seq={k + 1}i,lamp_on={on},lux={k % 10}.0,footfall={k % 5}i,"
                     f"interval_s=60i {start + 60 * k + 30}")
    write_lines(world.influxd, lines)
    return start, end


def check_week(r: httpx.Response, start: int) -> list[dict]:
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["count"] == DAYS * 24 and len(body["data"]) == DAYS * 24
    assert body["aggregates"]["footfall"] == "sum" and body["aggregates"]["lux"] == "mean"
    for i, p in enumerate(body["data"]):
        assert p["ts"] == start + 3600 * i
        assert p["readings"] == 60
        assert p["footfall"] == 120  # 12 × (0+1+2+3+4): counts add up over the hour
        assert p["lux"] == pytest.approx(4.5)
        assert p["lamp_on_ratio"] == (1.0 if i % 2 == 0 else 0.0)
        assert p["lamp_on"] is (i % 2 == 0)
    return body["data"]


def test_a_week_downsampled_to_hours(world: World, week):
    start, end = week
    r = world.get("kiran", f"/api/v1/nodes/{NODE}/readings", start=str(start), stop=str(end),
                  every="1h")
    check_week(r, start)
    # the same week by ISO dates, and by days
    iso = dt.datetime.fromtimestamp(start, dt.UTC).isoformat()
    r = world.get("kamran", f"/api/v1/nodes/{NODE}/readings", start=iso, stop=str(end),
                  every="1d", fields="footfall,lamp_on")
    days = r.json()["data"]
    assert len(days) in (DAYS, DAYS + 1)  # buckets are whole UTC days
    assert sum(d["footfall"] for d in days) == DAYS * 1440 * 2
    assert set(days[0]) == {"ts", "footfall", "lamp_on", "lamp_on_ratio", "readings"}


def test_raw_readings_are_paged(world: World, week):
    _, end = week
    r = world.get("kiran", f"/api/v1/nodes/{NODE}/readings", start=str(end - 600),
                  stop=str(end), limit=3, offset=2)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["count"] == 10 and body["every"] is None
    assert [p["ts"] for p in body["data"]] == [end - 600 + 60 * k + 30 for k in (2, 3, 4)]
    assert body["data"][0]["seq"] > 0 and isinstance(body["data"][0]["lamp_on"], bool)
    # relative times: the last day, raw
    r = world.get("kiran", f"/api/v1/nodes/{NODE}/readings", start="-1d", limit=10000)
    assert r.json()["count"] >= 1380


@pytest.mark.parametrize(("params", "words"), [
    ({"start": "200", "stop": "100"}, "start must be before stop"),
    ({"start": "yesterday"}, "is not a time"),
    ({"every": "5x"}, "give a duration"),
    ({"start": "-30d", "every": "1s"}, "choose every of"),
    ({"start": "-900d"}, "at most 400 days"),
    ({"fields": "lux,colour"}, "unknown fields ['colour']"),
])
def test_bad_ranges_are_a_clear_400(world: World, params, words):
    r = world.get("kiran", f"/api/v1/nodes/{NODE}/readings", **params)
    assert r.status_code == 400
    assert words in r.json()["detail"]


@pytest.fixture(scope="module")
def hub_v2(tmp_path_factory, world: World) -> Iterator[HubProcess]:
    """A second hub that queries the same InfluxDB the `api = "v2"` way: token auth, the
    bucket as the database (InfluxDB 2.x maps it through DBRP; 1.x ignores the token when
    auth is off)."""
    from hub.db import make_engine
    from hub.supervise import Mosquitto

    base = tmp_path_factory.mktemp("hub-v2")
    with Mosquitto(base / "mosquitto") as broker:
        env = hub_env(broker, world.influxd, ROSHNI_INFLUX__API="v2",
                      ROSHNI_INFLUX__TOKEN="a-token", ROSHNI_INFLUX__BUCKET="roshni",
                      ROSHNI_INFLUX__ORG="cplc")
        with HubProcess(base / "hub", env) as hub:
            db = make_engine(f"sqlite:///{base / 'hub' / 'data' / 'hub.db'}")
            district, area, lat, lon, pole = NODES[NODE]
            provision(db, NODE, district=district, area=area, lat=lat, lon=lon, pole=pole)
            db.dispose()
            assert add_user(hub, "kiran", "committee", "--area", area).returncode == 0
            yield hub


def test_the_v2_api_gives_the_same_week(world: World, week, hub_v2: HubProcess):
    start, end = week
    token = httpx.post(f"{hub_v2.url}/api/v1/auth/token",
                       data={"username": "kiran", "password": "lamp-post-42"}).json()
    r = httpx.get(f"{hub_v2.url}/api/v1/nodes/{NODE}/readings",
                  params={"start": start, "stop": end, "every": "1h"},
                  headers={"Authorization": f"Bearer {token['access_token']}"}, timeout=30)
    v2 = check_week(r, start)
    v1 = world.get("kiran", f"/api/v1/nodes/{NODE}/readings", start=str(start),
                   stop=str(end), every="1h").json()["data"]
    assert v2 == v1
