"""The hub's one settings object (DESIGN.md §10): TOML file + ROSHNI_* environment."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from hub.core.control_settings import ControlSettings
from hub.core.dashboard_settings import DashboardSettings
from hub.core.notify_settings import NotifySettings
from hub.core.rules_settings import RulesSettings
from hub.core.spots_settings import SpotSettings
from hub.service_area import ServiceArea
from protocol.settings import MqttSettings, RoshniSettings, Section


class HubMqttSettings(MqttSettings):
    # The deployed broker makes a client's id its account (use_username_as_clientid), so
    # the hub's receiver logs in as the account `client_id` and its command sender as
    # `<client_id>-cmd`, both with the password in `url`. Each hub worker needs its own
    # client_id; name extra workers `<client_id>-<n>` (provisioning reserves the prefix).
    client_id: str = "roshni-hub"
    # MQTT v5 shared subscription group; set it when several hub workers share the load.
    shared_group: str | None = None
    # A clustered RabbitMQ broker (README "A broker that clusters"): readings are consumed
    # from its quorum queue over AMQP instead of an MQTT subscription. Every node's URL,
    # comma-separated (amqp://user:password@host:5672/%2F). Unset: MQTT, as with Mosquitto.
    amqp_url: str | None = None
    amqp_queue: str = "roshni-hub"

    @model_validator(mode="after")
    def _account_is_client_id(self) -> HubMqttSettings:
        username = self.endpoint().username
        if username and username != self.client_id:
            raise ValueError(
                f"url's username {username!r} is not client_id {self.client_id!r}: the "
                f"broker makes a client's id its account, so the hub logs in as its "
                f"client_id (and {self.client_id}-cmd); drop the username from url "
                f"(mqtt://:password@host:port) or make the two the same")
        return self

    @property
    def command_client_id(self) -> str:
        return f"{self.client_id}-cmd"

    def login(self, client_id: str) -> tuple[str, str | None] | None:
        """The account and password a connection under `client_id` logs in with; None
        when `url` carries no credentials (a broker open to anonymous clients)."""
        ep = self.endpoint()
        if not (ep.username or ep.password):
            return None
        return client_id, ep.password


class InfluxSettings(Section):
    api: Literal["v1", "v2"] = "v1"
    url: str = "http://127.0.0.1:8086"
    # v1: database + user/password
    database: str = "roshni"
    username: str | None = None
    password: str | None = None
    create_database: bool = True
    # v2: bucket + org + token
    bucket: str = "roshni"
    org: str = "roshni"
    token: str | None = None
    timeout_s: float = 10.0


class IngestSettings(Section):
    max_payload_bytes: int = Field(default=64 * 1024, ge=256)
    batch_size: int = Field(default=20000, ge=1)
    # How long a partial batch may wait for more readings before it is written.
    batch_wait_s: float = Field(default=0.2, gt=0)
    # A reading more than this far in the node's future is a clock fault (DESIGN.md §4).
    future_tolerance_s: float = 300.0
    # fsync the spool before acknowledging to the broker: survives power loss, not only crashes.
    fsync: bool = True
    segment_bytes: int = Field(default=64 * 1024 * 1024, ge=4096)
    # A dead letter keeps this much of the payload (and says how big it was) ...
    dead_letter_payload_bytes: int = Field(default=1024, ge=64)
    # ... and one node keeps at most this many; its oldest are dropped and counted in
    # roshni_dead_letters_dropped_total, so a node sending junk cannot fill the disk.
    dead_letters_per_node: int = Field(default=1000, ge=1)


class DbSettings(Section):
    url: str | None = None  # SQLAlchemy URL; default: SQLite file in data_dir


def _comma_list(value: object) -> object:
    # ROSHNI_<SECTION>__<KEY>="a,b" (the environment only carries text)
    if isinstance(value, str):
        return [k.strip() for k in value.split(",") if k.strip()]
    return value


class HttpSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    # Reverse proxies (addresses or networks) whose X-Forwarded-For names the client. Empty:
    # the connecting address is the client whatever the headers say, so a guesser cannot
    # pick a new address per request to escape throttling.
    trusted_proxies: list[str] = Field(default_factory=list)
    # Who may read /metrics and /docs (+ /openapi.json): "loopback" (this machine's
    # clients), "open" (anyone) or "off"; /metrics also to anyone with metrics_token as
    # a bearer token (Prometheus' `authorization: credentials`).
    metrics: Literal["loopback", "open", "off"] = "loopback"
    metrics_token: str | None = Field(default=None, min_length=16)
    docs: Literal["loopback", "open", "off"] = "loopback"

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _proxies_from_environment(cls, value: object) -> object:
        return _comma_list(value)

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies_are_addresses(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or network") from None
        return value


class AuthSettings(Section):
    """`[auth]`: bearer tokens and login throttling for the API (hub/auth)."""

    # HMAC key that signs bearer tokens; every hub worker needs the same one. Unset: a
    # random key is made once and kept in data_dir/auth-secret (one worker only).
    secret_key: str | None = None
    # Accept a short or placeholder secret_key: for development and tests, never production.
    development: bool = False
    token_ttl_s: float = Field(default=12 * 3600.0, gt=0)
    # Failed logins within the window, then 429 until it passes: per user name and
    # address, per user name from any address, per address for any user name.
    login_max_failures: int = Field(default=5, ge=1)
    login_max_failures_per_account: int = Field(default=20, ge=1)
    login_max_failures_per_address: int = Field(default=30, ge=1)
    login_window_s: float = Field(default=300.0, gt=0)

    @model_validator(mode="after")
    def _no_weak_secret(self) -> AuthSettings:
        key = self.secret_key
        weak = key is not None and (len(key) < 32 or key.strip().lower() in (
            "changethis", "change-me", "changeme", "secret", "password"))
        if weak and not self.development:
            raise ValueError(
                "secret_key is a placeholder or shorter than 32 characters; set a random "
                "one (python3 -c 'import secrets; print(secrets.token_urlsafe(48))'), or "
                "set auth.development = true on a development machine")
        return self


class Open311Settings(Section):
    """`[open311]`: citizens' reports through GeoReport v2 (hub/open311.py)."""

    # Keys allowed to POST requests (e.g. one for FixMyStreet); empty: no key needed.
    api_keys: list[str] = Field(default_factory=list)
    # A report is about the nearest assigned node within this distance.
    match_radius_m: float = Field(default=60.0, gt=0)
    # A reading older than this says nothing about the lamp now.
    fresh_s: float = Field(default=1800.0, gt=0)
    jurisdiction_id: str = "karachi"
    # Reports without an api_key (when none are configured) per client address within the
    # window; more get 429. Keyed clients are not limited this way: FixMyStreet's server
    # posts every citizen's report from one address.
    reports_per_address: int = Field(default=10, ge=1)
    reports_window_s: float = Field(default=3600.0, gt=0)

    @field_validator("api_keys", mode="before")
    @classmethod
    def _keys_from_environment(cls, value: object) -> object:
        return _comma_list(value)


