"""Several `roshni hub run` workers on one PostgreSQL, one InfluxDB and one Mosquitto,
sharing the nodes' messages through an MQTT shared subscription (DESIGN.md §9)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from hub.supervise import HubProcess, Influxd, Mosquitto
from tests.hub.conftest import hub_env
from tests.support import metrics, wait_for

GROUP = "hubs"


class Workers:
    def __init__(self, tmp_path: Path, mosquitto: Mosquitto, influxd: Influxd,
                 db_url: str) -> None:
        self.tmp_path = tmp_path
        # A group of this test's own: the broker keeps earlier tests' workers' sessions
        # (persistent, in their groups), which would otherwise take a share of ours.
        self.group = f"{GROUP}-{uuid.uuid4().hex[:8]}"
        self.base = {**hub_env(mosquitto, influxd), "ROSHNI_DB__URL": db_url,
                     "ROSHNI_MQTT__SHARED_GROUP": self.group}
        self.db_url = db_url
        self.procs: dict[str, HubProcess] = {}

    def start(self, name: str, roles: str | None = None, **env: str) -> HubProcess:
        proc = HubProcess(self.tmp_path / name, {
            **self.base, "ROSHNI_MQTT__CLIENT_ID": f"roshni-{name}", **env}, roles=roles)
        proc.start()
        self.procs[name] = proc
        return proc

    def metric(self, proc: HubProcess, metric: str) -> float:
        return metrics(proc.url).get(metric, 0.0)

    def total(self, metric: str) -> float:
        return sum(metrics(p.url).get(metric, 0.0) for p in self.procs.values() if p.running)

    def sql(self, query: str, **params: object) -> list[tuple]:
        engine = create_engine(self.db_url)
        try:
            with engine.begin() as conn:
                result = conn.execute(text(query), params)
                return [tuple(r) for r in result] if result.returns_rows else []
        finally:
            engine.dispose()

    def wait_total(self, metric: str, value: float, timeout: float = 30.0) -> None:
        wait_for(lambda: self.total(metric) >= value, timeout=timeout,
                 what=f"{metric} summed over the workers to reach {value}")

    def close(self) -> None:
        for p in self.procs.values():
            p.close()


@pytest.fixture
def workers(tmp_path: Path, mosquitto: Mosquitto, influxd: Influxd, pg_url: str
            ) -> Iterator[Workers]:
    w = Workers(tmp_path, mosquitto, influxd, pg_url)
    yield w
    w.close()


Probe = Callable[[], object]
