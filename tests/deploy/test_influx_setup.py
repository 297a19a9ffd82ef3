"""deploy/influxdb/setup-v1.sh against a real InfluxDB 1.x with authentication on, as the
hub installer configures it: twice in a row it succeeds, and afterwards the hub (its own
InfluxDB client) writes and queries with the account it made, and nobody else can."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.config import InfluxSettings
from hub.influx import InfluxV1, RetryLater
from hub.supervise import Influxd

SETUP = Path(__file__).resolve().parents[2] / "deploy" / "influxdb" / "setup-v1.sh"
ADMIN = {"INFLUX_ADMIN_USER": "admin", "INFLUX_ADMIN_PASSWORD": "admin's \"pass\\word"}
HUB_PASSWORD = "hub pass'word with \"quotes\""


@pytest.fixture
def influxd_with_auth(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Influxd]:
    # What install-hub.sh writes to /etc/default/influxdb for influxdb.service.
    monkeypatch.setenv("INFLUXDB_HTTP_AUTH_ENABLED", "true")
    with Influxd(tmp_path / "influxd") as server:
        yield server


def setup(url: str, *args: str, password: str = HUB_PASSWORD,
          admin: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INFLUX")}
    env.update(admin if admin is not None else ADMIN)
    env["ROSHNI_INFLUX_PASSWORD"] = password
    return subprocess.run([SETUP, "--url", url, "--wait", "10", *args], env=env,
                          capture_output=True, text=True, timeout=60)


def hub_influx(url: str, username: str | None, password: str | None) -> InfluxV1:
    return InfluxV1(InfluxSettings(url=url, username=username, password=password,
                                   create_database=False, timeout_s=5))


def test_setup_twice_then_the_hub_writes_and_reads_with_its_account(
        influxd_with_auth: Influxd) -> None:
    url = influxd_with_auth.url
    first = setup(url, "--retention", "52w")
    assert first.returncode == 0, first.stderr
    assert "created admin account admin" in first.stdout
    second = setup(url, "--retention", "52w")
    assert second.returncode == 0, second.stderr
    assert "created" not in second.stdout
    # No password is ever printed.
    for out in (first, second):
        assert HUB_PASSWORD not in out.stdout + out.stderr
        assert ADMIN["INFLUX_ADMIN_PASSWORD"] not in out.stdout + out.stderr

    hub = hub_influx(url, "roshni-hub", HUB_PASSWORD)
    hub.write(b"reading,node=khi-kor-0042,district=korangi,area=korangi-5 "
              b"lamp_on=true,lux=2.5,footfall=3i 1795370700000000")
    rows = hub.query("SELECT lux, footfall FROM reading")[0]["series"][0]["values"]
    assert rows == [[1795370700000, 2.5, 3]]
    # The account may not administer the server.
    with pytest.raises(Exception, match="requires admin privilege|not authorized"):
        hub.query("CREATE DATABASE other")
    hub.close()

    # The retention policy the hub writes into without naming it is ours, as asked.
    admin = hub_influx(url, "admin", ADMIN["INFLUX_ADMIN_PASSWORD"])
    rps = admin.query('SHOW RETENTION POLICIES ON "roshni"')[0]["series"][0]
    ours = [dict(zip(rps["columns"], v, strict=True)) for v in rps["values"]
            if v[0] == "roshni"]
    assert ours[0]["duration"] == "8736h0m0s" and ours[0]["default"] is True
    admin.close()

    # Without the account, or with a wrong password, nothing is written.
    for username, password in ((None, None), ("roshni-hub", "wrong")):
        other = hub_influx(url, username, password)
        with pytest.raises(RetryLater, match="HTTP 40[13]"):
            other.write(b"reading,node=x lux=1 1795370700000000")
        other.close()


def test_setup_changes_the_retention_and_the_password_when_run_again(
        influxd_with_auth: Influxd) -> None:
    url = influxd_with_auth.url
    assert setup(url).returncode == 0
    done = setup(url, "--retention", "INF", password="a new password")
    assert done.returncode == 0, done.stderr
    assert "(INF)" in done.stdout
    hub = hub_influx(url, "roshni-hub", "a new password")
    hub.write(b"reading,node=x lux=1 1795370700000000")
    hub.close()


def test_setup_says_what_is_wrong(influxd_with_auth: Influxd, tmp_path: Path) -> None:
    url = influxd_with_auth.url
    done = setup(url, admin={})
    assert done.returncode == 1
    assert "needs an admin account first" in done.stderr
    assert setup(url).returncode == 0
    wrong = setup(url, admin={**ADMIN, "INFLUX_ADMIN_PASSWORD": "wrong"})
    assert wrong.returncode == 1 and "admin credentials wrong?" in wrong.stderr
    assert "ROSHNI_INFLUX_PASSWORD" in setup(url, password="").stderr
    gone = subprocess.run([SETUP, "--url", "http://127.0.0.1:9", "--wait", "1"],
                          env={**os.environ, "ROSHNI_INFLUX_PASSWORD": "x"},
                          capture_output=True, text=True, timeout=30)
    assert gone.returncode == 1 and "is influxd running?" in gone.stderr


def test_setup_also_works_before_authentication_is_on(influxd: Influxd) -> None:
    """A server still at Debian's default (auth-enabled = false): the accounts are made
    anyway, ready for when authentication is turned on."""
    assert setup(influxd.url).returncode == 0
    assert setup(influxd.url).returncode == 0
    admin = hub_influx(influxd.url, None, None)
    users = admin.query("SHOW USERS")[0]["series"][0]["values"]
    assert sorted(users) == [["admin", True], ["roshni-hub", False]]
    admin.close()
