"""Login throttling: after `login_max_failures` failed logins for one user name from one
address within `login_window_s`, further attempts get 429 until the oldest failure has
left the window. Kept in the database, so every hub worker counts the same failures."""

from __future__ import annotations

import time

from sqlalchemy import Connection, Float, Integer, String, delete, func, insert, select
from sqlalchemy.orm import Mapped, mapped_column

from hub.config import AuthSettings
from hub.models import Base


class LoginFailure(Base):
    __tablename__ = "login_failures"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200))
    at: Mapped[float] = mapped_column(Float)


def key(username: str, address: str) -> str:
    return f"{username.strip().lower()[:120]}|{address[:64]}"


class Throttle:
    def __init__(self, settings: AuthSettings) -> None:
        self.max_failures = settings.login_max_failures
        self.window_s = settings.login_window_s

    def retry_after(self, conn: Connection, k: str, now: float | None = None) -> float:
        """Seconds until `k` may try again; 0 when it may now."""
        now = time.time() if now is None else now
        since = now - self.window_s
        n = conn.execute(select(func.count()).where(LoginFailure.key == k,
                                                    LoginFailure.at > since)).scalar_one()
        if n < self.max_failures:
            return 0.0
        # The window slides: once enough failures have aged out, the next try is allowed.
        ats = [a for (a,) in conn.execute(
            select(LoginFailure.at).where(LoginFailure.key == k, LoginFailure.at > since)
            .order_by(LoginFailure.at.desc()).limit(self.max_failures))]
        return max(0.0, ats[-1] + self.window_s - now)

    def failed(self, conn: Connection, k: str, now: float | None = None) -> None:
        now = time.time() if now is None else now
        conn.execute(delete(LoginFailure).where(LoginFailure.key == k,
                                                LoginFailure.at <= now - self.window_s))
        conn.execute(insert(LoginFailure).values(key=k, at=now))

    def succeeded(self, conn: Connection, k: str) -> None:
        conn.execute(delete(LoginFailure).where(LoginFailure.key == k))
