"""Hardware profiles: which sensors a node has and where they are wired.

A profile is a TOML file in ``firmware-config/profiles/`` (or anywhere, given a path).
It is checked strictly: a misspelt key or a pin written as text is an error that names the
file and the key, because a silently ignored typo is a sensor that silently never reads.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import tomllib
import types
import typing
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import PydanticCustomError

PROFILE_NAME_RE = r"^[a-z0-9][a-z0-9-]{0,62}$"
FIRMWARE_CONFIG_ENV = "ROSHNI_FIRMWARE_CONFIG"
SPI0_PINS = {7: "SPI0 CE1", 8: "SPI0 CE0", 9: "SPI0 MISO", 10: "SPI0 MOSI", 11: "SPI0 SCLK"}
# The primary UART is on GPIO14/15 whichever of these names the OS gives it.
PRIMARY_UART_PORTS = ("/dev/serial0", "/dev/ttyAMA0", "/dev/ttyS0")
PRIMARY_UART_PINS = {14: "the primary UART's TXD", 15: "the primary UART's RXD"}


class ProfileError(ValueError):
    """A profile that cannot be used; the message names the file, the key and the fix."""


def _show(value: object) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    try:
        return json.dumps(value)
    except TypeError:
        return repr(value)


def _gpio_number(value: object) -> object:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 27:
        raise PydanticCustomError(
            "gpio_pin", "expected an integer GPIO number 0-27, got {got}", {"got": _show(value)})
    return value


GpioPin = Annotated[int, BeforeValidator(_gpio_number),
                    Field(ge=0, le=27, description="BCM GPIO number (not the header pin)")]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class _Mcp3008Channel(_Part):
    channel: int = Field(ge=0, le=7, description="MCP3008 input CH0-CH7")
    spi_device: Literal[0, 1] = Field(0, description="chip select: 0 = CE0 (GPIO8), 1 = CE1")
    max_voltage: float = Field(3.3, gt=0, description="the MCP3008's VREF in volts")


class LampAdc(_Mcp3008Channel):
    """Lamp-facing photodiode on an MCP3008 channel."""

    kind: Literal["mcp3008"]
    on_above: Fraction = Field(
        0.25, description="fraction of full scale above which the lamp counts as burning")


class LampLdr(_Part):
    """Lamp-facing LDR with a capacitor on one GPIO pin (gpiozero LightSensor)."""

    kind: Literal["light_sensor"]
    pin: GpioPin
    on_above: Fraction = 0.5
    charge_time_limit_s: float = Field(0.01, gt=0)


class LampRelay(_Part):
    """Auxiliary contact of the lamp's relay or contactor."""

    kind: Literal["relay"]
    pin: GpioPin
    pull_up: bool = Field(False, description="true if the contact switches the pin to ground")


class LampPower(_Part):
    """Lamp verdict from the energy meter: burning above pzem.lamp_on_above_w."""

    kind: Literal["power"]


LampSensor = Annotated[LampAdc | LampLdr | LampRelay | LampPower, Field(discriminator="kind")]


class AmbientAdc(_Mcp3008Channel):
    kind: Literal["mcp3008"]
    lux_full_scale: float = Field(gt=0, description="lux at full scale: lux = value * this")


class AmbientLdr(_Part):
    kind: Literal["light_sensor"]
    pin: GpioPin
    charge_time_limit_s: float = Field(0.01, gt=0)
    lux_full_scale: float = Field(gt=0, description="lux at full scale: lux = value * this")


AmbientSensor = Annotated[AmbientAdc | AmbientLdr, Field(discriminator="kind")]


class Pir(_Part):
    pin: GpioPin
    refractory_s: float = Field(
        10.0, ge=0, description="seconds: motion this soon after the last is the same person")


class Tamper(_Part):
    pin: GpioPin
    tampered_when: Literal["released", "pressed"] = "released"


class Pzem(_Part):
    port: str = Field(min_length=1, description="serial device, e.g. /dev/serial0")
    address: int = Field(1, ge=1, le=247)
    baud: int = Field(9600, gt=0)
    timeout_s: float = Field(0.5, gt=0)
    lamp_on_above_w: float = Field(5.0, ge=0, description="lamp counts as burning above this draw")


class Radar(_Part):
    """HLK-LD2410 24 GHz presence radar on a UART: footfall, and presence of people who
    stand still, which a PIR misses."""

    port: str = Field(min_length=1, description="serial device, e.g. /dev/ttyAMA1")
    baud: Literal[9600, 19200, 38400, 57600, 115200, 230400, 256000, 460800] = Field(
        256000, description="the radar's UART speed; 256000 unless it was reconfigured")
    refractory_s: float = Field(
        10.0, ge=0, description="seconds: a target this soon after the last is the same person")
    max_distance_cm: int | None = Field(
        None, gt=0, le=600, description="ignore targets farther away (the road beyond the "
                                        "pavement); the LD2410 sees up to 6 m")


class CpuTemp(_Part):
    sensor_file: str = "/sys/class/thermal/thermal_zone0/temp"


