"""The test harness itself: a port taken between picking it and the child binding it, a
killed server restarted, a child that never gets ready."""

from __future__ import annotations

import socket
import urllib.request

import pytest
from sqlalchemy import create_engine, text

from hub.supervise import Influxd, Postgres, Service


def test_a_service_whose_picked_port_was_taken_meanwhile_starts_on_another(tmp_path):
    # (Mosquitto binds with SO_REUSEPORT and shares a taken port; InfluxDB and PostgreSQL
    # exit.)
    def answers(svc) -> bool:  # type: ignore[no-untyped-def]
        if isinstance(svc, Postgres):
            engine = create_engine(svc.url)
            with engine.connect() as conn:
                ok = conn.execute(text("SELECT 1")).scalar() == 1
            engine.dispose()
            return ok
        with urllib.request.urlopen(f"{svc.url}/ping", timeout=5) as r:
            return r.status == 204

    for cls in (Influxd, Postgres):
        svc = cls(tmp_path / cls.name)
        squatter = socket.socket()
        squatter.bind(("127.0.0.1", svc.port))
        squatter.listen()
        taken = svc.port
        try:
            svc.start()
            assert svc.port != taken and svc.running
            assert answers(svc)
        finally:
            squatter.close()
            svc.close()


def test_postgres_keeps_its_databases_across_a_crash_and_removes_them_when_closed(tmp_path):
    svc = Postgres(tmp_path / "pg")
    try:
        svc.start()
        url = svc.create_database("kept")
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE t (x int)"))
            conn.execute(text("INSERT INTO t VALUES (42)"))
        engine.dispose()
        svc.kill()
        svc.start()  # same port, same data
        engine = create_engine(url)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT x FROM t")).scalar() == 42
        engine.dispose()
    finally:
        svc.close()
    assert not (svc.datadir / "PG_VERSION").exists()


class _NeverReady(Service):
    """A child that never opens its port."""

    name = "never-ready"

    def command(self) -> list[str]:
        return ["sleep", "600"]

    def start(self, timeout: float = 1.0) -> None:
        super().start(timeout)


def test_a_service_that_never_gets_ready_is_not_left_running(tmp_path):
    svc = _NeverReady(tmp_path / "svc")
    with pytest.raises(TimeoutError), svc:
        pass
    assert svc.proc is not None and not svc.running
