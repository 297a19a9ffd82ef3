"""Settings loading without pydantic, shared by node and hub (DESIGN.md §10): the TOML
file, ``ROSHNI_<SECTION>__<KEY>`` variables over it, the broker URL, and error messages
that say where to set a missing key. `protocol.settings` builds the hub's pydantic
settings on these; the node checks its settings with msgspec records (`protocol.structs`; issue 12:
pydantic does not fit in the node's 40 MB).
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit


class ConfigError(ValueError):
    """A settings file or variable that cannot be used; the message names where and why."""


ENV_PREFIX = "ROSHNI_"
CONFIG_ENV = "ROSHNI_CONFIG"  # the settings file when no --config is given


def check_mqtt_url(url: str) -> str:
    if urlsplit(url).scheme not in ("mqtt", "mqtts"):
        raise ValueError("must start with mqtt:// or mqtts:// (TLS)")
    return url


@dataclass(frozen=True)
class MqttEndpoint:
    host: str
    port: int
    username: str | None
    password: str | None
    tls: bool

    @classmethod
    def from_url(cls, url: str) -> MqttEndpoint:
        parts = urlsplit(url)
        tls = parts.scheme == "mqtts"
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or (8883 if tls else 1883),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            tls=tls,
        )


def settings_path(path: Path | str | None, environ: Mapping[str, str]) -> Path | None:
    if path is None and environ.get(CONFIG_ENV):
        # The installed `roshni` wrapper points here, so an operator need not type
        # --config /etc/roshni/hub.toml on every command.
        path = environ[CONFIG_ENV]
    return None if path is None else Path(path)


def read_settings_file(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        return tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such settings file") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML: {err}") from None


def where(path: Path | None) -> str:
    return f"{path} (and ROSHNI_* variables)" if path else "ROSHNI_* environment variables"


def overlay_environment(scalars: Mapping[str, bool], data: dict[str, Any],
                        environ: Mapping[str, str]) -> None:
    """`ROSHNI_<FIELD>` and `ROSHNI_<SECTION>__<KEY>` over the file's values, for the fields
    this service has (`scalars`: field name -> whether it is a plain value rather than a
    table; a hub ignores ROSHNI_NODE__*, a node ignores ROSHNI_INFLUX__*)."""
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        path = name[len(ENV_PREFIX):].lower().split("__")
        if path[0] not in scalars or (len(path) == 1) != scalars[path[0]]:
            continue
        target = data
        for part in path[:-1]:
            existing = target.get(part)
            section = dict(existing) if isinstance(existing, dict) else {}
            target[part] = section
            target = section
        target[path[-1]] = _decode(value)


def _decode(value: str) -> Any:
    """Lists and tables (subscribers, sites, SLA hours) come from the environment as JSON;
    everything else is text for the model to convert."""
    if value.lstrip()[:1] in ("[", "{"):
        try:
            return json.loads(value)
        except ValueError as err:
            raise ConfigError(f"ROSHNI_* variable holding {value[:40]!r}…: not valid JSON: "
                              f"{err}") from None
    return value


def describe(errors: list[dict[str, Any]], where: str, *, file: Path | None = None) -> str:
    """The message of a ConfigError, from errors as pydantic (or protocol.structs) gives them."""
    lines = [f"{where}: invalid settings"]
    for e in errors:
        loc = [str(p) for p in e["loc"]]
        key = ".".join(loc) or "(top level)"
        if e["type"] == "missing":
            lines.append(f"  {key}: required, not set. {_where_to_set(loc, file)}")
        else:
            lines.append(f"  {key}: {e['msg']}")
    return "\n".join(lines)


def _where_to_set(loc: list[str], file: Path | None) -> str:
    """Where a missing key goes: the file's TOML table and the environment variable."""
    env = ENV_PREFIX + "__".join(part.upper() for part in loc)
    if len(loc) == 1:
        toml = f"{loc[0]} = …"
    else:
        toml = f"[{'.'.join(loc[:-1])}] {loc[-1]} = …"
    in_file = f"in {file}" if file is not None else (
        f"in the settings file (--config FILE, or {CONFIG_ENV}=FILE; none was given)")
    return f"Set it {in_file} as `{toml}`, or as {env}."
