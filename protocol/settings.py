"""Settings loading shared by node and hub (DESIGN.md §10).

Values come from a TOML file and from ``ROSHNI_<SECTION>__<KEY>`` environment variables;
the environment wins. Each service defines one settings class on top of `RoshniSettings`.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict


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


class RoshniSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="ROSHNI_", env_nested_delimiter="__", extra="forbid"
    )

    data_dir: Path = Path("data")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The TOML file arrives as init arguments; the environment overrides it.
        return (env_settings, init_settings)

    @classmethod
    def load(cls, path: Path | str | None = None, **overrides: Any) -> Self:
        data: dict[str, Any] = {}
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
        try:
            return cls(**data)
        except ValidationError as err:
            raise ConfigError(describe_errors(err, str(path or "environment"))) from None


def describe_errors(err: ValidationError, where: str) -> str:
    lines = [f"{where}: invalid settings"]
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"]) or "(top level)"
        lines.append(f"  {key}: {e['msg']}")
    return "\n".join(lines)
