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


class PostgresDatabases:
    """New databases on the test run's PostgreSQL server, dropped again by `drop_all`."""

    def __init__(self, server: Postgres) -> None:
        self.server = server
        self.made: list[str] = []

    def __call__(self) -> str:
        self.made.append(f"roshni_{os.getpid()}_{next(_database_ids)}")
        return self.server.create_database(self.made[-1])

    def drop_all(self) -> None:
        for name in self.made:
            self.server.drop_database(name)


@pytest.fixture(params=BACKENDS)
def databases(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], str]]:
    """The state on each backend the hub supports (DESIGN.md §8: a SQLite file by default,
    PostgreSQL through the same code): a test that asks runs once per backend. Call it for
    the SQLAlchemy URL of a new, empty database, once per database the test needs."""
    if request.param == "sqlite":
        files = itertools.count(1)
        yield lambda: f"sqlite:///{tmp_path / f'state-{next(files)}.db'}"
        return
    made = PostgresDatabases(request.getfixturevalue("postgres"))
    yield made
    made.drop_all()


@pytest.fixture
def db_url(databases: Callable[[], str]) -> str:
    """One empty state database, on each backend in turn."""
    return databases()


@pytest.fixture
def pg_url(postgres: Postgres) -> Iterator[str]:
    """One empty database on PostgreSQL only, for what only PostgreSQL can show (two
    transactions really running at once)."""
    made = PostgresDatabases(postgres)
    yield made()
    made.drop_all()


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