class StatusLed(_Part):
    """An LED the technician can see from the street: blinks on the hub's `identify`."""

    pin: GpioPin
    active_high: bool = Field(True, description="false if the pin sinks the LED's current")


class Output(_Part):
    """The node switches and dims the lamp (DESIGN.md §11). Fail-safe by wiring: with the
    Pi dead or the agent stopped the lamp burns at full light. The relay's coil is
    energised to switch the lamp OFF (its normally-closed contact carries the lamp), and
    the PWM pin drives an open-collector stage that pulls the driver's dim wire down: at
    rest the wire floats and the driver gives full light."""

    relay_pin: GpioPin | None = Field(
        None, description="drives the relay coil (active high): energised = lamp off")
    pwm_pin: GpioPin | None = Field(
        None, description="PWM into the dim wire's pull-down stage: duty = how far to dim")
    pwm_hz: float = Field(1000.0, gt=0, le=10000, description="PWM frequency, Hz")
    driver: Literal["0-10V", "1-10V"] = Field(
        "1-10V", description="the LED driver's dimming input; both are sink-type: "
                             "an open dim wire means full light")
    min_dim: int = Field(10, ge=1, le=100, description="the lowest level the driver can "
                                                       "dim to, %; lower levels are raised "
                                                       "to it")

    @model_validator(mode="after")
    def _some_pin(self) -> Output:
        if self.relay_pin is None and self.pwm_pin is None:
            raise ValueError("output: set relay_pin, pwm_pin or both")
        return self


class Profile(_Part):
    """One node's hardware. Every sensor is optional; a missing table means no such sensor."""

    model_config = ConfigDict(title="Roshni node hardware profile")

    name: str = Field(pattern=PROFILE_NAME_RE)
    board: str = Field(min_length=1)
    description: str = ""
    rated_w: float | None = Field(None, gt=0, description="the lamp's rated power, W")
    lamp: LampSensor | None = None
    ambient: AmbientSensor | None = None
    pir: Pir | None = None
    tamper: Tamper | None = None
    pzem: Pzem | None = None
    radar: Radar | None = None
    cpu_temp: CpuTemp | None = None
    status_led: StatusLed | None = None
    output: Output | None = None

    @model_validator(mode="after")
    def _consistent_wiring(self) -> Profile:
        if isinstance(self.lamp, LampPower) and self.pzem is None:
            raise ValueError("lamp.kind: \"power\" needs a [pzem] energy meter")
        if self.pir is not None and self.radar is not None:
            raise ValueError("pir, radar: footfall comes from one people sensor; keep the "
                             "[pir] table or the [radar] table, not both")
        ports = self.serial_ports()
        if len(set(ports.values())) < len(ports):
            raise ValueError(f"radar.port: {ports['radar.port']} is already used by pzem.port")
        on_primary_uart = [key for key, port in ports.items() if port in PRIMARY_UART_PORTS]
        used: dict[int, str] = {}
        for key, pin in self.gpio_pins().items():
            if pin in used:
                raise ValueError(f"{key}: GPIO{pin} is already used by {used[pin]}")
            if pin in SPI0_PINS and self.uses_mcp3008():
                raise ValueError(f"{key}: GPIO{pin} is {SPI0_PINS[pin]}, used by the MCP3008")
            if pin in PRIMARY_UART_PINS and on_primary_uart:
                raise ValueError(f"{key}: GPIO{pin} is {PRIMARY_UART_PINS[pin]}, used by "
                                 f"{on_primary_uart[0]} ({ports[on_primary_uart[0]]})")
            used[pin] = key
        channels: dict[tuple[int, int], str] = {}
        for key in ("lamp", "ambient"):
            part = getattr(self, key)
            if isinstance(part, _Mcp3008Channel):
                where = (part.spi_device, part.channel)
                if where in channels:
                    raise ValueError(f"{key}.channel: MCP3008 CH{part.channel} on CE"
                                     f"{part.spi_device} is already used by {channels[where]}")
                channels[where] = f"{key}.channel"
        return self

    def gpio_pins(self) -> dict[str, int]:
        """Dotted key → GPIO number of every pin-wired sensor and output."""
        pins = {f"{key}.pin": part.pin
                for key in ("lamp", "ambient", "pir", "tamper", "status_led")
                if (part := getattr(self, key)) is not None and hasattr(part, "pin")}
        if self.output is not None:
            pins.update({f"output.{key}": pin for key in ("relay_pin", "pwm_pin")
                         if (pin := getattr(self.output, key)) is not None})
        return pins

    def serial_ports(self) -> dict[str, str]:
        """Dotted key → serial device of every UART sensor."""
        return {f"{key}.port": part.port for key in ("pzem", "radar")
                if (part := getattr(self, key)) is not None}

    def uses_mcp3008(self) -> bool:
        return any(isinstance(p, _Mcp3008Channel) for p in (self.lamp, self.ambient))


def firmware_config_dir() -> Path:
    env = os.environ.get(FIRMWARE_CONFIG_ENV)
    if env:
        return Path(env)
    return Path(__file__).resolve().parent.parent / "firmware-config"


def profiles_dir() -> Path:
    return firmware_config_dir() / "profiles"


