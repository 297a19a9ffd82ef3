"""The hub's one settings object (DESIGN.md §10): TOML file + ROSHNI_* environment."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from hub.dashboard.settings import DashboardSettings
from hub.notify.settings import NotifySettings
from hub.rules.config import RulesSettings
from hub.spots.settings import SpotSettings
from protocol.settings import MqttSettings, RoshniSettings, Section


class HubMqttSettings(MqttSettings):
    client_id: str = "roshni-hub"
    # MQTT v5 shared subscription group; set it when several hub workers share the load.
    shared_group: str | None = None
    # A clustered RabbitMQ broker (README "A broker that clusters"): readings are consumed
    # from its quorum queue over AMQP instead of an MQTT subscription. Every node's URL,
    # comma-separated (amqp://user:password@host:5672/%2F). Unset: MQTT, as with Mosquitto.
    amqp_url: str | None = None
    amqp_queue: str = "roshni-hub"


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


class DbSettings(Section):
    url: str | None = None  # SQLAlchemy URL; default: SQLite file in data_dir


class HttpSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)


class AuthSettings(Section):
    """`[auth]`: bearer tokens and login throttling for the API (hub/auth)."""

    # HMAC key that signs bearer tokens; every hub worker needs the same one. Unset: a
    # random key is made once and kept in data_dir/auth-secret (one worker only).
    secret_key: str | None = None
    # Accept a short or placeholder secret_key: for development and tests, never production.
    development: bool = False
    token_ttl_s: float = Field(default=12 * 3600.0, gt=0)
    # Failed logins per username and address within the window, then 429 until it passes.
    login_max_failures: int = Field(default=5, ge=1)
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

    @field_validator("api_keys", mode="before")
    @classmethod
    def _keys_from_environment(cls, value: object) -> object:
        # ROSHNI_OPEN311__API_KEYS="key1,key2" (the environment only carries text)
        if isinstance(value, str):
            return [k.strip() for k in value.split(",") if k.strip()]
        return value


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
