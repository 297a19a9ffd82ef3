"""Simulated hardware: the real sensor code on a simulated Karachi street, on a fast clock."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from gpiozero import Device

from node.clock import SimClock
from node.hardware import Hardware
from node.profile import available_profiles, load_profile
from node.sim import ScenarioError, available_scenarios, load_scenario, open_simulated_hardware
from node.sim.scenario import KARACHI, resolve_time
from protocol.payloads import Reading
from tests.node.nodekit import pty_fds

KARACHI_LAT, KARACHI_LON = 24.8607, 67.0011
SPEED = 600.0  # ten simulated minutes per real second


def karachi(hour: int, minute: int = 0) -> float:
    return dt.datetime(2026, 3, 1, hour, minute, tzinfo=KARACHI).timestamp()



def wait_until(check: Callable[[], object], what: str, timeout: float = 20.0) -> object:
    deadline = time.monotonic() + timeout
    while not (result := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)
    return result


def sample_at(hw: Hardware, clock: SimClock, t: float) -> dict:
    """Let simulated time reach `t`, then sample the interval ending there."""
    time.sleep(max(0.0, (t - clock.now()) / clock.speed))
    return hw.sample(clock.now())


@pytest.fixture(autouse=True)
def nothing_left_behind() -> Iterator[None]:
    threads, ptys, factory = set(threading.enumerate()), pty_fds(), Device.pin_factory
    yield
    wait_until(lambda: not (set(threading.enumerate()) - threads), "threads to end", 3.0)
    assert pty_fds() == ptys
    assert Device.pin_factory is factory, "the simulation set gpiozero's global pin factory"


def simulate(profile: str, scenario: str, start: float,
             speed: float = SPEED) -> tuple[Hardware, SimClock]:
    clock = SimClock(start, speed=speed)
    hw = open_simulated_hardware(load_profile(profile), scenario, clock=clock,
                                 lat=KARACHI_LAT, lon=KARACHI_LON)
    return hw, clock


@pytest.mark.parametrize("profile", available_profiles())
def test_every_profile_simulates_and_its_sample_is_a_valid_reading(profile):
    hw, clock = simulate(profile, "default", karachi(21))
    with hw:
        fields = hw.sample(clock.now())
    expected = {"lamp_on", "lux", "lamp_w", "lamp_a", "mains_v", "energy_wh", "footfall",
                "presence_s", "tamper", "cpu_c"}
    assert expected <= fields.keys()
    # Only a node that switches its lamp says at what level (DESIGN.md §11).
    assert ("level" in fields) is (load_profile(profile).output is not None)
    Reading.model_validate({**fields, "v": 1, "node": "khi-sim-0001", "seq": 1,
                            "ts": clock.now()})


@pytest.mark.parametrize("profile", ["pi-zero-2w", "pi4-relay"])
def test_default_lamp_burns_at_midnight_and_not_at_noon(profile):
    for hour, burning in ((0, True), (12, False)):
        hw, clock = simulate(profile, "default", karachi(hour))
        with hw:
            fields = hw.sample(clock.now())
        assert fields["lamp_on"] is burning, f"{hour:02d}:00"
        assert (fields["lamp_w"] > 30) is burning
        assert 215 < fields["mains_v"] < 245


def test_default_street_is_dim_at_night_and_bright_by_day():
    hw, clock = simulate("pi-zero-2w", "default", karachi(0))
    with hw:
        night = hw.sample(clock.now())["lux"]
    hw, clock = simulate("pi-zero-2w", "default", karachi(12))
    with hw:
        day = hw.sample(clock.now())["lux"]
    assert 5 < night < 50
    assert day == 1000.0  # the street sensor saturates by day


@pytest.mark.parametrize("profile", ["pi-zero-2w", "pi4-radar"], ids=["pir", "radar"])
def test_default_has_people_passing_and_counts_them(profile):
    hw, clock = simulate(profile, "default", karachi(19))
    with hw:
        seen = {"footfall": 0, "presence_s": 0}

        def someone_passed() -> bool:
            fields = hw.sample(clock.now())
            seen["footfall"] += fields["footfall"]
            seen["presence_s"] += fields["presence_s"]
            return seen["footfall"] > 0 and seen["presence_s"] > 0

        wait_until(someone_passed, "a passer-by counted, with presence")


def test_lamp_fails_goes_dark_at_its_time_and_stays_dark():
    hw, clock = simulate("pi-zero-2w", "lamp-fails", karachi(21, 30), speed=1200)
    fails_at = karachi(22)
    with hw:
        before = hw.sample(clock.now())
        after = sample_at(hw, clock, fails_at + 60)
        later = sample_at(hw, clock, fails_at + 600)
    assert before["lamp_on"] is True
    assert after["lamp_on"] is False and after["lamp_w"] < 5
    assert later["lamp_on"] is False


def test_power_cut_takes_mains_and_lamp_away_then_gives_them_back():
    scenario = load_scenario("power-cut")
    assert (scenario.mains.cut_from, scenario.mains.cut_until) == ("20:00", "22:00")
    hw, clock = simulate("pi-zero-2w", "power-cut", karachi(19, 40), speed=1200)
    with hw:
        before = hw.sample(clock.now())
        during = sample_at(hw, clock, karachi(20, 2))
    assert before["lamp_on"] is True and before["mains_v"] > 200
    assert during["lamp_on"] is False and during["mains_v"] == 0.0 and during["lamp_w"] == 0.0


def test_day_burner_lamp_burns_at_noon():
    hw, clock = simulate("pi4-relay", "day-burner", karachi(12))
    with hw:
        fields = hw.sample(clock.now())
    assert fields["lamp_on"] is True and fields["lamp_w"] > 90


def test_low_power_lamp_burns_but_draws_forty_percent_of_rated():
    hw, clock = simulate("pi-zero-2w", "low-power", karachi(0))
    with hw:
        fields = hw.sample(clock.now())
    rated = load_profile("pi-zero-2w").rated_w
    assert fields["lamp_on"] is True
    assert fields["lamp_w"] == pytest.approx(0.4 * rated, rel=0.03)


def test_flicker_switches_the_lamp_many_times_an_hour_at_night():
    hw, clock = simulate("pi-zero-2w", "flicker", karachi(23), speed=3600)
    states = []
    with hw:
        while clock.now() < karachi(23) + 3600:
            states.append(hw.sample(clock.now())["lamp_on"])
            time.sleep(0.01)
    changes = sum(a != b for a, b in zip(states, states[1:], strict=False))
    assert changes >= 6


def test_tamper_opening_is_reported_even_when_closed_again_before_the_sample():
    hw, clock = simulate("pi-zero-2w", "tamper", karachi(23), speed=900)
    start = clock.start
    with hw:
        first = hw.sample(clock.now())
        opened_meanwhile = sample_at(hw, clock, start + 25 * 60)  # open +10m .. +20m
        after = sample_at(hw, clock, start + 27 * 60)
    assert first["tamper"] is False
    assert opened_meanwhile["tamper"] is True
    assert after["tamper"] is False


def test_energy_counter_rises_while_the_lamp_burns():
    hw, clock = simulate("pi-zero-2w", "default", karachi(1), speed=3600)
    with hw:
        # The meter's counter is set by the simulation as time passes; under load it may
        # already be a little ahead of the moment asked for. Bound it by the clock's
        # readings around each sample rather than by a fixed tolerance.
        a0 = clock.now()
        first = hw.sample(a0)["energy_wh"]
        a1 = clock.now()
        time.sleep(3600 / clock.speed)
        b0 = clock.now()
        later = hw.sample(b0)["energy_wh"]
        b1 = clock.now()
    watts = 60 * 1.01  # a 60 W lamp, with the simulation's 1 % ripple
    assert 60 * 0.99 * (b0 - a1) / 3600 - 0.2 <= later - first <= watts * (b1 - a0) / 3600 + 0.2


def test_two_simulated_nodes_in_one_process_do_not_share_wires():
    one, clock_one = simulate("pi-zero-2w", "default", karachi(12))
    two, clock_two = simulate("pi-zero-2w", "day-burner", karachi(12))
    with one, two:
        assert one.sample(clock_one.now())["lamp_on"] is False
        assert two.sample(clock_two.now())["lamp_on"] is True
        assert one.sample(clock_one.now())["lamp_on"] is False


def test_scenario_from_a_path_with_offsets(tmp_path: Path):
    path = tmp_path / "quick-fail.toml"
    path.write_text('description = "dark five minutes in"\n[lamp]\nfails_at = "+5m"\n')
    clock = SimClock(karachi(0), speed=SPEED)
    with open_simulated_hardware(load_profile("pi-zero-2w"), str(path), clock=clock,
                                 lat=KARACHI_LAT, lon=KARACHI_LON) as hw:
        assert sample_at(hw, clock, clock.start + 60)["lamp_on"] is True
        assert sample_at(hw, clock, clock.start + 6 * 60)["lamp_on"] is False


def test_all_named_scenarios_load():
    assert {"default", "lamp-fails", "power-cut", "flicker", "day-burner", "low-power",
            "tamper"} <= set(available_scenarios())
    for name in available_scenarios():
        assert load_scenario(name).name == name


def test_a_misspelt_scenario_key_names_file_and_key(tmp_path: Path):
    path = tmp_path / "typo.toml"
    path.write_text('[lamp]\nfails_a = "22:00"\n')
    with pytest.raises(ScenarioError, match=r"typo\.toml: lamp\.fails_a"):
        load_scenario(str(path))


def test_an_unknown_scenario_lists_the_known_ones():
    with pytest.raises(ScenarioError, match="lamp-fails"):
        open_simulated_hardware(load_profile("pi-zero-2w"), "lamp-explodes",
                                clock=SimClock(karachi(0)), lat=KARACHI_LAT, lon=KARACHI_LON)


def test_clock_times_are_karachi_local_and_the_next_occurrence():
    start = karachi(23)
    assert resolve_time("22:00", start=start) == karachi(22) + 86400
    assert resolve_time("23:30", start=start) == karachi(23, 30)
    assert resolve_time("+90m", start=start) == start + 5400
    assert resolve_time("06:00", start=start, not_before=karachi(23, 30)) == karachi(6) + 86400
