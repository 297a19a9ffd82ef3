"""`roshni hub backup` and `roshni hub restore` against a running hub (Mosquitto, InfluxDB
and `roshni hub run` as processes), on SQLite and on PostgreSQL: a backup taken while
readings flow in, the database lost, restored, the hub restarted, and the node and the
person are back."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from hub import supervise
from hub.backup import RunningLock, hold_while_running
from hub.db import migrate
from hub.supervise import HubProcess, Influxd, Mosquitto, _roshni
from tests.hub.conftest import hub_env, roshni
from tests.support import Publisher, reading, wait_for

NODE = "khi-kor-0042"
PASSWORD = "lamp-post-42"


@dataclass
class Backend:
    env: dict[str, str]
    lose: Callable[[], None]  # the database is gone (and, on PostgreSQL, made again empty)


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        db = tmp_path / "hub" / "data" / "hub.db"

        def lose() -> None:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)

        yield Backend({}, lose)
        return
    if shutil.which("pg_dump") is None:
        pytest.fail("pg_dump is not installed (apt-get install postgresql-client)")
    with supervise.Postgres(tmp_path / "postgres") as server:
        url = server.create_database("roshni")

        def lose() -> None:
            server.drop_database("roshni")
            server.create_database("roshni")

        yield Backend({"ROSHNI_DB__URL": url}, lose)


@pytest.fixture
def hub(tmp_path: Path, mosquitto: Mosquitto, influxd: Influxd,
        backend: Backend) -> Iterator[HubProcess]:
    with HubProcess(tmp_path / "hub", {**hub_env(mosquitto, influxd), **backend.env}) as proc:
        yield proc


def _db(hub: HubProcess) -> Path:
    return Path(hub.env["ROSHNI_DATA_DIR"]) / "hub.db"


def _revisions(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return sorted(r[0] for r in conn.execute("SELECT version_num FROM alembic_version"))


def _node_as_admin(hub: HubProcess) -> httpx.Response:
    token = httpx.post(f"{hub.url}/api/v1/auth/token",
                       data={"username": "ayesha", "password": PASSWORD}, timeout=10)
    assert token.status_code == 200, token.text
    return httpx.get(f"{hub.url}/api/v1/nodes/{NODE}", timeout=10,
                     headers={"Authorization": f"Bearer {token.json()['access_token']}"})


def test_backup_while_running_then_restore_brings_the_state_back(
        hub: HubProcess, mosquitto: Mosquitto, backend: Backend, tmp_path: Path) -> None:
    roshni(hub, "provision", NODE, "--district", "korangi", "--area", "Korangi 5",
           "--lat", "24.8315", "--lon", "67.1311", "--pole", "K5-117")
    added = subprocess.run([*_roshni(), "user", "add", "ayesha", "--role", "admin",
                            "--password-stdin"], env=hub.env, input=PASSWORD + "\n",
                           capture_output=True, text=True, timeout=60)
    assert added.returncode == 0, added.stderr

    # Readings keep arriving (the hub writes its database) while the backup is taken.
    stop = threading.Event()
    pub = Publisher(mosquitto.host, mosquitto.port, client_id=NODE)

    def publish() -> None:
        seq = 0
        while not stop.is_set():
            seq += 1
            pub.send(f"roshni/v1/{NODE}/reading", reading(NODE, seq))

    sender = threading.Thread(target=publish, daemon=True)
    sender.start()
    try:
        wait_for(lambda: _node_as_admin(hub).json().get("last_seen"), timeout=30,
                 what="readings stored while the backup is taken")
        backup = tmp_path / "backups" / "hub.db"
        backup.parent.mkdir()
        done = roshni(hub, "hub", "backup", str(backup))
        assert f"to {backup}" in done.stdout and "revision" in done.stdout
    finally:
        stop.set()
        sender.join(10)
        pub.close()
    assert backup.stat().st_mode & 0o777 == 0o600
    if not backend.env:  # SQLite: one self-contained database file
        assert not Path(f"{backup}-wal").exists()
        with sqlite3.connect(backup) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert conn.execute("SELECT count(*) FROM nodes WHERE id = ?",
                                (NODE,)).fetchone()[0]

    # While the hub runs on the database, restore refuses, even with --force.
    refused = roshni(hub, "hub", "restore", str(backup), "--force", check=False)
    assert refused.returncode == 1 and "a hub is running" in refused.stderr

    hub.stop()
    backend.lose()
    done = roshni(hub, "hub", "restore", str(backup))
    assert "restored" in done.stdout, done.stdout
    # A second restore would overwrite the database: only with --force.
    again = roshni(hub, "hub", "restore", str(backup), check=False)
    assert again.returncode == 1 and "--force" in again.stderr
    assert roshni(hub, "hub", "restore", str(backup), "--force").returncode == 0

    hub.start()
    node = _node_as_admin(hub)  # the user logs in again with the same password
    assert node.status_code == 200, node.text
    assert node.json()["id"] == NODE and node.json()["pole"] == "K5-117"


def test_restore_migrates_an_older_backup_and_refuses_a_newer_one(
        tmp_path: Path, mosquitto: Mosquitto, influxd: Influxd) -> None:
    old = tmp_path / "old.db"
    from alembic import command
    from alembic.config import Config

    from hub.db import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", f"sqlite:///{old}")
    command.upgrade(cfg, "0002")  # before users existed
    assert _revisions(old) == ["0002"]

    hub = HubProcess(tmp_path / "hub", hub_env(mosquitto, influxd))
    try:
        done = roshni(hub, "hub", "restore", str(old))
        assert "migrated from revision 0002" in done.stdout, done.stdout
        current = tmp_path / "current.db"
        migrate(f"sqlite:///{current}")
        assert _revisions(_db(hub)) == _revisions(current)

        newer = tmp_path / "newer.db"
        shutil.copy(current, newer)
        with sqlite3.connect(newer) as conn:
            # Migrations have several heads (feature branches); make one of them unknown.
            conn.execute("UPDATE alembic_version SET version_num = '9999' WHERE version_num = "
                         "(SELECT MAX(version_num) FROM alembic_version)")
        refused = roshni(hub, "hub", "restore", str(newer), "--force", check=False)
        assert refused.returncode == 1 and "newer Roshni" in refused.stderr

        junk = tmp_path / "junk.db"
        junk.write_text("not a backup")
        refused = roshni(hub, "hub", "restore", str(junk), "--force", check=False)
        assert refused.returncode == 1 and "not a backup" in refused.stderr

        # The hub starts on the restored database.
        hub.start()
    finally:
        hub.close()


def test_postgresql_without_pg_dump_says_so(tmp_path: Path) -> None:
    env = {"ROSHNI_DB__URL": "postgresql+psycopg://roshni@127.0.0.1:9/roshni",
           "ROSHNI_DATA_DIR": str(tmp_path), "PATH": str(Path(_roshni()[0]).parent)}
    done = subprocess.run([*_roshni(), "hub", "backup", str(tmp_path / "b.dump")],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "pg_dump is not installed" in done.stderr and "postgresql-client" in done.stderr
    wrong = subprocess.run([*_roshni(), "hub", "restore", str(_sqlite_file(tmp_path))],
                           env=env, capture_output=True, text=True, timeout=60)
    assert wrong.returncode == 1 and "SQLite backup, but the hub's database" in wrong.stderr


def _sqlite_file(tmp_path: Path) -> Path:
    path = tmp_path / "some.db"
    migrate(f"sqlite:///{path}")
    return path


def test_a_hub_starting_during_a_restore_waits_for_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    restoring = RunningLock.acquire(url, exclusive=True, wait=False)
    assert restoring is not None
    assert RunningLock.acquire(url, exclusive=True, wait=False) is None
    assert RunningLock.acquire(url, exclusive=False, wait=False) is None
    held: list[RunningLock] = []
    starting = threading.Thread(target=lambda: held.append(hold_while_running(url)))
    starting.start()
    starting.join(0.5)
    assert starting.is_alive() and not held  # waits while the restore runs
    restoring.release()
    starting.join(10)
    assert held
    # Two hubs may share it; a restore may not.
    second = hold_while_running(url)
    assert RunningLock.acquire(url, exclusive=True, wait=False) is None
    held[0].release()
    second.release()
    lock = RunningLock.acquire(url, exclusive=True, wait=False)
    assert lock is not None
    lock.release()
