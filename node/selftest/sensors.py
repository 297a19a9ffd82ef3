"""Checklist items for the pole's sensors: each reads a plausible value, and the lamp
sensor responds when the technician covers it (or switches the lamp)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import Protocol

from astral import Observer
from astral.sun import elevation

from node.hardware import Hardware
from node.profile import PRIMARY_UART_PORTS, LampAdc, LampLdr, LampPower, LampRelay, Radar
from node.selftest.checks import Check, failed, passed, skipped
from node.sensors import Ld2410, SensorError, lamp_on_from_power

WIRING = "the wiring table in firmware-config/README.md"
# Mains in Pakistan: 230 V nominal; outside this the meter or its wires are wrong.
MAINS_MIN_V, MAINS_MAX_V = 170.0, 270.0
CPU_MAX_C = 80.0
DARK_FOR_S = 2.0  # the street light sensor reads 0 in daylight this long: it is covered
RADAR_WINDOW_S = 1.0  # the LD2410 reports ~10 times a second: one second shows its pace


class Technician(Protocol):
    def ask(self, instruction: str) -> None:
        """Show the technician what to do now; the check then watches the sensor."""


def sensor_checks(hw: Hardware, *, lat: float | None, lon: float | None,
                  now: float | None = None, radar_window_s: float = RADAR_WINDOW_S
                  ) -> list[Check]:
    """One item per sensor the profile has: it answers, and what it says is plausible."""
    s, p = hw.sensors, hw.profile
    now = time.time() if now is None else now
    out: list[Check] = []

    def guard(name: str, title: str, remedy: str, check: Callable[[], Check]) -> None:
        try:
            out.append(check())
        except Exception as err:  # noqa: BLE001 - any failure is this item's FAIL
            out.append(failed(name, title, f"cannot read it: {err}", remedy))

    if isinstance(p.lamp, LampAdc) and s.lamp is not None:
        lamp, ch = s.lamp, p.lamp.channel
        remedy = (f"Check the lamp photodiode's wires to MCP3008 CH{ch} and the MCP3008's "
                  f"SPI wires ({WIRING}); `ls /dev/spidev0.0` must show the SPI device.")

        def lamp_adc() -> Check:
            value = lamp.value  # type: ignore[union-attr]
            if value <= 0.001 or value >= 0.999:
                return failed("lamp_sensor", "lamp sensor reads", f"{value:.3f} of full scale, "
                              "the very end of the range: a loose or shorted wire", remedy)
            return passed("lamp_sensor", "lamp sensor reads",
                          f"photodiode {value:.2f} of full scale (lamp "
                          f"{'on' if value > p.lamp.on_above else 'off'})")  # type: ignore[union-attr]
        guard("lamp_sensor", "lamp sensor reads", remedy, lamp_adc)
    elif isinstance(p.lamp, LampLdr) and s.lamp is not None:
        lamp = s.lamp
        guard("lamp_sensor", "lamp sensor reads", f"Check the lamp LDR and its capacitor on "
              f"GPIO{p.lamp.pin} ({WIRING}).", lambda: passed(
                  "lamp_sensor", "lamp sensor reads",
                  f"LDR {lamp.value:.2f} (lamp {'on' if lamp.read() else 'off'})"))  # type: ignore[union-attr]
    elif isinstance(p.lamp, LampRelay) and s.lamp is not None:
        lamp = s.lamp
        guard("lamp_sensor", "lamp sensor reads", f"Check the contactor's auxiliary contact "
              f"on GPIO{p.lamp.pin} ({WIRING}).", lambda: passed(
                  "lamp_sensor", "lamp sensor reads",
                  f"contactor contact says the lamp is switched "
                  f"{'on' if lamp.read() else 'off'}"))
    if s.ambient is not None and p.ambient is not None:
        ambient = s.ambient
        where = (f"MCP3008 CH{p.ambient.channel}" if hasattr(p.ambient, "channel")
                 else f"GPIO{getattr(p.ambient, 'pin', '?')}")
        remedy = (f"Make sure nothing covers the street-facing light sensor, and check its "
                  f"wires to {where} ({WIRING}).")

        def ambient_check() -> Check:
            lux = ambient.read()
            sun_up = _sun_up(lat, lon, now)
            # An LDR read by its charge time reads 0 whenever its timing is missed (a busy
            # CPU): only a sensor dark for a while is covered or not connected.
            until = time.monotonic() + DARK_FOR_S
            while lux <= 0.0 and sun_up and time.monotonic() < until:
                time.sleep(0.1)
                lux = ambient.read()
            if lux <= 0.0 and sun_up:
                return failed("ambient_light", "street light sensor reads",
                              "0 lx although the sun is up: covered or not connected", remedy)
            return passed("ambient_light", "street light sensor reads", f"{lux:.1f} lx")
        guard("ambient_light", "street light sensor reads", remedy, ambient_check)
    if s.footfall is not None and p.pir is not None:
        pir = s.footfall
        guard("footfall", "people sensor (PIR) reads", f"Check the PIR's output wire on "
              f"GPIO{p.pir.pin} and its 5 V supply ({WIRING}).", lambda: passed(
                  "footfall", "people sensor (PIR) reads",
                  "motion now" if pir.present else "no motion now"))
    elif isinstance(s.footfall, Ld2410) and p.radar is not None:
        radar, wiring = s.footfall, p.radar
        guard("radar", RADAR_TITLE, radar_remedy(wiring),
              lambda: radar_check(radar, wiring, radar_window_s))
    if s.tamper is not None and p.tamper is not None:
        tamper, pin = s.tamper, p.tamper.pin

        def tamper_check() -> Check:
            if tamper.open_now:
                return failed("tamper", "enclosure lid is closed", "the tamper switch says the "
                              "box is open", f"Close the lid so it presses the tamper switch; "
                              f"if it is closed, check the switch's wire on GPIO{pin}.")
            return passed("tamper", "enclosure lid is closed", "tamper switch pressed")
        guard("tamper", "enclosure lid is closed", f"Check the tamper switch on GPIO{pin}.",
              tamper_check)
    if s.pzem is not None and p.pzem is not None:
        pzem, port = s.pzem, p.pzem.port
        remedy = (f"No answer from the PZEM-004T on {port}: check that its TX goes to the "
                  "Pi's RX and RX to TX, the 5 V level shifter, `enable_uart=1` and that the "
                  "serial console is off (firmware-config/README.md).")

        def meter_check() -> Check:
            m = pzem.read()
            if not MAINS_MIN_V <= m.mains_v <= MAINS_MAX_V:
                return failed("energy_meter", "energy meter reads",
                              f"mains {m.mains_v:.1f} V", "The meter answers but sees no "
                              "proper mains voltage: check its voltage wires (L and N).")
            return passed("energy_meter", "energy meter reads",
                          f"mains {m.mains_v:.1f} V, lamp {m.lamp_w:.1f} W, "
                          f"{m.energy_wh:.0f} Wh so far")
        guard("energy_meter", "energy meter reads", remedy, meter_check)
    if s.cpu_temp is not None:
        cpu = s.cpu_temp

        def cpu_check() -> Check:
            c = cpu.read()
            if not 0.0 < c < CPU_MAX_C:
                return failed("cpu_temp", "CPU temperature", f"{c:.1f} °C", "The box is too "
                              "hot: shade it, and keep its vents free.")
            return passed("cpu_temp", "CPU temperature", f"{c:.1f} °C")
        guard("cpu_temp", "CPU temperature", "Cannot read the SoC's temperature file.",
              cpu_check)
    return out


RADAR_TITLE = "people radar (LD2410) reports"


def radar_remedy(wiring: Radar) -> str:
    port = wiring.port
    crossed = "the radar's TX goes to the Pi's RX and its RX to the Pi's TX"
    if port == "/dev/ttyAMA1":  # pi4-radar: the first extra UART, UART3
        crossed += " (UART3: radar TX → GPIO5 pin 29, radar RX → GPIO4 pin 7)"
        overlay = f"`dtoverlay=uart3` in config.txt, so {port} exists"
    elif port in PRIMARY_UART_PORTS:
        crossed += " (radar TX → GPIO15 pin 10, radar RX → GPIO14 pin 8)"
        overlay = (f"`enable_uart=1` in config.txt with the serial console off, so {port} "
                   "is free")
    else:
        overlay = f"the UART's overlay in config.txt, so {port} exists"
    return (f"No valid frames on {port}: check that {crossed}, {overlay}, that the radar has "
            f"5 V, and that it runs at {wiring.baud} baud ({WIRING}).")


def radar_check(radar: Ld2410, wiring: Radar, window_s: float) -> Check:
    """Valid frames arrive, at about the radar's pace; says whether someone is in front."""
    before, bad_before = radar.frames_ok, radar.frames_bad
    started = time.monotonic()
    time.sleep(window_s)
    frames = radar.frames_ok - before
    if frames == 0:
        try:
            radar.read()
            why = f"no valid frame within {window_s:g} s"
        except SensorError as err:
            why = str(err)
        bad = radar.frames_bad - bad_before
        if bad:
            why += f"; {bad} garbled frames"
        return failed("radar", RADAR_TITLE, why, radar_remedy(wiring))
    rate = frames / (time.monotonic() - started)
    report = radar.last_report
    nearest = report.nearest_cm if report is not None else None
    if nearest is None:
        seen = "nobody in front of it now"
    elif radar.present or wiring.max_distance_cm is None:
        seen = f"someone present at {nearest / 100:.1f} m"
    else:  # worth knowing when aiming it: it sees the road, and is told to ignore it
        seen = (f"nobody within {wiring.max_distance_cm / 100:.1f} m (a target at "
                f"{nearest / 100:.1f} m is ignored)")
    return passed("radar", RADAR_TITLE, f"{rate:.0f} valid frames/s, {seen}")


