"""`[notify]`: who gets which notification, how, and how hard the hub tries."""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from hub.core.names import slug
from protocol.settings import Section

Audience = Literal["committee", "crew", "technician"]
_TIME_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class Subscriber(Section):
    """One receiver: a committee's webhook, a crew's depot mailbox, the technicians' chat
    bridge. Committees receive what happens in their areas, crews in their district."""

    name: str = Field(min_length=1, max_length=64)
    channel: Literal["webhook", "email"]
    url: str | None = None  # webhook
    secret: str | None = None  # webhook: HMAC-SHA256 key for X-Roshni-Signature
    address: str | None = None  # email: one address, or several separated by commas
    audience: list[Audience] = Field(min_length=1)
    # Area ids or names (`korangi-5` or `Korangi 5`) and district ids (`korangi`); empty
    # means any. A committee must name its areas (or districts), a crew its district(s).
    areas: list[str] = []
    districts: list[str] = []
    kinds: list[str] | None = None  # only these kinds (alert_opened, ticket_opened, …)
    # The daily digest (dark spots last night, overdue tickets, verified repairs), for
    # subscribers with the committee audience.
    digest: bool = True
    # The language of its e-mails and digest: "en" or "ur" (webhooks carry codes, not text).
    language: Literal["en", "ur"] = "en"

    @field_validator("areas")
    @classmethod
    def _area_ids(cls, areas: list[str]) -> list[str]:
        return [slug(a) for a in areas]

    @field_validator("districts")
    @classmethod
    def _district_ids(cls, districts: list[str]) -> list[str]:
        return [d.strip().lower() for d in districts]

    @model_validator(mode="after")
    def _complete(self) -> Subscriber:
        if self.channel == "webhook":
            if not self.url or urlsplit(self.url).scheme not in ("http", "https"):
                raise ValueError(f"subscriber {self.name!r}: a webhook needs url = "
                                 "\"https://…\"")
            if not self.secret or len(self.secret) < 16:
                raise ValueError(f"subscriber {self.name!r}: a webhook needs a secret of at "
                                 "least 16 characters (it signs every delivery)")
        if self.channel == "email" and not (self.address and "@" in self.address):
            raise ValueError(f"subscriber {self.name!r}: e-mail needs address = \"…@…\"")
        if "committee" in self.audience and not (self.areas or self.districts):
            raise ValueError(f"subscriber {self.name!r}: a committee needs its areas "
                             "(or districts)")
        if "crew" in self.audience and not self.districts:
            raise ValueError(f"subscriber {self.name!r}: a crew needs its district(s)")
        return self

    @property
    def wants_digest(self) -> bool:
        return self.digest and "committee" in self.audience


class SmtpSettings(Section):
    host: str | None = None  # required when any subscriber uses e-mail
    port: int | None = Field(default=None, ge=1, le=65535)  # default: 587 / 465 / 25
    security: Literal["starttls", "ssl", "none"] = "starttls"
    username: str | None = None
    password: str | None = None
    from_address: str = "roshni@localhost"
    ca_file: str | None = None  # for a server with a private CA
    timeout_s: float = Field(default=30.0, gt=0)

    @property
    def effective_port(self) -> int:
        return self.port or {"starttls": 587, "ssl": 465, "none": 25}[self.security]


class NotifySettings(Section):
    enabled: bool = True
    subscribers: list[Subscriber] = []
    smtp: SmtpSettings = SmtpSettings()
    # Base URL of the dashboard; links in notifications are made absolute with it.
    public_url: str | None = None
    # Map link for a place in e-mails; {lat} and {lon} are filled in.
    maps_url: str = "https://www.google.com/maps/search/?api=1&query={lat},{lon}"
    # Delivery: how often the outbox is polled, and the backoff after a failure:
    # retry_initial_s × retry_factor^(attempt-1), at most retry_max_s. Never given up.
    poll_s: float = Field(default=1.0, gt=0)
    retry_initial_s: float = Field(default=10.0, gt=0)
    retry_factor: float = Field(default=2.0, ge=1)
    retry_max_s: float = Field(default=1800.0, gt=0)
    # A delivery claimed by a worker that died is retried after this long.
    lease_s: float = Field(default=120.0, gt=0)
    webhook_timeout_s: float = Field(default=10.0, gt=0)
    batch_size: int = Field(default=100, ge=1)
    # Daily digest, local time (spots.timezone), HH:MM.
    digest_time: str = "07:00"
    digest_max_spots: int = Field(default=20, ge=1)

    @field_validator("digest_time")
    @classmethod
    def _hh_mm(cls, value: str) -> str:
        if not _TIME_RE.match(value):
            raise ValueError("must be HH:MM, e.g. \"07:00\"")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> NotifySettings:
        names = [s.name for s in self.subscribers]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"subscriber names must be unique: {', '.join(dupes)}")
        if any(s.channel == "email" for s in self.subscribers) and not self.smtp.host:
            raise ValueError("smtp.host is required for e-mail subscribers")
        if self.retry_max_s < self.retry_initial_s:
            raise ValueError("retry_max_s must be at least retry_initial_s")
        return self

    def subscriber(self, name: str) -> Subscriber | None:
        for s in self.subscribers:
            if s.name == name:
                return s
        return None

    def retry_delay(self, attempts: int) -> float:
        """Seconds to wait after the `attempts`-th failed attempt (1, 2, …)."""
        try:
            delay = self.retry_initial_s * self.retry_factor ** max(attempts - 1, 0)
        except OverflowError:
            return self.retry_max_s
        return min(delay, self.retry_max_s)
