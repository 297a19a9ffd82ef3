"""Helpers the tests share: talking to the real services the way a user or operator would."""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any, TypeVar

import paho.mqtt.client as mqtt

T = TypeVar("T")


def wait_for(probe: Callable[[], T], timeout: float = 30.0, interval: float = 0.1,
             what: str = "condition") -> T:
    """Poll until `probe()` is truthy; return its value or fail with the last value seen."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}; last value: {last!r}")


def influx_query(url: str, q: str, db: str = "roshni") -> list[dict[str, Any]]:
    """InfluxQL over /query; returns the series of the first statement."""
    qs = urllib.parse.urlencode({"db": db, "q": q, "epoch": "u"})
    with urllib.request.urlopen(f"{url}/query?{qs}", timeout=10) as r:
        body = json.loads(r.read())
    result = body["results"][0]
    if "error" in result:
        raise AssertionError(result["error"])
    return list(result.get("series", []))


def influx_rows(url: str, q: str) -> list[dict[str, Any]]:
    """Rows of every series as dicts, tags included."""
    rows = []
    for s in influx_query(url, q):
        for values in s["values"]:
            rows.append({**s.get("tags", {}), **dict(zip(s["columns"], values, strict=True))})
    return rows


def metrics(base_url: str) -> dict[str, float]:
    with urllib.request.urlopen(f"{base_url}/metrics", timeout=10) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


def get_json(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"null")
    except (urllib.error.URLError, OSError):
        return 0, None  # not listening (yet)


class Publisher:
    """A plain MQTT client standing in for a node (or for a misbehaving one)."""

    def __init__(self, url_host: str, port: int, client_id: str = "test-publisher") -> None:
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
        self.client.connect(url_host, port)
        self.client.loop_start()

    def send(self, topic: str, payload: Any, retain: bool = False) -> None:
        if not isinstance(payload, bytes | str):
            payload = json.dumps(payload)
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(10)
        assert info.is_published(), f"broker did not acknowledge {topic}"

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def reading(node: str, seq: int, ts: float | None = None, **fields: Any) -> dict[str, Any]:
    base = {"v": 1, "node": node, "seq": seq, "ts": ts if ts is not None else time.time()}
    return {**base, "interval_s": 60, "lamp_on": True, "lux": 2.5, "footfall": 3, **fields}


def wait_judged(db: Any, timeout: float = 60.0) -> None:
    """Wait until the rules have judged everything ingest filed (an SQLAlchemy engine on
    the hub's database): storing a reading and judging it are separate steps, possibly in
    separate workers (hub/rules/inbox.py)."""
    from sqlalchemy import func, select

    from hub.models import RuleInbox

    def empty() -> bool:
        with db.connect() as conn:
            return conn.execute(select(func.count()).select_from(RuleInbox)).scalar() == 0

    wait_for(empty, timeout=timeout, what="the rules' inbox judged")


def add_users(db: Any, users: list[tuple[str, str, str | None, list[str], str]],
              password: str) -> None:
    """Users (name, role, district, areas, language) with one password, in one transaction:
    what `roshni user add` does, without a process per user (~1.5 s each on a busy
    machine). Its command line has tests of its own (tests/hub/api/test_auth.py)."""
    from hub.auth import create_user
    from hub.db import writing

    with writing(db) as conn:
        for name, role, district, areas, language in users:
            create_user(conn, name, role=role, password=password, district=district,
                        areas=areas, language=language)
