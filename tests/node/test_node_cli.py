"""`roshni node run`: clear errors for bad settings, and a simulated node end to end."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import roshni_cli
from hub.supervise import Mosquitto
from node.profile import available_profiles
from tests.node.nodekit import REPO, Collector, eventually, node_env

NODE = "khi-test-03"


@pytest.fixture(autouse=True)
def _no_roshni_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("ROSHNI_")]:
        monkeypatch.delenv(name)


def run_cli(*args: str) -> int:
    return roshni_cli.main(["node", "run", *args])


def test_missing_config_file_exits_2_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_cli("--config", str(tmp_path / "nope.toml")) == 2
    err = capsys.readouterr().err
    assert "nope.toml: no such settings file" in err
    assert "Traceback" not in err


def test_invalid_node_id_exits_2_naming_the_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ROSHNI_NODE__ID", "Lamp 42")
    assert run_cli() == 2
    err = capsys.readouterr().err
    assert "node.id" in err and "Traceback" not in err


def test_unknown_profile_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ROSHNI_NODE__ID", NODE)
    monkeypatch.setenv("ROSHNI_NODE__PROFILE", "no-such-board")
    assert run_cli("--simulate", "default") == 2
    err = capsys.readouterr().err
    assert "no-such-board" in err and "Traceback" not in err


def test_cli_loads_without_hardware_modules() -> None:
    code = (
        "import sys, roshni_cli, argparse; import node.cli as c; "
        "c.add_commands(argparse.ArgumentParser().add_subparsers()); "
        "print(sorted(m for m in sys.modules if m.startswith(('node.sim', 'node.hardware', "
        "'gpiozero', 'serial', 'hub'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("profile", available_profiles())
def test_simulated_node_publishes_and_stops_cleanly(
    mosquitto: Mosquitto, tmp_path: Path, profile: str
) -> None:
    """Every hardware profile in firmware-config/ runs in simulation and publishes."""
    collector = Collector(mosquitto.url)
    env = node_env(NODE, mosquitto.url, tmp_path / "data", interval_s=0.2)
    env.update(ROSHNI_SIM__START="2026-01-01T20:00:00+05:00", ROSHNI_SIM__SPEED="60",
               ROSHNI_NODE__PROFILE=profile)
    roshni = Path(sys.executable).parent / "roshni"
    with open(tmp_path / "node.log", "wb") as log:
        node = subprocess.Popen(
            [str(roshni), "node", "run", "--simulate", "default"], env=env, cwd=REPO,
            stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        eventually(lambda: len(collector.readings(NODE)) >= 3, "simulated readings")
        node.send_signal(signal.SIGTERM)
        assert node.wait(timeout=30) == 0
        eventually(
            lambda: any(s.get("reason") == "shutdown" for s in collector.statuses(NODE)),
            "the shutdown status",
        )
    finally:
        node.kill()
        collector.close()
    log_text = (tmp_path / "node.log").read_text()
    assert "sent reading seq" in log_text
    birth = collector.statuses(NODE)[0]
    assert birth["profile"] == profile and birth["config_sha"]
    first = collector.readings(NODE)[0]
    # A January night in Karachi: the simulated lamp burns, and its sensor says so.
    assert first["lamp_on"] is True and "mains_v" in first
    # A simulated clock: the reading is stamped in simulated time, a January night.
    assert 1767279600 <= first["ts"] < 1767279600 + 3600


def test_the_agent_runs_without_pydantic():
    """Issue 12: the agent must stay under 40 MB on a pole, and pydantic with the models
    was ~9 MB of it; the node checks its settings, profile and payloads with
    msgspec records (protocol.structs). Everything `roshni node run` and `selftest` load,
    loaded."""
    code = ("import sys, roshni_cli, node.cli, node.agent, node.hardware, node.sim, "
            "node.selftest, node.commands, node.programs; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('pydantic', 'pydantic_core') or m == 'protocol.payloads'))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True,
                         text=True, check=True).stdout
    assert out.strip() == "[]"
