"""Hardware profiles: which sensors a node has and where they are wired.

A profile is a TOML file in ``firmware-config/profiles/`` (or anywhere, given a path).
It is checked strictly: a misspelt key or a pin written as text is an error that names the
file and the key, because a silently ignored typo is a sensor that silently never reads.
"""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from dataclasses import MISSING
from pathlib import Path
from typing import Any, Literal

from protocol.spec import (
    Invalid,
    Part,
    dump,
    field_names,
    field_type,
    json_schema,
    models_in,
    parse,
    record,
    spec,
    tags,
)

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


def _gpio_number(value: object) -> tuple[str, str] | None:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 27:
        return "gpio_pin", f"expected an integer GPIO number 0-27, got {_show(value)}"
    return None


def gpio_pin(default: Any = MISSING, *, description: str | None = None) -> Any:
    """A BCM GPIO number field."""
    return spec(default, ge=0, le=27, before=_gpio_number,
                description=description or "BCM GPIO number (not the header pin)")


def fraction(default: float) -> Any:
    return spec(default, ge=0.0, le=1.0)


@record
class _Mcp3008Channel(Part):
    channel: int = spec(ge=0, le=7, description="MCP3008 input CH0-CH7")
    spi_device: Literal[0, 1] = spec(0, description="chip select: 0 = CE0 (GPIO8), 1 = CE1")
    max_voltage: float = spec(3.3, gt=0, description="the MCP3008's VREF in volts")


@record
class LampAdc(_Mcp3008Channel):
    """Lamp-facing photodiode on an MCP3008 channel."""

    kind: Literal["mcp3008"]
    on_above: float = spec(
        0.25, ge=0.0, le=1.0,
        description="fraction of full scale above which the lamp counts as burning")


@record
class LampLdr(Part):
    """Lamp-facing LDR with a capacitor on one GPIO pin (gpiozero LightSensor)."""

    kind: Literal["light_sensor"]
    pin: int = gpio_pin()
    on_above: float = fraction(0.5)
    charge_time_limit_s: float = spec(0.01, gt=0)


@record
class LampRelay(Part):
    """Auxiliary contact of the lamp's relay or contactor."""

    kind: Literal["relay"]
    pin: int = gpio_pin()
    pull_up: bool = spec(False, description="true if the contact switches the pin to ground")


@record
class LampPower(Part):
    """Lamp verdict from the energy meter: burning above pzem.lamp_on_above_w."""

    kind: Literal["power"]


LampSensor = LampAdc | LampLdr | LampRelay | LampPower


@record
class AmbientAdc(_Mcp3008Channel):
    kind: Literal["mcp3008"]
    lux_full_scale: float = spec(gt=0, description="lux at full scale: lux = value * this")


@record
class AmbientLdr(Part):
    kind: Literal["light_sensor"]
    pin: int = gpio_pin()
    charge_time_limit_s: float = spec(0.01, gt=0)
    lux_full_scale: float = spec(gt=0, description="lux at full scale: lux = value * this")


AmbientSensor = AmbientAdc | AmbientLdr


@record
class Pir(Part):
    pin: int = gpio_pin()
    refractory_s: float = spec(
        10.0, ge=0, description="seconds: motion this soon after the last is the same person")


@record
class Tamper(Part):
    pin: int = gpio_pin()
    tampered_when: Literal["released", "pressed"] = "released"


@record
class Pzem(Part):
    port: str = spec(min_length=1, description="serial device, e.g. /dev/serial0")
    address: int = spec(1, ge=1, le=247)
    baud: int = spec(9600, gt=0)
    timeout_s: float = spec(0.5, gt=0)
    lamp_on_above_w: float = spec(5.0, ge=0, description="lamp counts as burning above this draw")


@record
class Radar(Part):
    """HLK-LD2410 24 GHz presence radar on a UART: footfall, and presence of people who
    stand still, which a PIR misses."""

    port: str = spec(min_length=1, description="serial device, e.g. /dev/ttyAMA1")
    baud: Literal[9600, 19200, 38400, 57600, 115200, 230400, 256000, 460800] = spec(
        256000, description="the radar's UART speed; 256000 unless it was reconfigured")
    refractory_s: float = spec(
        10.0, ge=0, description="seconds: a target this soon after the last is the same person")
    max_distance_cm: int | None = spec(
        None, gt=0, le=600, description="ignore targets farther away (the road beyond the "
                                        "pavement); the LD2410 sees up to 6 m")


@record
class CpuTemp(Part):
    sensor_file: str = "/sys/class/thermal/thermal_zone0/temp"


@record
class StatusLed(Part):
    """An LED the technician can see from the street: blinks on the hub's `identify`."""

    pin: int = gpio_pin()
    active_high: bool = spec(True, description="false if the pin sinks the LED's current")


