"""Settings loading shared by node and hub (DESIGN.md §10).

Values come from a TOML file and from ``ROSHNI_<SECTION>__<KEY>`` environment variables;
the environment wins. Each hub service defines one settings class on top of
`RoshniSettings`; the file and variable handling is `protocol.loading`'s, which the node
uses without pydantic.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from protocol.loading import (
    CONFIG_ENV,
    ENV_PREFIX,
    ConfigError,
    MqttEndpoint,
    check_mqtt_url,
    describe,
    overlay_environment,
    read_settings_file,
    settings_path,
    where,
)

__all__ = ["CONFIG_ENV", "ENV_PREFIX", "ConfigError", "MqttEndpoint", "MqttSettings",
           "RoshniSettings", "Section", "describe_errors"]


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
        return check_mqtt_url(url)

    def endpoint(self) -> MqttEndpoint:
        return MqttEndpoint.from_url(self.url)


class RoshniSettings(BaseModel):
    """Root of a service's settings: `data_dir` plus one `Section` per table.

    Loading is done here rather than with pydantic-settings: that library alone adds about
    16 MB to a process."""

    model_config = ConfigDict(extra="forbid")

    data_dir: Path = Path("data")

    @classmethod
    def load(cls, path: Path | str | None = None, *, environ: Mapping[str, str] | None = None,
             **overrides: Any) -> Self:
        environ = os.environ if environ is None else environ
        path = settings_path(path, environ)
        data = read_settings_file(path)
        for key, value in overrides.items():
            data.setdefault(key, value)
        _overlay_environment(cls, data, environ)
        for name, info in cls.model_fields.items():
            # A required table that is absent: report its required keys, which is what
            # a person has to write, not the table's name.
            if info.is_required() and not _is_scalar(cls, name):
                data.setdefault(name, {})
        try:
            return cls.model_validate(data)
        except ValidationError as err:
            raise ConfigError(describe_errors(err, where(path), file=path)) from None


def _overlay_environment(cls: type[BaseModel], data: dict[str, Any],
                         environ: Mapping[str, str]) -> None:
    overlay_environment({name: _is_scalar(cls, name) for name in cls.model_fields}, data,
                        environ)


def _is_scalar(cls: type[BaseModel], field: str) -> bool:
    annotation = cls.model_fields[field].annotation
    return not (isinstance(annotation, type) and issubclass(annotation, BaseModel))


def describe_errors(err: ValidationError, where: str, *, file: Path | None = None) -> str:
    return describe(err.errors(), where, file=file)
