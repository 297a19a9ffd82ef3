"""Settings of one node agent (DESIGN.md §10): `node.toml` plus ``ROSHNI_*`` variables.

    ROSHNI_NODE__ID=khi-kor-0042 ROSHNI_MQTT__URL=mqtt://khi-kor-0042:secret@hub:1883 \\
    ROSHNI_DATA_DIR=/var/lib/roshni roshni node run
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Self

import msgspec
from msgspec import Meta

from protocol.loading import (
    ConfigError,
    MqttEndpoint,
    check_mqtt_url,
    describe,
    overlay_environment,
    read_settings_file,
    settings_path,
    where,
)
from protocol.structs import Invalid, Record, parse
from protocol.topics import check_node_id

DEFAULT_SPOOL_DAYS = 14.0


# The settings are msgspec records (protocol.structs), not pydantic models: the agent has
# to fit in 40 MB (issue 12). They are parsed in msgspec's lax mode: values from ROSHNI_*
# variables are text ("60", "true").


class NodeId(str):
    """A node id (protocol.topics.check_node_id)."""

    __slots__ = ()

    @classmethod
    def from_value(cls, value: object) -> NodeId:
        if not isinstance(value, str):
            raise ValueError(f"expected a node id (text), got {value!r}")
        return cls(check_node_id(value))


class MqttUrl(str):
    """mqtt://… or mqtts://…"""

    __slots__ = ()

    @classmethod
    def from_value(cls, value: object) -> MqttUrl:
        if not isinstance(value, str):
            raise ValueError(f"expected a URL (text), got {value!r}")
        return cls(check_mqtt_url(value))


class NodeSection(Record):
    id: NodeId
    # A profile name in firmware-config/ or a path to a profile file.
    profile: str = "pi-zero-2w"
    # Float so tests and simulations can sample several times a second.
    interval_s: Annotated[float, Meta(gt=0)] = 60.0
    lat: Annotated[float, Meta(ge=-90, le=90)] | None = None
    lon: Annotated[float, Meta(ge=-180, le=180)] | None = None


class MqttSettings(Record):
    """The node's [mqtt] table (the hub's is protocol.settings.MqttSettings)."""

    url: MqttUrl = MqttUrl("mqtt://127.0.0.1:1883")
    ca_file: Path | None = None
    keepalive_s: int = 30

    def endpoint(self) -> MqttEndpoint:
        return MqttEndpoint.from_url(self.url)


class SpoolSettings(Record):
    """How much history the node keeps while the broker is unreachable: a number of
    readings or of days (at the configured interval); 14 days if neither is set."""

    max_readings: Annotated[int, Meta(gt=0)] | None = None
    max_days: Annotated[float, Meta(gt=0)] | None = None

    def __post_init__(self) -> None:
        if self.max_readings is not None and self.max_days is not None:
            raise ValueError("set either spool.max_readings or spool.max_days, not both")

    def capacity(self, interval_s: float) -> int:
        if self.max_readings is not None:
            return self.max_readings
        days = self.max_days if self.max_days is not None else DEFAULT_SPOOL_DAYS
        return max(1, math.ceil(days * 86400 / interval_s))


class SimStart(str):
    """"now", or UTC epoch seconds written as text (from a number, an ISO 8601 time)."""

    __slots__ = ()

    @classmethod
    def from_value(cls, value: object) -> SimStart:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return cls(repr(float(value)))
        if not isinstance(value, str):
            raise ValueError('must be "now", epoch seconds or an ISO 8601 time')
        text = value.strip()
        if text.lower() == "now":
            return cls("now")
        try:
            return cls(repr(float(text)))
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
        return cls(repr(when.timestamp()))


class SimSettings(Record):
    """Clock of a simulated node (`roshni node run --simulate`)."""

    # "now", UTC epoch seconds, or an ISO 8601 time (without an offset it is UTC).
    start: SimStart = SimStart("now")
    speed: Annotated[float, Meta(gt=0)] = 1.0
    # Wall-clock epoch seconds at which the simulated clock read `start` (default: when the
    # agent starts): nodes started one after another share one street clock (the demo).
    start_wall: float | None = None

    def start_epoch(self, now: float | None = None) -> float:
        if self.start == "now":
            return time.time() if now is None else now
        return float(self.start)

    @property
    def is_real_time(self) -> bool:
        return self.start == "now" and self.speed == 1.0


class NodeSettings(Record, kw_only=True):
    data_dir: Path = Path("data")
    node: NodeSection
    mqtt: MqttSettings = msgspec.field(default_factory=MqttSettings)
    spool: SpoolSettings = msgspec.field(default_factory=SpoolSettings)
    sim: SimSettings = msgspec.field(default_factory=SimSettings)

    @classmethod
    def of(cls, **data: Any) -> Self:
        """Settings from tables given as dicts (``node={"id": …}``), checked; raises
        protocol.structs.Invalid."""
        return parse(cls, data, lax=True)

    @classmethod
    def load(cls, path: Path | str | None = None, *, environ: Mapping[str, str] | None = None,
             **overrides: Any) -> Self:
        """The settings file (``--config``, else $ROSHNI_CONFIG) with ROSHNI_* variables
        over it; ConfigError naming every bad key and where to set a missing one."""
        environ = os.environ if environ is None else environ
        path = settings_path(path, environ)
        data = read_settings_file(path)
        for key, value in overrides.items():
            data.setdefault(key, value)
        overlay_environment({f.name: not (isinstance(f.type, type) and issubclass(f.type, Record))
                             for f in msgspec.structs.fields(cls)}, data, environ)
        # An absent [node] table: report its required keys, which is what a person has
        # to write, not the table's name.
        data.setdefault("node", {})
        try:
            return parse(cls, data, lax=True)
        except Invalid as err:
            raise ConfigError(describe(err.errors, where(path), file=path)) from None

    def __post_init__(self) -> None:
        # The broker's ACL is `pattern readwrite roshni/v1/%u/#`: under any other username
        # every publish would be refused (or, on MQTT 3.1.1, silently dropped).
        username = self.mqtt.endpoint().username
        if username is not None and username != self.node.id:
            raise ValueError(
                f"mqtt.url: the username {username!r} must be the node id {self.node.id!r}"
            )

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

    def program_path(self) -> Path:
        """The lighting program the hub sent last (DESIGN.md §11)."""
        return self.data_dir / f"program-{self.node.id}.json"