def _sun_up(lat: float | None, lon: float | None, now: float) -> bool:
    if lat is None or lon is None:
        return False
    return elevation(Observer(lat, lon), dt.datetime.fromtimestamp(now, dt.UTC)) > 6.0


def lamp_responds(hw: Hardware, technician: Technician, *, wait_s: float,
                  poll_s: float = 0.1) -> Check:
    """Ask the technician to act on the lamp sensor and watch it change."""
    name, title = "lamp_responds", "lamp sensor responds"
    s, p = hw.sensors, hw.profile
    if isinstance(p.lamp, LampAdc | LampLdr) and s.lamp is not None:
        lamp = s.lamp
        instruction = ("Cover the lamp sensor with your hand now (or shine a torch on it), "
                       "and hold it")
        read: Callable[[], float] = lambda: float(lamp.value)  # type: ignore[union-attr]  # noqa: E731
        what = f"the lamp photodiode on MCP3008 CH{p.lamp.channel}" if isinstance(
            p.lamp, LampAdc) else f"the lamp LDR on GPIO{p.lamp.pin}"

        def changed(base: float, now: float) -> bool:
            return abs(now - base) >= max(0.03, 0.4 * base)
    elif isinstance(p.lamp, LampRelay) and s.lamp is not None:
        lamp = s.lamp
        instruction = "Switch the lamp at the cabinet now (or press the contactor's test button)"
        read = lambda: float(lamp.read())  # noqa: E731
        what = f"the contactor's auxiliary contact on GPIO{p.lamp.pin}"

        def changed(base: float, now: float) -> bool:
            return now != base
    elif isinstance(p.lamp, LampPower) and s.pzem is not None and p.pzem is not None:
        pzem, above = s.pzem, p.pzem.lamp_on_above_w
        instruction = "Switch the lamp on or off at the cabinet now"
        read = lambda: float(lamp_on_from_power(pzem.read().lamp_w, above))  # noqa: E731
        what = "the energy meter's lamp current"

        def changed(base: float, now: float) -> bool:
            return now != base
    else:
        return skipped(name, title, "this profile has no lamp sensor")
    try:
        base = read()
        technician.ask(f"{instruction} (waiting up to {wait_s:.0f} s)…")
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            value = read()
            if changed(base, value):
                technician.ask("Thank you: the sensor saw it. You can let go now.")
                return passed(name, title, f"changed from {base:.2f} to {value:.2f}")
            time.sleep(poll_s)
    except (SensorError, OSError) as err:
        return failed(name, title, f"cannot read it: {err}", f"Check {what} ({WIRING}).")
    return failed(name, title, f"no change within {wait_s:.0f} s (stayed at {base:.2f})",
                  f"Check {what} and that it faces the lamp ({WIRING}). If you could not "
                  "reach it, run again with --no-interactive.")
