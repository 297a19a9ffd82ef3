"""Node settings: TOML plus ROSHNI_* variables, with errors that name the key."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from node.config import NodeSettings
from protocol.settings import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "node" / "example.toml"


@pytest.fixture(autouse=True)
def _no_roshni_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("ROSHNI_")]:
        monkeypatch.delenv(name)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "node.toml"
    path.write_text(text)
    return path


def test_example_config_loads() -> None:
    settings = NodeSettings.load(EXAMPLE)
    assert settings.node.id == "khi-kor-0042"
    assert settings.mqtt_endpoint().tls
    assert settings.spool.capacity(settings.node.interval_s) == 14 * 24 * 60


def test_environment_wins_over_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, '[node]\nid = "khi-kor-0042"\ninterval_s = 60\nlat = 24.8\n')
    monkeypatch.setenv("ROSHNI_NODE__INTERVAL_S", "0.2")
    monkeypatch.setenv("ROSHNI_MQTT__URL", "mqtt://khi-kor-0042:pw@10.0.0.1:1884")
    monkeypatch.setenv("ROSHNI_DATA_DIR", str(tmp_path / "data"))
    settings = NodeSettings.load(path)
    assert settings.node.interval_s == 0.2
    assert settings.node.lat == 24.8
    endpoint = settings.mqtt_endpoint()
    assert (endpoint.host, endpoint.port, endpoint.username, endpoint.password) == (
        "10.0.0.1", 1884, "khi-kor-0042", "pw",
    )
    assert settings.spool_path() == tmp_path / "data" / "spool-khi-kor-0042.sqlite3"


def test_node_id_is_the_username_when_the_url_has_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROSHNI_NODE__ID", "khi-kor-0042")
    assert NodeSettings.load().mqtt_endpoint().username == "khi-kor-0042"


@pytest.mark.parametrize(
    ("toml", "complaint"),
    [
        ('[node]\nid = "KHI 42"\n', "node.id"),
        ('[node]\nid = "khi-kor-0042"\ninterval_s = 0\n', "node.interval_s"),
        ('[node]\nid = "khi-kor-0042"\nlat = 124.0\n', "node.lat"),
        ('[node]\nid = "khi-kor-0042"\n[mqtt]\nurl = "mqtt://someone:pw@hub"\n', "node id"),
        ('[node]\nid = "khi-kor-0042"\n[mqtt]\nurl = "http://hub"\n', "mqtt.url"),
        ('[node]\nid = "khi-kor-0042"\n[spool]\nmax_days = 1\nmax_readings = 9\n', "not both"),
        ('[node]\nid = "khi-kor-0042"\n[sim]\nstart = "yesterday"\n', "sim.start"),
        ('[node]\nid = "khi-kor-0042"\n[nodes]\nx = 1\n', "nodes"),
        ("[mqtt]\n", "node"),
    ],
)
def test_bad_settings_name_the_key(tmp_path: Path, toml: str, complaint: str) -> None:
    path = write(tmp_path, toml)
    with pytest.raises(ConfigError) as err:
        NodeSettings.load(path)
    assert str(path) in str(err.value)
    assert complaint in str(err.value)


def test_spool_bound_in_readings_or_days() -> None:
    by_days = NodeSettings.of(node={"id": "khi-kor-0042"}, spool={"max_days": 1})
    assert by_days.spool.capacity(60) == 1440
    by_count = NodeSettings.of(node={"id": "khi-kor-0042"}, spool={"max_readings": 500})
    assert by_count.spool.capacity(60) == 500


@pytest.mark.parametrize(
    ("start", "epoch"),
    [
        ("2026-01-01T00:00:00Z", 1767225600.0),
        ("2026-01-01T05:00:00+05:00", 1767225600.0),
        ("2026-01-01 00:00:00", 1767225600.0),
        ("1767225600", 1767225600.0),
        (1767225600, 1767225600.0),
    ],
)
def test_sim_start_accepts_iso_or_epoch(start: object, epoch: float) -> None:
    settings = NodeSettings.of(node={"id": "khi-kor-0042"}, sim={"start": start, "speed": 60})
    assert settings.sim.start_epoch() == epoch
    assert not settings.sim.is_real_time


def test_sim_start_now_is_real_time() -> None:
    settings = NodeSettings.of(node={"id": "khi-kor-0042"})
    assert settings.sim.is_real_time
    assert settings.sim.start_epoch(now=42.0) == 42.0


def test_simulated_nodes_started_apart_share_one_street_clock():
    """The demo starts its posts one after another; given the same start and start_wall,
    a post that boots later still reads the street's time, not a time behind it."""
    import time

    from node.clock import SimClock

    wall0 = time.time() - 10.0  # the street's clock read 1000 ten seconds ago
    late = SimClock(1_000.0, 60.0, wall0=wall0).now()
    assert 1_000.0 + 590 <= late <= 1_000.0 + 60 * 60, late
    fresh = SimClock(1_000.0, 60.0).now()
    assert fresh < 1_000.0 + 60
