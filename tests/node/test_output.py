"""The lamp output on gpiozero's mock pins: fail-safe at rest, the level each kind of
wiring can give, the reading's time-weighted level; its profile table; and the simulated
lamp that follows it (or, miswired, does not)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from gpiozero.pins.mock import MockFactory, MockPWMPin

from node.clock import SimClock
from node.output import LampOutput
from node.profile import Output, ProfileError, load_profile, parse_profile
from node.sim import open_simulated_hardware
from node.sim.scenario import KARACHI

T0 = 1_796_400_000.0


def output(pin_factory: MockFactory, **spec: Any) -> LampOutput:
    return LampOutput(Output(**spec), now=T0, pin_factory=pin_factory)


@pytest.fixture
def pins() -> MockFactory:
    return MockFactory(pin_class=MockPWMPin)


def test_at_rest_the_relay_is_not_energised_and_the_dim_wire_floats(pins):
    out = output(pins, relay_pin=25, pwm_pin=12)
    assert out.level == 100
    assert pins.pin(25).state == 0 and pins.pin(12).state == 0


def test_levels_on_relay_and_1_10v_driver(pins):
    out = output(pins, relay_pin=25, pwm_pin=12, min_dim=10)
    assert out.set(60, T0) == 60
    assert pins.pin(12).state == pytest.approx(0.4) and pins.pin(25).state == 0
    assert out.set(5, T0) == 10, "the driver cannot dim below min_dim"
    assert out.set(0, T0) == 0
    assert pins.pin(25).state == 1, "off = the relay energised (normally-closed contact)"
    assert out.set(100, T0) == 100
    assert pins.pin(25).state == 0 and pins.pin(12).state == 0


def test_relay_only_switches_and_dimmer_only_dims(pins):
    relay = output(pins, relay_pin=25)
    assert relay.set(60, T0) == 100 and relay.set(0, T0) == 0
    one_to_ten = output(pins, pwm_pin=12, driver="1-10V", min_dim=15)
    assert one_to_ten.set(0, T0) == 15, "a 1-10 V driver without a relay cannot switch off"
    zero_to_ten = output(MockFactory(pin_class=MockPWMPin), pwm_pin=13, driver="0-10V")
    assert zero_to_ten.set(0, T0) == 0


def test_reading_fields_are_the_level_now_and_its_time_weighted_mean(pins):
    out = output(pins, relay_pin=25, pwm_pin=12)
    out.interval(T0)
    out.set(40, T0 + 30)
    assert out.interval(T0 + 60) == {"level": 40, "level_avg": 70.0}
    assert out.interval(T0 + 120) == {"level": 40, "level_avg": 40.0}


def test_output_table_needs_a_pin_and_its_pins_are_checked_against_the_others():
    base = {"name": "x", "board": "b", "pir": {"pin": 17}}
    with pytest.raises(ProfileError, match="relay_pin, pwm_pin or both"):
        parse_profile({**base, "output": {"driver": "0-10V"}})
    with pytest.raises(ProfileError, match="output.relay_pin: GPIO17 is already used by pir.pin"):
        parse_profile({**base, "output": {"relay_pin": 17}})


@pytest.mark.parametrize(("scenario", "level", "lamp_on", "watts"), [
    ("default", 30, True, (25, 35)),  # dimmed: still burning, a third of the power
    ("default", 0, False, (0, 1)),
    ("ignores-command", 0, True, (95, 105)),  # the fault the hub's control check catches
])
def test_the_simulated_lamp_follows_the_output_unless_it_ignores_it(scenario, level, lamp_on,
                                                                    watts):
    midnight = dt.datetime(2026, 12, 5, 0, 0, tzinfo=KARACHI).timestamp()
    clock = SimClock(midnight)
    with open_simulated_hardware(load_profile("pi4-relay"), scenario, clock=clock,
                                 lat=24.86, lon=67.0) as hw:
        assert hw.sensors.output is not None
        hw.sensors.output.set(level, clock.now())
        fields = hw.sample(clock.now())
    assert fields["level"] == level
    assert fields["lamp_on"] is lamp_on
    assert watts[0] <= fields["lamp_w"] <= watts[1]


@pytest.mark.parametrize(("scenario", "hour", "status", "says"), [
    ("default", 0, "pass", "off with GPIO25 energised, on again at rest"),
    ("ignores-command", 0, "fail", "still burned"),
    ("default", 12, "skip", "after sunset"),
])
def test_selftest_switches_the_lamp_with_the_relay_and_watches_it(scenario, hour, status, says):
    from node.selftest.output import output_switches

    start = dt.datetime(2026, 12, 5, hour, 0, tzinfo=KARACHI).timestamp()
    clock = SimClock(start)
    with open_simulated_hardware(load_profile("pi4-relay"), scenario, clock=clock,
                                 lat=24.86, lon=67.0) as hw:
        check = output_switches(hw, wait_s=1.0, poll_s=0.05, now=clock.now)
        assert check is not None
        assert hw.sensors.output is not None and hw.sensors.output.level == 100
    assert check.status == status, check
    assert says in check.detail
