"""Fixtures for the field: the production broker configuration, and the hub operator
who provisions nodes against it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.supervise import HubProcess, Influxd
from tests.field.broker import DeployedBroker
from tests.field.kit import SECRET_KEY, Field, Operator


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[DeployedBroker]:
    with DeployedBroker(tmp_path / "mosquitto") as b:
        yield b


@pytest.fixture
def operator(tmp_path: Path, broker: DeployedBroker) -> Operator:
    return Operator(tmp_path / "hub-data", broker)


@pytest.fixture(scope="module")
def field(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Field]:
    """One deployed hub for a module's tests; each test brings its own nodes."""
    root = tmp_path_factory.mktemp("field")
    with DeployedBroker(root / "mosquitto") as broker, Influxd(root / "influxd") as influxd:
        env = {"ROSHNI_MQTT__URL": broker.hub_url, "ROSHNI_INFLUX__URL": influxd.url,
               "ROSHNI_AUTH__SECRET_KEY": SECRET_KEY, "ROSHNI_LOG_LEVEL": "INFO"}
        hub = HubProcess(root / "hub", env)
        operator = Operator(hub.workdir / "data", broker, ROSHNI_AUTH__SECRET_KEY=SECRET_KEY)
        with hub:
            world = Field(broker, hub, operator)
            world.add_user("tariq", "technician")
            world.add_user("kamran", "crew", "--district", "korangi")
            world.add_user("kiran", "committee", "--district", "korangi", "--area", "Korangi 5")
            try:
                yield world
            finally:
                world.close()
