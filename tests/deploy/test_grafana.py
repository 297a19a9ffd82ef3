"""deploy/grafana/roshni.json: every InfluxQL query of the dashboard, with Grafana's macros
and template variables filled in as Grafana does, runs against a real InfluxDB 1.x that
holds readings, events and status in the hub's line protocol, and each panel gets data;
every measurement, field and tag it names is one the hub writes (DESIGN.md §5), so a
renamed field breaks this test rather than a chart."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.lineproto import line, reading_line, series_key
from hub.supervise import Influxd
from protocol.payloads import READING_FIELD_TYPES, Event, Reading, Status
from tests.support import influx_query

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "roshni.json"
TAGS = {"node", "district", "area"}
# What the hub writes per measurement (hub/pipeline.py): reading fields from the payload
# schema; an event's seq (and its detail) under a `type` tag; a status change's fields.
FIELDS = {
    "reading": set(READING_FIELD_TYPES),
    "event": {"seq"} & set(Event.model_fields),
    "status": {"state", "session", "reason", "fw"} & set(Status.model_fields),
}
EXTRA_TAGS = {"event": {"type"}}
NODES = [  # node, district, area, lamp burning?
    ("khi-kor-0001", "korangi", "korangi-5", True),
    ("khi-kor-0002", "korangi", "korangi-5", False),
    ("khi-kor-0003", "korangi", "korangi-6", True),
    ("khi-mal-0001", "malir", "malir-cantt", False),
]
INTERVAL = "5m"


def _dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text())


def _panels(d: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for p in d["panels"]:
        out.append(p)
        out.extend(p.get("panels", []))  # collapsed rows hold theirs
    return [p for p in out if p.get("type") != "row"]


def _queries(d: dict[str, Any]) -> list[tuple[str, str]]:
    """(where, InfluxQL) of every panel target and template variable."""
    found = [(f"panel {p['title']!r} {t['refId']}", t["query"])
             for p in _panels(d) for t in p["targets"]]
    found += [(f"variable ${v['name']}", v["query"]) for v in d["templating"]["list"]]
    return found


def _lines(now: float) -> bytes:
    out = []
    for i, (node, district, area, burning) in enumerate(NODES):
        tags = {"node": node, "district": district, "area": area}
        for k in range(180):  # three hours, one reading a minute
            ts = now - (180 - k) * 60
            r = Reading.model_validate({
                "v": 1, "node": node, "seq": k, "ts": ts, "interval_s": 60,
                "lamp_on": burning, "lux": 2.5 + i, "lamp_w": 48.0 if burning else 0.0,
                "lamp_a": 0.21, "mains_v": 0.0 if k > 170 else 229.5, "energy_wh": 100.0 + k,
                "footfall": k % 5, "presence_s": k % 60, "tamper": k == 90 and i == 0,
                "cpu_c": 51.0, "uptime_s": 3600 + k * 60, "rssi_dbm": -61, "spool": k % 3})
            out.append(reading_line(series_key("reading", tags), r, int(ts * 1e6)))
        ev = line(series_key("event", tags) + ",type=lamp_off", {"seq": 1},
                  int((now - 3000) * 1e6))
        st = line(series_key("status", tags), {"state": "offline", "session": 3,
                                               "reason": "lost", "fw": "0.1.0"},
                  int((now - 1200) * 1e6))
        out += [ev, st]
    return "\n".join(x for x in out if x).encode()


@pytest.fixture
def server(influxd: Influxd) -> Iterator[tuple[Influxd, float]]:
    now = time.time()
    urllib.request.urlopen(urllib.request.Request(
        f"{influxd.url}/query?q=CREATE+DATABASE+roshni", method="POST"), timeout=10)
    with urllib.request.urlopen(urllib.request.Request(
            f"{influxd.url}/write?db=roshni&precision=u", data=_lines(now), method="POST"),
            timeout=30) as r:
        assert r.status == 204
    yield influxd, now


def _regex(values: list[str]) -> str:
    """A multi-value variable as Grafana puts it into an InfluxQL regex."""
    escaped = [re.sub(r"([\\^$.|?*+()\[\]{}/])", r"\\\1", v) for v in values]
    return escaped[0] if len(escaped) == 1 else f"({'|'.join(escaped)})"


def _fill(query: str, variables: dict[str, list[str]], now: float) -> str:
    start, end = int((now - 6 * 3600) * 1000), int(now * 1000)
    q = query.replace("$timeFilter", f"time >= {start}ms and time <= {end}ms")
    q = q.replace("$__interval", INTERVAL)
    for name, values in variables.items():
        q = q.replace(f"${name}", _regex(values))
    assert "$" not in q.replace("$/", "/").replace("^", ""), f"unfilled macro in {q}"
    return q


def _resolve(url: str, d: dict[str, Any], now: float,
             chosen: dict[str, list[str]]) -> dict[str, list[str]]:
    """Template variables in order, each from its query over the ones before; `chosen`
    values instead of All where given."""
    values: dict[str, list[str]] = {}
    for v in d["templating"]["list"]:
        series = influx_query(url, _fill(v["query"], values, now))
        options = sorted(row[1] for s in series for row in s["values"])
        assert options, f"variable ${v['name']} has no values"
        values[v["name"]] = chosen.get(v["name"], options)
    return values


def test_dashboard_is_importable() -> None:
    d = _dashboard()
    assert [i["name"] for i in d["__inputs"]] == ["DS_INFLUXDB"]
    assert d["__inputs"][0]["pluginId"] == "influxdb"
    panels = _panels(d)
    assert len({p["id"] for p in d["panels"]}) == len(d["panels"])
    for p in panels:
        assert p["datasource"] == {"type": "influxdb", "uid": "${DS_INFLUXDB}"}, p["title"]
        assert 0 <= p["gridPos"]["x"] and p["gridPos"]["x"] + p["gridPos"]["w"] <= 24
        assert p["targets"], p["title"]
        for t in p["targets"]:
            assert t["rawQuery"] is True and t["datasource"] == p["datasource"]
    assert {v["name"] for v in d["templating"]["list"]} == {"district", "area", "node"}


def test_dashboard_names_only_what_the_hub_writes() -> None:
    d = _dashboard()
    for where, q in _queries(d):
        measurements = set(re.findall(r'FROM "(\w+)"', q))
        assert measurements and measurements <= set(FIELDS), f"{where}: {measurements}"
        aliases = set(re.findall(r'AS "([^"]+)"', q))
        allowed = TAGS | aliases | measurements
        for m in measurements:
            allowed |= FIELDS[m] | EXTRA_TAGS.get(m, set())
        names = set(re.findall(r'"([^"]+)"', q))
        assert names <= allowed, f"{where} names {names - allowed}, which the hub never writes"
        if where.startswith("panel"):
            assert names - TAGS - aliases - measurements, f"{where} reads no field"
    for p in _panels(d):
        for t in p["targets"]:
            for tag in re.findall(r"\$tag_(\w+)", t.get("alias", "")):
                assert f'GROUP BY time($__interval), "{tag}"' in t["query"], p["title"]


@pytest.mark.parametrize("chosen", [{}, {"district": ["korangi"]}],
                         ids=["all", "district=korangi"])
def test_every_query_runs_and_every_panel_has_data(server: tuple[Influxd, float],
                                                  chosen: dict[str, list[str]]) -> None:
    influxd, now = server
    d = _dashboard()
    variables = _resolve(influxd.url, d, now, chosen)
    if chosen:
        assert variables["area"] == ["korangi-5", "korangi-6"]
        assert variables["node"] == ["khi-kor-0001", "khi-kor-0002", "khi-kor-0003"]
    else:
        assert variables["district"] == ["korangi", "malir"]
    for p in _panels(d):
        for t in p["targets"]:
            series = influx_query(influxd.url, _fill(t["query"], variables, now))
            assert series and any(s["values"] for s in series), \
                f"panel {p['title']!r} {t['refId']} has no data"
            for s in series:
                district = s.get("tags", {}).get("district")
                assert district is None or district in variables["district"], p["title"]


def test_lamp_counts_are_the_lamps(server: tuple[Influxd, float]) -> None:
    influxd, now = server
    d = _dashboard()
    variables = _resolve(influxd.url, d, now, {})
    by_title = {p["title"]: p for p in _panels(d)}

    def value(title: str) -> Any:
        series = influx_query(influxd.url, _fill(by_title[title]["targets"][0]["query"],
                                                 variables, now))
        return series[0]["values"][-1][1]

    assert value("Burning now") == 2
    assert value("Dark now") == 2
    assert value("Tamper alarms") == 1
    dark = influx_query(influxd.url, _fill(by_title["Lamps dark by district"]["targets"][0]
                                           ["query"], variables, now))
    last = {s["tags"]["district"]: s["values"][-2][1] for s in dark}
    assert last == {"korangi": 1, "malir": 1}
