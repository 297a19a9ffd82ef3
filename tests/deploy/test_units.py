"""deploy/systemd/*.service: valid for systemd (`systemd-analyze verify`, offline, in a
root of their own), and in agreement with what the install scripts create."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.deploy import units

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SYSTEMD_UNITS = Path("/lib/systemd/system")


def _assignments(script: Path) -> dict[str, str]:
    """The plain `NAME=value` and `NAME=(a b c)` lines of a script, with `$NAME`s of
    deploy/lib/common.sh (which every installer sources) expanded."""
    found: dict[str, str] = {}
    for source in (DEPLOY / "lib" / "common.sh", script):
        for name, array, plain in re.findall(r"^([A-Z_]+)=(?:\(([^)]*)\)|(\S+))$",
                                             source.read_text(), flags=re.M):
            value = array or plain
            for var, val in found.items():
                value = value.replace(f"${var}", val)
            found[name] = value
    return found


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A filesystem root with systemd's own units, ours, and the executables they name."""
    if not SYSTEMD_UNITS.is_dir():
        pytest.fail("no systemd units on this machine to verify against (apt-get install systemd)")
    r = tmp_path / "root"
    shutil.copytree(SYSTEMD_UNITS, r / "usr/lib/systemd/system", symlinks=True)
    (r / "etc/systemd/system").mkdir(parents=True)
    for unit in (DEPLOY / "systemd").glob("*.service"):
        shutil.copy(unit, r / "etc/systemd/system" / unit.name)
        exe = r / units.load(r, unit.name).get("Service", "ExecStart")[0].split()[0].lstrip("/")
        exe.parent.mkdir(parents=True, exist_ok=True)
        exe.write_text("#!/bin/sh\n")
        exe.chmod(0o755)
    return r


@pytest.mark.parametrize("unit", ["roshni-hub.service", "roshni-hub@2.service",
                                  "roshni-node.service"])
def test_unit_passes_systemd_analyze_verify(root: Path, unit: str) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.fail("systemd-analyze is not installed (apt-get install systemd)")
    done = subprocess.run([analyze, "verify", f"--root={root}", unit], capture_output=True,
                          text=True, timeout=120)
    # Unknown or misspelt settings are only warnings: any output at all is a failure.
    assert done.returncode == 0 and not (done.stdout + done.stderr).strip(), done.stderr


@pytest.mark.parametrize("unit", ["roshni-hub.service", "roshni-hub@.service",
                                  "roshni-node.service"])
def test_unit_is_sandboxed(unit: str) -> None:
    """systemd's own exposure score, offline: below 2.0 of 10 ("OK"; Debian's mosquitto
    and influxdb units score 9 and more)."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.fail("systemd-analyze is not installed (apt-get install systemd)")
    done = subprocess.run([analyze, "security", "--offline=true", "--threshold=20",
                           str(DEPLOY / "systemd" / unit)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr


def test_units_run_what_the_install_scripts_install() -> None:
    node_script = _assignments(DEPLOY / "install-node.sh")
    venv, home, opt, user = (node_script[k] for k in ("ROSHNI_VENV", "ROSHNI_HOME",
                                                      "ROSHNI_OPT", "ROSHNI_USER"))
    node_groups = node_script["NODE_GROUPS"].split()
    assert venv == "/opt/roshni/venv" and home == "/var/lib/roshni"
    for name, cmd in (("roshni-hub.service",
                       "hub run --config /etc/roshni/hub.toml --role ${ROSHNI_ROLES}"),
                      ("roshni-node.service", "node run --config /etc/roshni/node.toml")):
        unit = units.parse((DEPLOY / "systemd" / name).read_text(), name=name)
        assert unit.get("Service", "ExecStart") == [f"{venv}/bin/roshni {cmd}"]
        assert unit.one("Service", "User") == unit.one("Service", "Group") == user
        assert unit.one("Service", "WorkingDirectory") == home
        assert unit.words("Service", "ReadWritePaths") == [home]
        env = dict(e.split("=", 1) for e in unit.get("Service", "Environment"))
        paths = {k: v for k, v in env.items() if k.startswith("ROSHNI_")}
        roles = {"ROSHNI_ROLES": "ingest,rules,api,notify"} if "hub" in name else {}
        assert paths == {"ROSHNI_DATA_DIR": home,
                         "ROSHNI_FIRMWARE_CONFIG": f"{opt}/firmware-config", **roles}
        for key, value in (("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"),
                           ("ProtectHome", "yes"), ("PrivateTmp", "yes"),
                           ("CapabilityBoundingSet", None), ("Restart", "always")):
            assert unit.one("Service", key) == value, (name, key)
        assert unit.get("Install", "WantedBy") == ["multi-user.target"]
        # The installers copy the unit from deploy/systemd under the same name.
        script = "install-hub.sh" if "hub" in name else "install-node.sh"
        assert f'"$here/systemd/{name}"' in (DEPLOY / script).read_text()

    node = units.parse((DEPLOY / "systemd/roshni-node.service").read_text())
    assert node.one("Service", "Type") == "notify"
    assert node.one("Service", "NotifyAccess") == "main"
    assert int(node.one("Service", "WatchdogSec")) >= 2 * 60  # two reading intervals
    assert node.words("Service", "SupplementaryGroups") == node_groups == [
        "gpio", "spi", "dialout"]
    # The sensors' device nodes stay visible, and the device cgroup admits only them.
    assert node.one("Service", "PrivateDevices") == "no"
    assert node.one("Service", "DevicePolicy") == "closed"
    allowed = {v.split()[0] for v in node.get("Service", "DeviceAllow")}
    assert {"char-gpiochip", "char-spi", "char-ttyAMA", "char-ttyS"} <= allowed

    hub = units.parse((DEPLOY / "systemd/roshni-hub.service").read_text())
    assert hub.one("Service", "PrivateDevices") == "yes"
    assert "mosquitto.service" in hub.words("Unit", "After")


def test_node_unit_caps_malloc_arenas_and_the_benchmark_runs_the_agent_so() -> None:
    # The node's 40 MB budget (README, bench figures): glibc would give each of the agent's
    # threads an arena of its own. bench/node_control.py must measure what the pole runs.
    from bench.common import node_unit_environment

    node = units.parse((DEPLOY / "systemd/roshni-node.service").read_text())
    assert "MALLOC_ARENA_MAX=2" in node.words("Service", "Environment")
    assert node_unit_environment() == {"MALLOC_ARENA_MAX": "2"}
