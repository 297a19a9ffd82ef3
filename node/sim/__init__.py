"""Simulated hardware: the node's real sensor classes on mock pins and emulated ports.

`open_simulated_hardware` returns the same `Hardware` the agent gets on a Pi; only the
other ends of the wires are simulated: gpiozero mock pins, an MCP3008 emulator on the
mock SPI pins, a PZEM-004T and an LD2410 radar on pseudo-terminals, and files standing in
for /sys and /proc.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from node.clock import Clock
from node.hardware import Hardware, build_sensors
from node.profile import AmbientLdr, LampLdr, LampRelay, Profile
from node.sim.driver import SimDriver
from node.sim.mcp3008 import Mcp3008Emulator
from node.sim.pins import MockPWMPin, SimChargingPin, SimPinFactory
from node.sim.pzem import PzemEmulator
from node.sim.scenario import Scenario, ScenarioError, available_scenarios, load_scenario
from node.sim.site import Simulation
from node.sim.world import World

if TYPE_CHECKING:
    from node.sim.ld2410 import Ld2410Emulator

__all__ = ["Scenario", "ScenarioError", "available_scenarios", "load_scenario",
           "open_simulated_hardware", "simulated_position"]

log = logging.getLogger(__name__)

# Karachi (Saddar): where a simulated node stands when its settings give no position.
DEFAULT_LAT, DEFAULT_LON = 24.8607, 67.0011


def simulated_position(lat: float | None, lon: float | None) -> tuple[float, float]:
    """The pole's coordinates from the settings, or Saddar when they give none."""
    if lat is None or lon is None:
        log.info("node.lat/node.lon not set: simulating a node at %s, %s", DEFAULT_LAT,
                 DEFAULT_LON)
        return DEFAULT_LAT, DEFAULT_LON
    return lat, lon


def open_simulated_hardware(profile: Profile, scenario: str | Scenario, *, clock: Clock,
                            lat: float, lon: float) -> Hardware:
    """`profile`'s sensors on a simulated pole at (lat, lon), living `scenario`
    (a name in node/sim/scenarios/ or a TOML path) on `clock`'s time.

    `close()` on the result also stops the simulation thread and the emulators.
    """
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    start = clock.now()
    world = World(scenario, start=start, lat=lat, lon=lon, rated_w=profile.rated_w)
    factory = SimPinFactory()
    workdir = Path(tempfile.mkdtemp(prefix="roshni-sim-"))
    mcp: dict[int, Mcp3008Emulator] = {}
    pzem: PzemEmulator | None = None
    radar: Ld2410Emulator | None = None
    driver: SimDriver | None = None

    def stop_everything() -> None:
        if driver is not None:
            driver.stop()
        for emulator in mcp.values():
            emulator.close()
        if pzem is not None:
            pzem.close()
        if radar is not None:
            radar.close()
        shutil.rmtree(workdir, ignore_errors=True)

    try:
        # Emulators first: they must own the SPI pins before gpiozero devices claim them.
        for part in (profile.lamp, profile.ambient):
            device = getattr(part, "spi_device", None)
            if device is not None and device not in mcp:
                mcp[device] = Mcp3008Emulator(pin_factory=factory, device=device,
                                              vref=part.max_voltage)
        pins = {}
        for key, part in (("lamp", profile.lamp), ("ambient", profile.ambient)):
            if isinstance(part, LampLdr | AmbientLdr):
                pins[key] = factory.pin(part.pin, pin_class=SimChargingPin)
            elif isinstance(part, LampRelay):
                pins[key] = factory.pin(part.pin)
        for key in ("pir", "tamper"):
            if (part := getattr(profile, key)) is not None:
                pins[key] = factory.pin(part.pin)
        if (output := profile.output) is not None:
            if output.relay_pin is not None:
                pins["relay"] = factory.pin(output.relay_pin)
            if output.pwm_pin is not None:
                pins["pwm"] = factory.pin(output.pwm_pin, pin_class=MockPWMPin)
        if profile.pzem is not None:
            pzem = PzemEmulator(address=profile.pzem.address)
        if profile.radar is not None:
            from node.sim.ld2410 import Ld2410Emulator

            radar = Ld2410Emulator()
        files = {"uptime": workdir / "uptime"}
        if profile.cpu_temp is not None:
            files["cpu_temp"] = workdir / "cpu_temp"
        driver = SimDriver(world, clock=clock, profile=profile, factory=factory, mcp=mcp,
                           pzem=pzem, radar=radar, pins=pins, files=files)
        driver.sync(start)  # the files must exist before the sensors look for them
        ports = {name: emulator.port for name, emulator in (("pzem", pzem), ("radar", radar))
                 if emulator is not None}
        sensors = build_sensors(profile, clock=clock, pin_factory=factory, ports=ports,
                                files={k: str(v) for k, v in files.items()})
        driver.start()  # after the sensors: their pull resistors reset the pins
    except BaseException:
        stop_everything()
        raise
    return Hardware(profile, sensors, before_sample=driver.sync, on_close=stop_everything,
                    simulation=Simulation(world, clock))
