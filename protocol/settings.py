"""Settings loading shared by node and hub (DESIGN.md §10).

Values come from a TOML file and from ``ROSHNI_<SECTION>__<KEY>`` environment variables;
the environment wins. Each service defines one settings class on top of `RoshniSettings`.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator


class ConfigError(ValueError):
    """A settings file or variable that cannot be used; the message names where and why."""


class Section(BaseModel):
    """A `[section]` of a settings file. Unknown keys are errors: a typo must not be ignored."""

    model_config = ConfigDict(extra="forbid")


class MqttSettings(Section):
    url: str = "mqtt://127.0.0.1:1883"
    ca_file: Path | None = None
    keepalive_s: int = 30

    @field_validator("url")
    @classmethod
    def _scheme(cls, url: str) -> str:
        if urlsplit(url).scheme not in ("mqtt", "mqtts"):
            raise ValueError("must start with mqtt:// or mqtts:// (TLS)")
        return url

    def endpoint(self) -> MqttEndpoint:
        return MqttEndpoint.from_url(self.url)


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


class RoshniSettings(BaseModel):
    """Root of a service's settings: `data_dir` plus one `Section` per table.

    Loading is done here rather than with pydantic-settings: that library alone adds about
    16 MB to a process, and the node has to fit in 40 MB on a Pi Zero."""

    model_config = ConfigDict(extra="forbid")

    data_dir: Path = Path("data")

    @classmethod
    def load(cls, path: Path | str | None = None, *, environ: Mapping[str, str] | None = None,
             **overrides: Any) -> Self:
        data: dict[str, Any] = {}
        environ = os.environ if environ is None else environ
        if path is None and environ.get(CONFIG_ENV):
            # The installed `roshni` wrapper points here, so an operator need not type
            # --config /etc/roshni/hub.toml on every command.
            path = environ[CONFIG_ENV]
        if path is not None:
            path = Path(path)
            try:
                data = tomllib.loads(path.read_text())
            except FileNotFoundError:
                raise ConfigError(f"{path}: no such settings file") from None
            except tomllib.TOMLDecodeError as err:
                raise ConfigError(f"{path}: not valid TOML: {err}") from None
        for key, value in overrides.items():
            data.setdefault(key, value)
        _overlay_environment(cls, data, environ)
        for name, info in cls.model_fields.items():
            # A required table that is absent: report its required keys, which is what
            # a person has to write, not the table's name.
            if info.is_required() and not _is_scalar(cls, name):
                data.setdefault(name, {})
        where = f"{path} (and ROSHNI_* variables)" if path else "ROSHNI_* environment variables"
        try:
            return cls.model_validate(data)
        except ValidationError as err:
            raise ConfigError(describe_errors(err, where, file=path)) from None


ENV_PREFIX = "ROSHNI_"
CONFIG_ENV = "ROSHNI_CONFIG"  # the settings file when no --config is given


def _overlay_environment(cls: type[BaseModel], data: dict[str, Any],
                         environ: Mapping[str, str]) -> None:
    """`ROSHNI_<FIELD>` and `ROSHNI_<SECTION>__<KEY>` over the file's values, for the fields
    this service has (a hub ignores ROSHNI_NODE__*, a node ignores ROSHNI_INFLUX__*)."""
    fields = cls.model_fields
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        path = name[len(ENV_PREFIX):].lower().split("__")
        if path[0] not in fields or (len(path) == 1) != _is_scalar(cls, path[0]):
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


def _is_scalar(cls: type[BaseModel], field: str) -> bool:
    annotation = cls.model_fields[field].annotation
    return not (isinstance(annotation, type) and issubclass(annotation, BaseModel))


def describe_errors(err: ValidationError, where: str, *, file: Path | None = None) -> str:
    lines = [f"{where}: invalid settings"]
    for e in err.errors():
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
