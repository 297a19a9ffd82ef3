"""deploy/install-node.sh, unattended, on a fresh Debian 12 made to look like Raspberry Pi
OS (a /boot/firmware/config.txt): the node agent it installs, started as its unit says
(in simulation: there are no sensors here), publishes over TLS with the credentials of a
bundle made by `roshni provision` against the deploy broker configuration."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deploy import units
from tests.deploy.chroot import Chroot
from tests.field.broker import HUB_PASSWORD, HUB_USER, DeployedBroker
from tests.field.kit import Client, Operator
from tests.support import wait_for

NODE = "khi-kor-0042"
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

CONFIG_TXT = """\
# Raspberry Pi OS's own settings
dtparam=audio=on
[pi4]
arm_boost=1
"""


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[DeployedBroker]:
    with DeployedBroker(tmp_path / "mosquitto") as b:
        yield b


def _groups_of(c: Chroot, user: str) -> set[str]:
    groups = set()
    for line in c.path("/etc/group").read_text().splitlines():
        name, _, _, members = line.split(":")
        if user in members.split(","):
            groups.add(name)
    return groups


def test_install_node_on_fresh_debian(fresh_debian: Chroot, broker: DeployedBroker,
                                      tmp_path: Path) -> None:
    c = fresh_debian
    # The profile with the most to set up: a meter on the PL011 UART, a radar on UART3.
    bundle = Operator(tmp_path / "hub", broker).provision(NODE, "--profile", "pi4-radar")
    shutil.copytree(bundle, c.path("/root/bundle"))
    config_txt = c.path("/boot/firmware/config.txt")
    config_txt.parent.mkdir(parents=True)
    config_txt.write_text(CONFIG_TXT)
    install = ["/root/roshni/deploy/install-node.sh", "--bundle", "/root/bundle"]

    started = time.monotonic()
    first = c.run(install, timeout=900)
    first_s = time.monotonic() - started
    assert "systemctl start roshni-node" in first.stdout

    # The user has the sensors' groups and no others; the venv has no hub libraries.
    assert _groups_of(c, "roshni") == {"gpio", "spi", "dialout"}
    unit = units.load(c.root, "roshni-node.service")
    assert set(unit.words("Service", "SupplementaryGroups")) == {"gpio", "spi", "dialout"}
    assert unit.one("Service", "Type") == "notify" and unit.one("Service", "User") == "roshni"
    probe = c.run(["/opt/roshni/venv/bin/python", "-c",
                   "import importlib.util as u; print([m for m in ('fastapi', 'uvicorn', "
                   "'influxdb_client', 'sqlalchemy') if u.find_spec(m)], "
                   "bool(u.find_spec('gpiozero')), bool(u.find_spec('spidev')))"])
    assert probe.stdout.strip().splitlines()[-1] == "[] True True"
    assert c.path("/etc/systemd/system/multi-user.target.wants/roshni-node.service").is_symlink()
    st = c.path("/etc/roshni/node.toml").stat()
    assert st.st_mode & 0o777 == 0o640 and st.st_uid == 0
    assert c.path("/etc/roshni/node.toml").read_bytes() == (bundle / "node.toml").read_bytes()
    # The firmware settings are added once, for every board ([all]), after its own.
    text = config_txt.read_text()
    assert text.startswith(CONFIG_TXT)
    assert text[len(CONFIG_TXT):].splitlines()[-5:] == [
        "[all]", "enable_uart=1", "dtparam=spi=on", "dtoverlay=disable-bt", "dtoverlay=uart3"]
    analyze = shutil.which("systemd-analyze")
    if analyze:
        done = subprocess.run([analyze, "verify", f"--root={c.root}", "roshni-node.service"],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0 and not done.stderr.strip(), done.stderr

    # Second run: succeeds and edits nothing.
    before = {p: c.path(p).read_bytes() for p in ("/boot/firmware/config.txt",
                                                  "/etc/roshni/node.toml", "/etc/roshni/ca.crt",
                                                  "/etc/group")}
    started = time.monotonic()
    c.run(install, timeout=600)
    second_s = time.monotonic() - started
    assert {p: c.path(p).read_bytes() for p in before} == before

    # The agent, as the unit starts it (user, groups, environment, working directory) but
    # on simulated sensors, reaches the deploy broker with the bundle's credentials.
    hub = Client(broker.host, broker.port, username=HUB_USER, password=HUB_PASSWORD,
                 client_id="roshni-hub-test")
    assert hub.connect()
    hub.subscribe(f"roshni/v1/{NODE}/reading")
    try:
        plan = units.plan(c.root, "roshni-node.service")
        agent = c.spawn([*plan.start, "--simulate", "default"],
                        env={**plan.env, "ROSHNI_NODE__INTERVAL_S": "1"}, cwd=plan.cwd,
                        log_name="roshni-node")
        msg = wait_for(lambda: hub.messages[:1], timeout=60, what="a reading from the node")
        assert agent.poll() is None
        assert json.loads(msg[0].payload)["node"] == NODE
    finally:
        hub.close()
    print(f"\ninstall-node.sh on a fresh Debian: first run {first_s:.0f} s, "
          f"second run {second_s:.0f} s")
