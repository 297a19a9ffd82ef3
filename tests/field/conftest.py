"""Fixtures for the field: the production broker configuration, and the hub operator
who provisions nodes against it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.field.broker import DeployedBroker
from tests.field.kit import Operator


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[DeployedBroker]:
    with DeployedBroker(tmp_path / "mosquitto") as b:
        yield b


@pytest.fixture
def operator(tmp_path: Path, broker: DeployedBroker) -> Operator:
    return Operator(tmp_path / "hub-data", broker)
