from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.supervise import HubProcess, Influxd, Mosquitto, _roshni


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
