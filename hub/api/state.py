"""What the API keeps for the life of the hub process: token signer, login throttle, an
InfluxDB connection for queries, the sun's times for judging night."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import Connection

from hub.auth import Throttle, Tokens, signing_key
from hub.auth.throttle import RateLimit
from hub.db import writing
from hub.influx import Influx, connect
from hub.rules.sun import SunCache

if TYPE_CHECKING:
    from hub.app import Hub

T = TypeVar("T")


class Api:
    def __init__(self, hub: Hub) -> None:
        s = hub.settings
        self.hub = hub
        self.settings = s
        self.engine = hub.engine
        self.tokens = Tokens(signing_key(s), s.auth.token_ttl_s)
        self.throttle = Throttle(s.auth)
        self.report_limit = RateLimit(s.open311.reports_per_address, s.open311.reports_window_s)
        self.influx: Influx = connect(s.influx)
        self.sun = SunCache(s.rules.night_below_deg, s.rules.day_above_deg)

    def transact(self, change: Callable[[Connection], T]) -> T:
        """Run `change` in one write transaction, committed when it returns."""
        with writing(self.engine) as conn:
            return change(conn)

    def close(self) -> None:
        self.influx.close()
