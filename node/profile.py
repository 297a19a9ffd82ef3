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
from pathlib import Path
from typing import Annotated, Any, Literal

from msgspec import Meta

from protocol.structs import Invalid, Record, dump, parse, show, value_at

PROFILE_NAME_RE = r"^[a-z0-9][a-z0-9-]{0,62}$"
FIRMWARE_CONFIG_ENV = "ROSHNI_FIRMWARE_CONFIG"
SPI0_PINS = {7: "SPI0 CE1", 8: "SPI0 CE0", 9: "SPI0 MISO", 10: "SPI0 MOSI", 11: "SPI0 SCLK"}
# The primary UART is on GPIO14/15 whichever of these names the OS gives it.
PRIMARY_UART_PORTS = ("/dev/serial0", "/dev/ttyAMA0", "/dev/ttyS0")
PRIMARY_UART_PINS = {14: "the primary UART's TXD", 15: "the primary UART's RXD"}


class ProfileError(ValueError):
    """A profile that cannot be used; the message names the file, the key and the fix."""


def _is(description: str | None = None, **bounds: Any) -> Any:
    """A field's description and bounds (msgspec.Meta)."""
    return Meta(description=description, **bounds)


# A BCM GPIO number (a profile error about one reads "expected an integer GPIO number 0-27")
GpioPin = Annotated[int, Meta(ge=0, le=27, description="BCM GPIO number (not the header pin)")]
GPIO_FIELDS = ("pin", "relay_pin", "pwm_pin")
Fraction = Annotated[float, Meta(ge=0.0, le=1.0)]


class Sensor(Record):
    """A sensor table told apart from the others of its place by `kind` (the tag)."""

    @property
    def kind(self) -> str:
        return self.__struct_config__.tag  # type: ignore[return-value]


class _Mcp3008Channel(Sensor):
    channel: Annotated[int, _is("MCP3008 input CH0-CH7", ge=0, le=7)]
    spi_device: Annotated[Literal[0, 1], _is("chip select: 0 = CE0 (GPIO8), 1 = CE1")] = 0
    max_voltage: Annotated[float, _is("the MCP3008's VREF in volts", gt=0)] = 3.3


class LampAdc(_Mcp3008Channel, tag_field="kind", tag="mcp3008"):
    """Lamp-facing photodiode on an MCP3008 channel."""

    on_above: Annotated[float, _is(
        "fraction of full scale above which the lamp counts as burning", ge=0.0, le=1.0)] = 0.25


class LampLdr(Sensor, tag_field="kind", tag="light_sensor"):
    """Lamp-facing LDR with a capacitor on one GPIO pin (gpiozero LightSensor)."""

    pin: GpioPin
    on_above: Fraction = 0.5
    charge_time_limit_s: Annotated[float, Meta(gt=0)] = 0.01


class LampRelay(Sensor, tag_field="kind", tag="relay"):
    """Auxiliary contact of the lamp's relay or contactor."""

    pin: GpioPin
    pull_up: Annotated[bool, _is("true if the contact switches the pin to ground")] = False


class LampPower(Sensor, tag_field="kind", tag="power"):
    """Lamp verdict from the energy meter: burning above pzem.lamp_on_above_w."""


LampSensor = LampAdc | LampLdr | LampRelay | LampPower
LuxFullScale = Annotated[float, _is("lux at full scale: lux = value * this", gt=0)]


class AmbientAdc(_Mcp3008Channel, tag_field="kind", tag="mcp3008", kw_only=True):
    lux_full_scale: LuxFullScale


class AmbientLdr(Sensor, tag_field="kind", tag="light_sensor"):
    pin: GpioPin
    lux_full_scale: LuxFullScale
    charge_time_limit_s: Annotated[float, Meta(gt=0)] = 0.01


AmbientSensor = AmbientAdc | AmbientLdr


class Pir(Record):
    pin: GpioPin
    refractory_s: Annotated[float, _is(
        "seconds: motion this soon after the last is the same person", ge=0)] = 10.0


class Tamper(Record):
    pin: GpioPin
    tampered_when: Literal["released", "pressed"] = "released"