def available_profiles() -> list[str]:
    return sorted(p.stem for p in profiles_dir().glob("*.toml"))


def load_profile(name_or_path: str | os.PathLike[str]) -> Profile:
    """A profile by bare name (``pi-zero-2w``, looked up in firmware-config/profiles/) or path."""
    text = os.fspath(name_or_path)
    if os.sep in text or "/" in text or text.endswith(".toml"):
        path = Path(text)
        shown = text
    else:
        path = profiles_dir() / f"{text}.toml"
        shown = _shown_path(path)
        if not path.is_file():
            known = ", ".join(available_profiles()) or "none"
            raise ProfileError(f"{shown}: no profile named {text!r} (available: {known}; "
                               f"set {FIRMWARE_CONFIG_ENV} to use another firmware-config)")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProfileError(f"{shown}: no such profile file") from None
    except tomllib.TOMLDecodeError as err:
        raise ProfileError(f"{shown}: not valid TOML: {err}") from None
    return parse_profile(data, source=shown)


def parse_profile(data: dict[str, Any], *, source: str = "profile") -> Profile:
    try:
        return Profile.model_validate(data)
    except ValidationError as err:
        lines = _describe(err, data)
        raise ProfileError("\n".join(f"{source}: {line}" for line in lines)) from None


def profile_sha(profile: Profile) -> str:
    """Stable hash of what the profile says (defaults filled in), for the birth message."""
    canonical = json.dumps(profile.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def profile_json_schema() -> dict[str, Any]:
    """JSON Schema of a profile file; committed as firmware-config/profile.schema.json."""
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            **Profile.model_json_schema()}


def _shown_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _describe(err: ValidationError, data: dict[str, Any]) -> list[str]:
    lines = []
    for e in err.errors():
        key, model = _key_and_model(e["loc"], data)
        kind, ctx = e["type"], e.get("ctx") or {}
        if kind == "extra_forbidden":
            allowed = sorted(model.model_fields) if model else []
            near = difflib.get_close_matches(key.rsplit(".", 1)[-1], allowed, n=1)
            hint = f"did you mean {near[0]!r}? " if near else ""
            lines.append(f"{key}: unknown key ({hint}allowed: {', '.join(allowed)})")
        elif kind == "missing":
            lines.append(f"{key}: required key is missing")
        elif kind in ("union_tag_invalid", "union_tag_not_found"):
            field = model.model_fields.get(key.rsplit(".", 1)[-1]) if model else None
            tags = ", ".join(json.dumps(t) for t in _kinds(field.annotation)) if field else ""
            got = e["input"].get("kind") if isinstance(e["input"], dict) else None
            got_text = "nothing" if got is None else _show(got)
            lines.append(f"{key}.kind: expected one of {tags}, got {got_text}")
        elif kind == "value_error" and not e["loc"]:
            lines.append(str(ctx.get("error", e["msg"])))
        elif kind in ("model_type", "dict_type"):
            lines.append(f"{key}: expected a table, got {_show(e['input'])}")
        elif kind == "gpio_pin":
            lines.append(f"{key}: {e['msg']}")
        else:
            expected = e["msg"].removeprefix("Input should be ").removeprefix("Value error, ")
            if expected.startswith(("greater", "less")):
                expected = "a number " + expected
            lines.append(f"{key or '(top level)'}: expected {expected}, got {_show(e['input'])}")
    return lines


def _key_and_model(loc: tuple[Any, ...], data: Any) -> tuple[str, type[BaseModel] | None]:
    """Dotted key as written in the file, and the model that holds its last part.

    Pydantic puts the union tag into the location (``lamp.mcp3008.channel``); the file
    says ``lamp.channel``, so tags are dropped.
    """
    parts: list[str] = []
    model: type[BaseModel] | None = Profile
    holder: type[BaseModel] | None = Profile
    for step in loc:
        if isinstance(data, dict) and step not in data and data.get("kind") == step:
            continue
        parts.append(str(step))
        holder = model
        field = model.model_fields.get(str(step)) if model else None
        data = data.get(step) if isinstance(data, dict) else None
        model = _model_for(field.annotation, data) if field else None
    return ".".join(parts), holder


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    candidates = []
    stack = [annotation]
    while stack:
        ann = stack.pop()
        origin = typing.get_origin(ann)
        if origin is Annotated:
            stack.append(typing.get_args(ann)[0])
        elif origin in (typing.Union, types.UnionType):
            stack.extend(typing.get_args(ann))
        elif isinstance(ann, type) and issubclass(ann, BaseModel):
            candidates.append(ann)
    return candidates[::-1]


def _kinds(annotation: Any) -> list[str]:
    return [tag for m in _models_in(annotation) if "kind" in m.model_fields
            for tag in typing.get_args(m.model_fields["kind"].annotation)]


def _model_for(annotation: Any, data: Any) -> type[BaseModel] | None:
    for model in _models_in(annotation):
        kind = model.model_fields.get("kind")
        if kind is None or (isinstance(data, dict) and data.get("kind") in typing.get_args(
                kind.annotation)):
            return model
    return None


if __name__ == "__main__":
    print(json.dumps(profile_json_schema(), indent=2, sort_keys=True))
