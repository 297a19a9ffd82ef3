"""Real services for the tests: Mosquitto, a 3-node RabbitMQ cluster, InfluxDB 1.x,
VictoriaMetrics and PostgreSQL, each started on free 127.0.0.1 ports with a temporary data
directory, and stopped afterwards. PostgreSQL is one server for the whole run (initdb costs
more than a test); each test gets databases of its own on it (tests/hub/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.supervise import Influxd, Mosquitto, Postgres, RabbitCluster, VictoriaMetrics

# The modules that run longest (minutes each: services stopped for a minute, a Debian
# chroot, whole simulated nights), collected first: the parallel workers take whole modules
# in collection order, and a run whose last module is one of these ends with one worker
# busy and the others idle.
LONGEST_FIRST = ("tests/system/", "tests/deploy/", "tests/hub/workers/")


@pytest.hookimpl(trylast=True)  # after pytest has grouped tests by their fixtures' params
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: not item.nodeid.startswith(LONGEST_FIRST))


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    with Mosquitto(tmp_path / "mosquitto") as broker:
        yield broker


@pytest.fixture(scope="module")
def rabbit_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RabbitCluster]:
    # Module-scoped: forming the cluster takes ~20 s here, more than a test.
    with RabbitCluster(tmp_path_factory.mktemp("rabbitmq")) as cluster:
        yield cluster


@pytest.fixture
def influxd(tmp_path: Path) -> Iterator[Influxd]:
    with Influxd(tmp_path / "influxd") as server:
        yield server


@pytest.fixture
def victoria(tmp_path: Path) -> Iterator[VictoriaMetrics]:
    with VictoriaMetrics(tmp_path / "victoria") as server:
        yield server


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Postgres]:
    # No skip when PostgreSQL is not installed: the test fails and says what to install.
    with Postgres(tmp_path_factory.mktemp("postgres")) as server:
        yield server
