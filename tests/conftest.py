"""Real services for the tests: Mosquitto, InfluxDB 1.x and VictoriaMetrics, each started
fresh on free 127.0.0.1 ports with a temporary data directory, and stopped afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.supervise import Influxd, Mosquitto, VictoriaMetrics


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    with Mosquitto(tmp_path / "mosquitto") as broker:
        yield broker


@pytest.fixture
def influxd(tmp_path: Path) -> Iterator[Influxd]:
    with Influxd(tmp_path / "influxd") as server:
        yield server


@pytest.fixture
def victoria(tmp_path: Path) -> Iterator[VictoriaMetrics]:
    with VictoriaMetrics(tmp_path / "victoria") as server:
        yield server
