"""The sensor classes against gpiozero mock pins and emulated parts, as a user sees them."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import pytest
from gpiozero import Device
from gpiozero.pins.mock import MockFactory

from node.hardware import Hardware, Sensors, open_hardware
from node.profile import parse_profile
from node.sensors import (
    AdcAmbientLight,
    AdcLampSensor,
    CpuTemperature,
    FootfallCounter,
    LdrAmbientLight,
    Pzem004t,
    RelayFeedback,
    SensorError,
    SensorReadError,
    TamperSwitch,
    Uptime,
)
from node.sim.mcp3008 import Mcp3008Emulator
from node.sim.pins import SimChargingPin, SimPinFactory
from node.sim.pzem import PzemEmulator
from tests.node.nodekit import FakeClock, wait_until


@pytest.fixture(autouse=True)
def no_leftover_threads() -> Iterator[None]:
    before = set(threading.enumerate())
    global_factory = Device.pin_factory
    yield
    wait_until(lambda: not (set(threading.enumerate()) - before), "sensor threads to end", 2.0)
    assert Device.pin_factory is global_factory, "a sensor set gpiozero's global pin factory"


@pytest.fixture
def factory() -> Iterator[SimPinFactory]:
    f = SimPinFactory()
    yield f
    f.reset()


@pytest.fixture
def adc(factory: SimPinFactory) -> Iterator[Mcp3008Emulator]:
    with Mcp3008Emulator(pin_factory=factory) as emulator:
        yield emulator


# --- footfall -----------------------------------------------------------------------


def test_one_person_lingering_in_front_of_the_pir_counts_once(factory):
    clock = FakeClock()
    pin = factory.pin(17)
    with FootfallCounter(17, clock=clock, refractory_s=10, pin_factory=factory) as pir:
        t0 = clock.t
        # The PIR re-triggers every few seconds while the person stands there.
        for start, end in ((0, 3), (5, 8), (10, 14)):
            clock.t = t0 + start
            pin.drive_high()
            wait_until(lambda: pir.present, "motion")
            clock.t = t0 + end
            pin.drive_low()
            wait_until(lambda: not pir.present, "motion to end")
        count = pir.read()
    assert count.people == 1
    assert count.presence_s == pytest.approx(3 + 3 + 4)


def test_two_people_apart_count_twice(factory):
    clock = FakeClock()
    pin = factory.pin(17)
    with FootfallCounter(17, clock=clock, refractory_s=10, pin_factory=factory) as pir:
        t0 = clock.t
        for start in (0, 30):
            clock.t = t0 + start
            pin.drive_high()
            wait_until(lambda: pir.present, "motion")
            clock.t = t0 + start + 2
            pin.drive_low()
            wait_until(lambda: not pir.present, "motion to end")
        assert pir.read().people == 2


def test_presence_is_split_at_the_interval_boundary(factory):
    clock = FakeClock()
    pin = factory.pin(17)
    with FootfallCounter(17, clock=clock, pin_factory=factory) as pir:
        t0 = clock.t
        pin.drive_high()
        wait_until(lambda: pir.present, "motion")
        first = pir.read(t0 + 40, reset=True)
        clock.t = t0 + 50
        pin.drive_low()
        wait_until(lambda: not pir.present, "motion to end")
        second = pir.read(t0 + 60, reset=True)
    assert (first.people, first.presence_s) == (1, pytest.approx(40))
    assert (second.people, second.presence_s) == (0, pytest.approx(10))


# --- lamp and ambient light ---------------------------------------------------------


def test_lamp_photodiode_on_the_mcp3008_tells_burning_from_dark(factory, adc):
    with AdcLampSensor(0, on_above=0.25, pin_factory=factory) as lamp:
        adc.voltages[0] = 2.6
        assert lamp.read() is True
        adc.voltages[0] = 0.3
        assert lamp.read() is False
        assert adc.conversions == 2


def test_ambient_light_is_scaled_to_lux_by_the_profile_calibration(factory, adc):
    with AdcAmbientLight(1, lux_full_scale=1000.0, pin_factory=factory) as ambient:
        adc.voltages[1] = 3.3 * 0.25
        assert ambient.read() == pytest.approx(250, abs=2)
        adc.voltages[1] = 0.0
        assert ambient.read() == 0.0


def test_two_mcp3008_channels_read_their_own_inputs(factory, adc):
    with AdcLampSensor(0, on_above=0.25, pin_factory=factory) as lamp, \
            AdcAmbientLight(1, lux_full_scale=1000.0, pin_factory=factory) as ambient:
        adc.voltages[0], adc.voltages[1] = 3.0, 0.033
        assert lamp.read() is True
        assert ambient.read() == pytest.approx(10, abs=2)


def test_ldr_ambient_light_reads_dark_and_bright(factory):
    pin = factory.pin(18, pin_class=SimChargingPin)
    pin.set_light(0.0, 0.05)
    with LdrAmbientLight(18, lux_full_scale=200.0, charge_time_limit=0.05,
                         pin_factory=factory) as ambient:
        assert ambient.read() == 0.0
        pin.set_light(1.0, 0.05)
        wait_until(lambda: ambient.read() > 150, "the LDR to see daylight")


def test_relay_feedback_wired_to_ground_reads_low_as_on():
    factory = MockFactory()
    with RelayFeedback(22, pull_up=True, pin_factory=factory) as relay:
        pin = factory.pin(22)
        pin.drive_low()
        assert relay.read() is True
        pin.drive_high()
        assert relay.read() is False


# --- tamper ---------------------------------------------------------------------------


def test_tamper_opened_and_closed_between_readings_is_still_reported():
    factory = MockFactory()
    with TamperSwitch(27, pin_factory=factory) as tamper:
        pin = factory.pin(27)
        pin.drive_low()  # lid closed: switch pressed
        assert tamper.read(reset=True) is False
        pin.drive_high()
        pin.drive_low()
        assert tamper.read(reset=True) is True
        assert tamper.read(reset=True) is False


def test_tamper_switch_wired_the_other_way_round():
    factory = MockFactory()
    with TamperSwitch(27, tampered_when="pressed", pin_factory=factory) as tamper:
        factory.pin(27).drive_low()
        assert tamper.read() is True


# --- node health ----------------------------------------------------------------------


def test_cpu_temperature_from_the_thermal_zone_file(tmp_path):
    zone = tmp_path / "temp"
    zone.write_text("51234\n")
    with CpuTemperature(zone, pin_factory=MockFactory()) as cpu:
        assert cpu.read() == pytest.approx(51.234)
        zone.write_text("garbage\n")
        with pytest.raises(SensorReadError, match=str(zone)):
            cpu.read()


def test_uptime_from_proc_uptime_format(tmp_path):
    uptime = tmp_path / "uptime"
    uptime.write_text("86400.57 300000.00\n")
    with Uptime(uptime) as sensor:
        assert sensor.read() == 86400
        uptime.write_text("")
        with pytest.raises(SensorReadError):
            sensor.read()


def test_missing_thermal_zone_leaves_cpu_c_out_instead_of_failing():
    profile = parse_profile({"name": "bare", "board": "x",
                             "cpu_temp": {"sensor_file": "/nonexistent/temp"}})
    with open_hardware(profile, clock=FakeClock(), pin_factory=MockFactory()) as hw:
        assert hw.sensors.cpu_temp is None
        assert "cpu_c" not in hw.sample(FakeClock().now())


# --- shape: repr, close, errors -------------------------------------------------------


def test_repr_names_the_wiring_and_closing_frees_the_pin():
    factory = MockFactory()
    tamper = TamperSwitch(27, pin_factory=factory)
    assert "GPIO27" in repr(tamper)
    tamper.close()
    assert "closed" in repr(tamper)
    with pytest.raises(SensorError):
        tamper.read()
    with TamperSwitch(27, pin_factory=factory):  # the pin is free again
        pass


def test_read_errors_are_os_errors_too():
    assert issubclass(SensorReadError, OSError)
    assert issubclass(SensorReadError, SensorError)


# --- the Hardware facade --------------------------------------------------------------


def test_a_failed_meter_read_is_left_out_counted_and_the_next_interval_recovers():
    profile = parse_profile({"name": "meter-only", "board": "x", "lamp": {"kind": "power"},
                             "pzem": {"port": "/dev/null", "timeout_s": 0.2}})
    with PzemEmulator() as meter:
        meter.set_state(mains_v=230.0, lamp_a=0.27, lamp_w=60.0, energy_wh=1000)
        hw = Hardware(profile, Sensors(pzem=Pzem004t(meter.port, timeout_s=0.2)))
        with hw:
            assert hw.sample(1.0)["lamp_on"] is True
            meter.inject_fault("bad_crc")
            failed = hw.sample(2.0)
            assert not {"lamp_on", "lamp_w", "mains_v"} & failed.keys()
            assert hw.failures["pzem"] == 1
            assert hw.sample(3.0)["lamp_w"] == 60.0


def test_meter_on_a_missing_port_does_not_stop_the_other_sensors():
    factory = MockFactory()
    profile = parse_profile({"name": "no-meter", "board": "x", "tamper": {"pin": 27},
                             "pzem": {"port": "/dev/does-not-exist"}})
    with open_hardware(profile, clock=FakeClock(), pin_factory=factory) as hw:
        factory.pin(27).drive_low()
        fields = hw.sample(1.0)
    assert fields["tamper"] is False
    assert "mains_v" not in fields
    assert hw.failures["pzem"] == 1


def test_closing_hardware_releases_every_pin_and_port():
    factory = MockFactory()
    profile = parse_profile({"name": "pins", "board": "x", "pir": {"pin": 17},
                             "tamper": {"pin": 27}, "lamp": {"kind": "relay", "pin": 22}})
    fds = len(os.listdir("/proc/self/fd"))
    hw = open_hardware(profile, clock=FakeClock(), pin_factory=factory)
    hw.close()
    with open_hardware(profile, clock=FakeClock(), pin_factory=factory):
        pass  # would raise GPIOPinInUse had the first set kept its pins
    assert len(os.listdir("/proc/self/fd")) == fds
