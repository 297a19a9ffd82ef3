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
    __tablename__ = "login_failures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200))
    at: Mapped[float] = mapped_column(Float)


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
        return max(self._wait(conn, k, limit, now) for k, limit in self._keys(a))

    def _wait(self, conn: Connection, k: str, limit: int, now: float) -> float:
        since = now - self.window_s
        n = conn.execute(select(func.count()).where(LoginFailure.key == k,
                                                    LoginFailure.at > since)).scalar_one()
        if n < limit:
            return 0.0
        # The window slides: once enough failures have aged out, the next try is allowed.
        ats = [t for (t,) in conn.execute(
            select(LoginFailure.at).where(LoginFailure.key == k, LoginFailure.at > since)
            .order_by(LoginFailure.at.desc()).limit(limit))]
        return max(0.0, ats[-1] + self.window_s - now)

    def failed(self, conn: Connection, a: Attempt, now: float | None = None) -> None:
        now = time.time() if now is None else now
        keys = [k for k, _ in self._keys(a)]
        conn.execute(delete(LoginFailure).where(LoginFailure.key.in_(keys),
                                                LoginFailure.at <= now - self.window_s))
        conn.execute(insert(LoginFailure), [dict(key=k, at=now) for k in keys])

    def succeeded(self, conn: Connection, a: Attempt) -> None:
        # The address's count stays: logging in to one's own account must not reset the
        # count of guesses at others.
        conn.execute(delete(LoginFailure).where(LoginFailure.key.in_((a.pair, a.account))))
