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
from typing import Any, Self

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
from protocol.spec import Invalid, Part, field_names, field_type, models_in, parse, record, spec
from protocol.topics import check_node_id

DEFAULT_SPOOL_DAYS = 14.0


# The settings are protocol.spec records, not pydantic models: the agent has to fit in
# 40 MB (issue 12). `lax`: values from ROSHNI_* variables are text ("60", "true").


def _node_id(node_id: str) -> str:
    return check_node_id(node_id)


@record
class NodeSection(Part):
    lax = True
    id: str = spec(convert=_node_id)
    # A profile name in firmware-config/ or a path to a profile file.
    profile: str = "pi-zero-2w"
    # Float so tests and simulations can sample several times a second.
    interval_s: float = spec(60.0, gt=0)
    lat: float | None = spec(None, ge=-90, le=90)
    lon: float | None = spec(None, ge=-180, le=180)


@record
class MqttSettings(Part):
    """The node's [mqtt] table (the hub's is protocol.settings.MqttSettings)."""

    lax = True
    url: str = spec("mqtt://127.0.0.1:1883", convert=check_mqtt_url)
    ca_file: Path | None = None
    keepalive_s: int = 30

    def endpoint(self) -> MqttEndpoint:
        return MqttEndpoint.from_url(self.url)


@record
class SpoolSettings(Part):
    """How much history the node keeps while the broker is unreachable: a number of
    readings or of days (at the configured interval); 14 days if neither is set."""

    lax = True
    max_readings: int | None = spec(None, gt=0)
    max_days: float | None = spec(None, gt=0)

    def check(self) -> None:
        if self.max_readings is not None and self.max_days is not None:
            raise ValueError("set either spool.max_readings or spool.max_days, not both")

    def capacity(self, interval_s: float) -> int:
        if self.max_readings is not None:
            return self.max_readings
        days = self.max_days if self.max_days is not None else DEFAULT_SPOOL_DAYS
        return max(1, math.ceil(days * 86400 / interval_s))


def _start(value: object) -> float | str:
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


@record
class SimSettings(Part):
    """Clock of a simulated node (`roshni node run --simulate`)."""

    lax = True
    # "now", UTC epoch seconds, or an ISO 8601 time (without an offset it is UTC).
    start: object = spec("now", convert=_start)
    speed: float = spec(1.0, gt=0)
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


@record
class NodeSettings(Part):
    lax = True
    data_dir: Path = Path("data")
    node: NodeSection
    mqtt: MqttSettings = spec(default_factory=MqttSettings)
    spool: SpoolSettings = spec(default_factory=SpoolSettings)
    sim: SimSettings = spec(default_factory=SimSettings)

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
        overlay_environment({name: not models_in(field_type(cls, name))
                             for name in field_names(cls)}, data, environ)
        # An absent [node] table: report its required keys, which is what a person has
        # to write, not the table's name.
        data.setdefault("node", {})
        try:
            return parse(cls, data)
        except Invalid as err:
            raise ConfigError(describe(err.errors, where(path), file=path)) from None

    def check(self) -> None:
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