@record
class Output(Part):
    """The node switches and dims the lamp (DESIGN.md §11). Fail-safe by wiring: with the
    Pi dead or the agent stopped the lamp burns at full light. The relay's coil is
    energised to switch the lamp OFF (its normally-closed contact carries the lamp), and
    the PWM pin drives an open-collector stage that pulls the driver's dim wire down: at
    rest the wire floats and the driver gives full light."""

    relay_pin: int | None = gpio_pin(
        None, description="drives the relay coil (active high): energised = lamp off")
    pwm_pin: int | None = gpio_pin(
        None, description="PWM into the dim wire's pull-down stage: duty = how far to dim")
    pwm_hz: float = spec(1000.0, gt=0, le=10000, description="PWM frequency, Hz")
    driver: Literal["0-10V", "1-10V"] = spec(
        "1-10V", description="the LED driver's dimming input; both are sink-type: "
                             "an open dim wire means full light")
    min_dim: int = spec(10, ge=1, le=100, description="the lowest level the driver can "
                                                      "dim to, %; lower levels are raised "
                                                      "to it")

    def check(self) -> None:
        if self.relay_pin is None and self.pwm_pin is None:
            raise ValueError("output: set relay_pin, pwm_pin or both")


@record
class Profile(Part):
    """One node's hardware. Every sensor is optional; a missing table means no such sensor."""

    title = "Roshni node hardware profile"

    name: str = spec(pattern=PROFILE_NAME_RE)
    board: str = spec(min_length=1)
    description: str = ""
    rated_w: float | None = spec(None, gt=0, description="the lamp's rated power, W")
    lamp: LampSensor | None = None
    ambient: AmbientSensor | None = None
    pir: Pir | None = None
    tamper: Tamper | None = None
    pzem: Pzem | None = None
    radar: Radar | None = None
    cpu_temp: CpuTemp | None = None
    status_led: StatusLed | None = None
    output: Output | None = None

    def check(self) -> None:
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
        return parse(Profile, data)
    except Invalid as err:
        lines = _describe(err.errors, data)
        raise ProfileError("\n".join(f"{source}: {line}" for line in lines)) from None


def profile_sha(profile: Profile) -> str:
    """Stable hash of what the profile says (defaults filled in), for the birth message."""
    canonical = json.dumps(dump(profile), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def profile_json_schema() -> dict[str, Any]:
    """JSON Schema of a profile file; committed as firmware-config/profile.schema.json."""
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            **json_schema(Profile)}


def _shown_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _describe(errors: list[dict[str, Any]], data: dict[str, Any]) -> list[str]:
    lines = []
    for e in errors:
        key, model = _key_and_model(e["loc"], data)
        kind, ctx = e["type"], e.get("ctx") or {}
        if kind == "extra_forbidden":
            import difflib

            allowed = sorted(field_names(model)) if model else []
            near = difflib.get_close_matches(key.rsplit(".", 1)[-1], allowed, n=1)
            hint = f"did you mean {near[0]!r}? " if near else ""
            lines.append(f"{key}: unknown key ({hint}allowed: {', '.join(allowed)})")
        elif kind == "missing":
            lines.append(f"{key}: required key is missing")
        elif kind in ("union_tag_invalid", "union_tag_not_found"):
            tp = field_type(model, key.rsplit(".", 1)[-1]) if model else None
            kinds = ", ".join(json.dumps(t) for m in models_in(tp) for t in tags(m))
            got = e["input"].get("kind") if isinstance(e["input"], dict) else None
            got_text = "nothing" if got is None else _show(got)
            lines.append(f"{key}.kind: expected one of {kinds}, got {got_text}")
        elif kind == "value_error" and not e["loc"]:
            lines.append(str(ctx.get("error", e["msg"])))
        elif kind == "model_type":
            lines.append(f"{key}: expected a table, got {_show(e['input'])}")
        elif kind == "gpio_pin":
            lines.append(f"{key}: {e['msg']}")
        else:
            expected = e["msg"].removeprefix("Input should be ").removeprefix("Value error, ")
            if expected.startswith(("greater", "less")):
                expected = "a number " + expected
            lines.append(f"{key or '(top level)'}: expected {expected}, got {_show(e['input'])}")
    return lines


def _key_and_model(loc: tuple[Any, ...], data: Any) -> tuple[str, type[Part] | None]:
    """Dotted key as written in the file, and the record that holds its last part (for a
    sensor table, the kind the table names)."""
    model: type[Part] | None = Profile
    holder: type[Part] | None = Profile
    for step in loc:
        holder = model
        tp = field_type(model, str(step)) if model else None
        data = data.get(step) if isinstance(data, dict) else None
        model = _model_for(tp, data)
    return ".".join(map(str, loc)), holder


def _model_for(tp: Any, data: Any) -> type[Part] | None:
    for model in models_in(tp):
        if "kind" not in field_names(model) or (
                isinstance(data, dict) and data.get("kind") in tags(model)):
            return model
    return None


if __name__ == "__main__":
    print(json.dumps(profile_json_schema(), indent=2, sort_keys=True))
