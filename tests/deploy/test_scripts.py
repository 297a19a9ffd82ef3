"""The deploy scripts are shellcheck-clean (setup-v2.sh cannot run here: Debian has no
InfluxDB 2, so this is all that checks it), and the installers' TOML helper keeps what
it does not set."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from hub.config import HubSettings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SCRIPTS = sorted([*DEPLOY.glob("*.sh"), *DEPLOY.glob("*/*.sh")])


def test_the_scripts_are_the_ones_expected() -> None:
    names = {str(p.relative_to(DEPLOY)) for p in SCRIPTS}
    assert {"install-hub.sh", "install-node.sh", "dev.sh", "lib/common.sh",
            "influxdb/setup-v1.sh", "influxdb/setup-v2.sh"} <= names


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(DEPLOY)))
def test_script_is_shellcheck_clean(script: Path) -> None:
    shellcheck = shutil.which("shellcheck")
    if shellcheck is None:
        pytest.fail("shellcheck is not installed (apt-get install shellcheck)")
    done = subprocess.run([shellcheck, "--external-sources", "--severity=style",
                           script.name], cwd=script.parent, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(DEPLOY)))
def test_script_is_strict_and_executable(script: Path) -> None:
    text = script.read_text()
    if script.parent.name != "lib":  # sourced, not run
        assert text.startswith("#!/usr/bin/env bash\n") and script.stat().st_mode & 0o111
        assert "\nset -euo pipefail\n" in text


@pytest.mark.parametrize("script", ["install-hub.sh", "install-node.sh",
                                    "influxdb/setup-v1.sh", "influxdb/setup-v2.sh"])
def test_help_describes_the_options(script: str) -> None:
    done = subprocess.run([DEPLOY / script, "--help"], capture_output=True, text=True,
                          timeout=30)
    assert done.returncode == 2 and "--" in done.stderr and "set -euo" not in done.stderr


def _toml(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, DEPLOY / "lib" / "toml.py", *args],
                          capture_output=True, text=True, timeout=30)


def test_toml_helper_sets_keys_and_keeps_the_rest(tmp_path: Path) -> None:
    out = tmp_path / "hub.toml"
    done = _toml("set", str(DEPLOY / "hub.example.toml"), str(out),
                 "--str", "mqtt.url=mqtt://roshni-hub:pw@127.0.0.1:1883",
                 "--str", "influx.username=roshni-hub", "--str", 'influx.password=a"b\\c',
                 "--raw", "influx.create_database=false", "--raw", "http.port=8081",
                 "--str", "auth.secret_key=" + "k" * 48,
                 "--str", "broker.node_url=mqtts://hub.example.pk:8883")
    assert done.returncode == 0, done.stderr
    data = tomllib.loads(out.read_text())
    example = tomllib.loads((DEPLOY / "hub.example.toml").read_text())
    assert data["influx"] == {**example["influx"], "username": "roshni-hub",
                              "password": 'a"b\\c', "create_database": False}
    assert data["http"]["port"] == 8081 and data["rules"] == example["rules"]
    assert data["broker"]["node_url"] == "mqtts://hub.example.pk:8883"
    # Comments of the example stay for the operator.
    assert "# Detection thresholds" in out.read_text()
    settings = HubSettings.load(out)
    assert settings.influx.password == 'a"b\\c' and settings.broker.node_url.startswith("mqtts")
    assert _toml("get", str(out), "influx.username").stdout == "roshni-hub\n"
    assert _toml("get", str(out), "influx.create_database").stdout == "false\n"
    assert _toml("get", str(out), "influx.token").returncode == 1
