from __future__ import annotations

import itertools
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hub.supervise import HubProcess, Influxd, Mosquitto, Postgres, _roshni

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgresql)]
_database_ids = itertools.count(1)


@pytest.fixture(params=BACKENDS)
def databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """The state on each backend the hub supports (DESIGN.md §8: a SQLite file by default,
    PostgreSQL through the same code): a test that asks runs once per backend. Call it for
    the SQLAlchemy URL of a new, empty database, once per database the test needs."""
    if request.param == "sqlite":
        files = itertools.count(1)
        yield lambda: f"sqlite:///{tmp_path / f'state-{next(files)}.db'}"
        return
    server: Postgres = request.getfixturevalue("postgres")
    made: list[str] = []

    def new() -> str:
        made.append(f"roshni_{os.getpid()}_{next(_database_ids)}")
        return server.create_database(made[-1])

    yield new
    for name in made:
        server.drop_database(name)


@pytest.fixture
def db_url(databases: Callable[[], str]) -> str:
    """One empty state database, on each backend in turn."""
    return databases()


def hub_env(mosquitto: Mosquitto, influxd: Influxd) -> dict[str, str]:
    return {"ROSHNI_MQTT__URL": mosquitto.url, "ROSHNI_INFLUX__URL": influxd.url,
            "ROSHNI_LOG_LEVEL": "INFO"}


@pytest.fixture
def hub(tmp_path: Path, mosquitto: Mosquitto, influxd: Influxd) -> Iterator[HubProcess]:
    with HubProcess(tmp_path / "hub", hub_env(mosquitto, influxd)) as proc:
        yield proc


def roshni(hub: HubProcess, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a `roshni` command against the hub's database, as an operator on the hub host."""
    return subprocess.run([*_roshni(), *args], env=hub.env, capture_output=True, text=True,
                          check=check, timeout=60)
