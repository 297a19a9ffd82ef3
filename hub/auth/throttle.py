"""Login throttling, kept in the database so that every hub worker counts the same
failures (a count in one process's memory is escaped by round-robin across workers).

A failed login counts against three keys, each with its own limit within
`login_window_s`: the user name from this address (`login_max_failures`), the user name
from anywhere (`login_max_failures_per_account`: many addresses guessing one password)
and the address for any user name (`login_max_failures_per_address`: one address trying
many accounts). Over any limit, attempts get 429 until the oldest failure has left the
window. The address is the connecting one, or what a trusted proxy says it is
(`[http] trusted_proxies`), never a header anyone can set."""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import Connection, Float, Integer, String, delete, func, insert, select
from sqlalchemy.orm import Mapped, mapped_column

from hub.config import AuthSettings
from hub.models import Base


class LoginFailure(Base):
    """One counted event under a key: a failed login (keys above), or anything else that is
    limited per key in a window (`RateLimit`, e.g. `report:<address>` for Open311)."""

    __tablename__ = "login_failures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200))
    at: Mapped[float] = mapped_column(Float)


def _wait(conn: Connection, k: str, limit: int, window_s: float, now: float) -> float:
    """Seconds until key `k` is under `limit` events in the window again; 0 when it is."""
    since = now - window_s
    n = conn.execute(select(func.count()).where(LoginFailure.key == k,
                                                LoginFailure.at > since)).scalar_one()
    if n < limit:
        return 0.0
    # The window slides: once enough events have aged out, the next one is allowed.
    ats = [t for (t,) in conn.execute(
        select(LoginFailure.at).where(LoginFailure.key == k, LoginFailure.at > since)
        .order_by(LoginFailure.at.desc()).limit(limit))]
    return max(0.0, ats[-1] + window_s - now)


def _record(conn: Connection, keys: list[str], window_s: float, now: float) -> None:
    conn.execute(delete(LoginFailure).where(LoginFailure.key.in_(keys),
                                            LoginFailure.at <= now - window_s))
    conn.execute(insert(LoginFailure), [dict(key=k, at=now) for k in keys])


class RateLimit:
    """At most `limit` events per key within `window_s`, counted in the database (so every
    worker counts the same). Concurrent requests in different workers may each pass the
    last free place: the count can overshoot by the number of requests in flight."""

    def __init__(self, limit: int, window_s: float) -> None:
        self.limit = limit
        self.window_s = window_s

    def take(self, conn: Connection, k: str, now: float | None = None) -> float:
        """Count one event for `k` and return 0, or return the seconds to wait (counting
        nothing) when `k` is at its limit."""
        now = time.time() if now is None else now
        wait = _wait(conn, k, self.limit, self.window_s, now)
        if wait == 0:
            _record(conn, [k], self.window_s, now)
        return wait


@dataclass(frozen=True, slots=True)
class Attempt:
    """The keys one login attempt counts against."""

    pair: str
    account: str
    address: str


def attempt(username: str, address: str) -> Attempt:
    name = username.strip().lower()[:120]
    addr = address[:64]
    return Attempt(pair=f"{name}|{addr}", account=f"user:{name}", address=f"addr:{addr}")


class Throttle:
    def __init__(self, settings: AuthSettings) -> None:
        self.window_s = settings.login_window_s
        self.limits = (settings.login_max_failures, settings.login_max_failures_per_account,
                       settings.login_max_failures_per_address)

    def _keys(self, a: Attempt) -> tuple[tuple[str, int], ...]:
        return tuple(zip((a.pair, a.account, a.address), self.limits, strict=True))

    def retry_after(self, conn: Connection, a: Attempt, now: float | None = None) -> float:
        """Seconds until this attempt may be made; 0 when it may now."""
        now = time.time() if now is None else now
        return max(_wait(conn, k, limit, self.window_s, now) for k, limit in self._keys(a))

    def failed(self, conn: Connection, a: Attempt, now: float | None = None) -> None:
        now = time.time() if now is None else now
        _record(conn, [k for k, _ in self._keys(a)], self.window_s, now)

    def succeeded(self, conn: Connection, a: Attempt) -> None:
        # The address's count stays: logging in to one's own account must not reset the
        # count of guesses at others.
        conn.execute(delete(LoginFailure).where(LoginFailure.key.in_((a.pair, a.account))))