class Pzem(Record):
    port: Annotated[str, _is("serial device, e.g. /dev/serial0", min_length=1)]
    address: Annotated[int, Meta(ge=1, le=247)] = 1
    baud: Annotated[int, Meta(gt=0)] = 9600
    timeout_s: Annotated[float, Meta(gt=0)] = 0.5
    lamp_on_above_w: Annotated[float, _is("lamp counts as burning above this draw", ge=0)] = 5.0


class Radar(Record):
    """HLK-LD2410 24 GHz presence radar on a UART: footfall, and presence of people who
    stand still, which a PIR misses."""

    port: Annotated[str, _is("serial device, e.g. /dev/ttyAMA1", min_length=1)]
    baud: Annotated[Literal[9600, 19200, 38400, 57600, 115200, 230400, 256000, 460800], _is(
        "the radar's UART speed; 256000 unless it was reconfigured")] = 256000
    refractory_s: Annotated[float, _is(
        "seconds: a target this soon after the last is the same person", ge=0)] = 10.0
    max_distance_cm: Annotated[int, _is(
        "ignore targets farther away (the road beyond the pavement); the LD2410 sees up "
        "to 6 m", gt=0, le=600)] | None = None


class CpuTemp(Record):
    sensor_file: str = "/sys/class/thermal/thermal_zone0/temp"


class StatusLed(Record):
    """An LED the technician can see from the street: blinks on the hub's `identify`."""

    pin: GpioPin
    active_high: Annotated[bool, _is("false if the pin sinks the LED's current")] = True


class Output(Record):
    """The node switches and dims the lamp (DESIGN.md §11). Fail-safe by wiring: with the
    Pi dead or the agent stopped the lamp burns at full light. The relay's coil is
    energised to switch the lamp OFF (its normally-closed contact carries the lamp), and
    the PWM pin drives an open-collector stage that pulls the driver's dim wire down: at
    rest the wire floats and the driver gives full light."""

    relay_pin: Annotated[int, _is("drives the relay coil (active high): energised = lamp off",
                                  ge=0, le=27)] | None = None
    pwm_pin: Annotated[int, _is("PWM into the dim wire's pull-down stage: duty = how far to "
                                "dim", ge=0, le=27)] | None = None
    pwm_hz: Annotated[float, _is("PWM frequency, Hz", gt=0, le=10000)] = 1000.0
    driver: Annotated[Literal["0-10V", "1-10V"], _is(
        "the LED driver's dimming input; both are sink-type: an open dim wire means full "
        "light")] = "1-10V"
    min_dim: Annotated[int, _is("the lowest level the driver can dim to, %; lower levels are "
                                "raised to it", ge=1, le=100)] = 10

    def __post_init__(self) -> None:
        if self.relay_pin is None and self.pwm_pin is None:
            raise ValueError("set relay_pin, pwm_pin or both")


class Profile(Record):
    """One node's hardware. Every sensor is optional; a missing table means no such sensor."""

    name: Annotated[str, Meta(pattern=PROFILE_NAME_RE)]
    board: Annotated[str, Meta(min_length=1)]
    description: str = ""
    rated_w: Annotated[float, _is("the lamp's rated power, W", gt=0)] | None = None
    lamp: LampSensor | None = None
    ambient: AmbientSensor | None = None
    pir: Pir | None = None
    tamper: Tamper | None = None
    pzem: Pzem | None = None
    radar: Radar | None = None
    cpu_temp: CpuTemp | None = None
    status_led: StatusLed | None = None
    output: Output | None = None

    def __post_init__(self) -> None:
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
        if err.kind == "invalid" and err.loc and err.loc[-1] in GPIO_FIELDS and \
                err.msg.startswith("expected"):
            shown = show(value_at(data, err.loc))
            err = Invalid(err.loc, err.kind,
                          f"expected an integer GPIO number 0-27, got {shown}")
        raise ProfileError(f"{source}: {err}") from None


def profile_sha(profile: Profile) -> str:
    """Stable hash of what the profile says (defaults filled in), for the birth message."""
    canonical = json.dumps(dump(profile), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def profile_json_schema() -> dict[str, Any]:
    """JSON Schema of a profile file; committed as firmware-config/profile.schema.json."""
    from msgspec.json import schema

    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": "Roshni node hardware profile", **schema(Profile)}


def _shown_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


if __name__ == "__main__":
    print(json.dumps(profile_json_schema(), indent=2, sort_keys=True))
