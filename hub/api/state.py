"""What the API keeps for the life of the hub process: token signer, login throttle, an
InfluxDB connection for queries, the sun's times for judging night."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import Connection
from sqlalchemy.exc import OperationalError

from hub.auth import Throttle, Tokens, signing_key
from hub.influx import Influx, connect
from hub.rules.sun import SunCache

if TYPE_CHECKING:
    from hub.app import Hub

T = TypeVar("T")


def lock_for_write(conn: Connection) -> None:
    """Take SQLite's write lock first thing in a transaction that reads, then writes.

    A deferred SQLite transaction that has read cannot start writing once another
    connection (ingest, the rules' tick) has written since: SQLite refuses at once with
    "database is locked", without waiting. A write as the first statement takes the lock
    before any read, waiting (busy_timeout) for the other writer instead. A no-op on other
    databases."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("DELETE FROM login_failures WHERE 0")


def retry_locked(work: Callable[[], T], attempts: int = 5) -> T:
    """Run `work` (its own transactions) again when SQLite refused it as locked."""
    for attempt in range(attempts):
        try:
            return work()
        except OperationalError as err:
            if "locked" not in str(err) or attempt == attempts - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


class Api:
    def __init__(self, hub: Hub) -> None:
        s = hub.settings
        self.hub = hub
        self.settings = s
        self.engine = hub.engine
        self.tokens = Tokens(signing_key(s), s.auth.token_ttl_s)
        self.throttle = Throttle(s.auth)
        self.influx: Influx = connect(s.influx)
        self.sun = SunCache(s.rules.night_below_deg, s.rules.day_above_deg)

    def transact(self, change: Callable[[Connection], T]) -> T:
        """Run `change` in one write transaction, committed when it returns."""
        def work() -> T:
            with self.engine.begin() as conn:
                lock_for_write(conn)
                return change(conn)

        return retry_locked(work)

    def close(self) -> None:
        self.influx.close()
