"""Settings of one node agent (DESIGN.md §10): `node.toml` plus ``ROSHNI_*`` variables.

    ROSHNI_NODE__ID=khi-kor-0042 ROSHNI_MQTT__URL=mqtt://khi-kor-0042:secret@hub:1883 \\
    ROSHNI_DATA_DIR=/var/lib/roshni roshni node run
"""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime
from pathlib import Path

from pydantic import Field, field_validator, model_validator

from protocol.settings import MqttEndpoint, MqttSettings, RoshniSettings, Section
from protocol.topics import check_node_id

DEFAULT_SPOOL_DAYS = 14.0


class NodeSection(Section):
    id: str
    # A profile name in firmware-config/ or a path to a profile file.
    profile: str = "pi-zero-2w"
    # Float so tests and simulations can sample several times a second.
    interval_s: float = Field(default=60.0, gt=0)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)

    @field_validator("id")
    @classmethod
    def _node_id(cls, node_id: str) -> str:
        return check_node_id(node_id)


class SpoolSettings(Section):
    """How much history the node keeps while the broker is unreachable: a number of
    readings or of days (at the configured interval); 14 days if neither is set."""

    max_readings: int | None = Field(default=None, gt=0)
    max_days: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _one_bound(self) -> SpoolSettings:
        if self.max_readings is not None and self.max_days is not None:
            raise ValueError("set either spool.max_readings or spool.max_days, not both")
        return self

    def capacity(self, interval_s: float) -> int:
        if self.max_readings is not None:
            return self.max_readings
        days = self.max_days if self.max_days is not None else DEFAULT_SPOOL_DAYS
        return max(1, math.ceil(days * 86400 / interval_s))


class SimSettings(Section):
    """Clock of a simulated node (`roshni node run --simulate`)."""

    # "now", UTC epoch seconds, or an ISO 8601 time (without an offset it is UTC).
    start: float | str = "now"
    speed: float = Field(default=1.0, gt=0)
    # Wall-clock epoch seconds at which the simulated clock read `start` (default: when the
    # agent starts): nodes started one after another share one street clock (the demo).
    start_wall: float | None = None

    @field_validator("start", mode="before")
    @classmethod
    def _start(cls, value: object) -> float | str:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
        if not isinstance(value, str):
            raise ValueError('must be "now", epoch seconds or an ISO 8601 time')
        text = value.strip()
        if text.lower() == "now":
            return "now"
        try:
            return float(text)
        except ValueError:
            pass
        try:
            when = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(
                f'{value!r} is not "now", epoch seconds or an ISO 8601 time'
            ) from None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return when.timestamp()

    def start_epoch(self, now: float | None = None) -> float:
        if self.start == "now":
            return time.time() if now is None else now
        return float(self.start)

    @property
    def is_real_time(self) -> bool:
        return self.start == "now" and self.speed == 1.0


class NodeSettings(RoshniSettings):
    node: NodeSection
    mqtt: MqttSettings = MqttSettings()
    spool: SpoolSettings = SpoolSettings()
    sim: SimSettings = SimSettings()

    @model_validator(mode="after")
    def _username_is_node_id(self) -> NodeSettings:
        # The broker's ACL is `pattern readwrite roshni/v1/%u/#`: under any other username
        # every publish would be refused (or, on MQTT 3.1.1, silently dropped).
        username = self.mqtt.endpoint().username
        if username is not None and username != self.node.id:
            raise ValueError(
                f"mqtt.url: the username {username!r} must be the node id {self.node.id!r}"
            )
        return self

    def mqtt_endpoint(self) -> MqttEndpoint:
        """The broker to connect to, with the node id as username when the URL has none."""
        endpoint = self.mqtt.endpoint()
        if endpoint.username is None:
            return MqttEndpoint(
                endpoint.host, endpoint.port, self.node.id, endpoint.password, endpoint.tls
            )
        return endpoint

    def spool_path(self) -> Path:
        # One file per node id: seq numbers belong to a node, and several simulated nodes
        # may share a data directory (the demo).
        return self.data_dir / f"spool-{self.node.id}.sqlite3"