class BrokerSettings(Section):
    """`[broker]`: what `roshni provision` needs to give nodes their MQTT credentials."""

    # Mosquitto's password_file; node credentials are written here. Unset: provisioning
    # registers nodes but makes no credentials (a broker managed some other way).
    password_file: Path | None = None
    # Mosquitto's pid_file: it is sent SIGHUP to reload passwords (and cut off revoked nodes).
    pid_file: Path | None = None
    # What nodes connect to, written into their node.toml, e.g. mqtts://hub.example.pk:8883.
    node_url: str = "mqtts://127.0.0.1:8883"
    # The broker's CA certificate, copied into every node's bundle.
    ca_file: Path | None = None
    # Where bundles (node.toml, ca.crt, label.svg) are written; default data_dir/bundles.
    bundle_dir: Path | None = None

    @field_validator("node_url")
    @classmethod
    def _node_url(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ValueError("must be mqtts://host:port (or mqtt:// for a test bench)")
        if parts.username or parts.password:
            raise ValueError("give it without credentials: each node gets its own")
        return url


class HubSettings(RoshniSettings):
    mqtt: HubMqttSettings = HubMqttSettings()
    influx: InfluxSettings = InfluxSettings()
    ingest: IngestSettings = IngestSettings()
    db: DbSettings = DbSettings()
    http: HttpSettings = HttpSettings()
    notify: NotifySettings = NotifySettings()
    spots: SpotSettings = SpotSettings()
    rules: RulesSettings = RulesSettings()
    dashboard: DashboardSettings = DashboardSettings()
    auth: AuthSettings = AuthSettings()
    open311: Open311Settings = Open311Settings()
    broker: BrokerSettings = BrokerSettings()
    service_area: ServiceArea = ServiceArea()
    control: ControlSettings = ControlSettings()

    @model_validator(mode="after")
    def _v2_needs_token(self) -> HubSettings:
        if self.influx.api == "v2" and not self.influx.token:
            raise ValueError("influx.token is required when influx.api = 'v2'")
        return self

    @property
    def db_url(self) -> str:
        return self.db.url or f"sqlite:///{(self.data_dir / 'hub.db').resolve()}"

    @property
    def spool_dir(self) -> Path:
        return self.data_dir / "spool"

    @property
    def bundle_dir(self) -> Path:
        return self.broker.bundle_dir or self.data_dir / "bundles"
