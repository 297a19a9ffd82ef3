"""Hardware profiles: the shipped ones, their schema, and the errors a technician sees."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import jsonschema
import pytest

from node.profile import (
    LampAdc,
    LampRelay,
    ProfileError,
    available_profiles,
    load_profile,
    profile_json_schema,
    profile_sha,
    profiles_dir,
)

FIRMWARE_CONFIG = Path(__file__).resolve().parents[2] / "firmware-config"
SCHEMA_FILE = FIRMWARE_CONFIG / "profile.schema.json"
PROFILE_FILES = sorted((FIRMWARE_CONFIG / "profiles").glob("*.toml"))

MINIMAL = 'name = "test"\nboard = "Raspberry Pi 3"\n'


def write(tmp_path: Path, text: str, name: str = "x.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def error_for(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ProfileError) as caught:
        load_profile(str(path))
    message = str(caught.value)
    assert str(path) in message
    return message


def test_the_reference_profiles_ship():
    assert {"pi-zero-2w", "pi4-relay", "pi4-radar"} <= set(available_profiles())


def test_pi_zero_2w_is_wired_as_documented():
    p = load_profile("pi-zero-2w")
    assert isinstance(p.lamp, LampAdc) and p.lamp.channel == 0
    assert p.ambient.kind == "mcp3008" and p.ambient.channel == 1
    assert (p.pir.pin, p.tamper.pin, p.pzem.port) == (17, 27, "/dev/serial0")


def test_pi4_relay_is_wired_as_documented():
    p = load_profile("pi4-relay")
    assert isinstance(p.lamp, LampRelay) and p.lamp.pin == 22
    assert p.ambient.kind == "light_sensor" and p.ambient.pin == 18
    assert (p.pir.pin, p.tamper.pin, p.pzem.port) == (17, 27, "/dev/ttyAMA0")


def test_pi4_radar_is_wired_as_documented():
    p = load_profile("pi4-radar")
    assert isinstance(p.lamp, LampRelay) and p.lamp.pin == 22
    assert p.pir is None
    assert (p.radar.port, p.radar.baud, p.radar.max_distance_cm) == ("/dev/ttyAMA1", 256000, 400)
    assert (p.pzem.port, p.tamper.pin, p.status_led.pin) == ("/dev/ttyAMA0", 27, 24)
    # UART3 (dtoverlay=uart3) takes GPIO4 and GPIO5 for the radar: nothing else may.
    assert not {4, 5, 14, 15} & set(p.gpio_pins().values())


def test_committed_schema_is_the_one_the_model_generates():
    # Regenerate with: python -m node.profile > firmware-config/profile.schema.json
    assert json.loads(SCHEMA_FILE.read_text()) == profile_json_schema()


@pytest.mark.parametrize("path", PROFILE_FILES, ids=lambda p: p.stem)
def test_every_profile_validates_against_the_committed_schema(path):
    schema = json.loads(SCHEMA_FILE.read_text())
    jsonschema.Draft202012Validator(schema).validate(tomllib.loads(path.read_text()))
    load_profile(str(path))


def test_the_schema_rejects_what_the_loader_rejects():
    schema = json.loads(SCHEMA_FILE.read_text())
    validator = jsonschema.Draft202012Validator(schema)
    good = tomllib.loads(PROFILE_FILES[0].read_text())
    assert not list(validator.iter_errors(good))
    assert list(validator.iter_errors({**good, "pir": {"pin": "GPIO17"}}))
    assert list(validator.iter_errors({**good, "pri": {"pin": 17}}))
    # A pin the Pi does not have: an editor using the schema flags it too.
    assert list(validator.iter_errors({**good, "pir": {"pin": 40}}))


def test_a_pin_written_as_text_names_file_key_and_what_was_expected(tmp_path):
    message = error_for(tmp_path, MINIMAL + '[pir]\npin = "GPIO17x"\n')
    assert message == (f'{tmp_path / "x.toml"}: pir.pin: expected an integer GPIO number 0-27, '
                       f'got "GPIO17x"')


def test_a_pin_out_of_range_is_rejected(tmp_path):
    assert "tamper.pin: expected an integer GPIO number 0-27, got 40" in error_for(
        tmp_path, MINIMAL + "[tamper]\npin = 40\n")


def test_a_misspelt_key_is_an_error_with_a_suggestion(tmp_path):
    message = error_for(tmp_path, MINIMAL + "[pir]\npin = 17\nrefactory_s = 5\n")
    assert "pir.refactory_s: unknown key (did you mean 'refractory_s'?" in message


def test_a_misspelt_key_inside_a_sensor_kind_names_the_file_path(tmp_path):
    message = error_for(tmp_path, MINIMAL + '[lamp]\nkind = "mcp3008"\nchanel = 0\n')
    assert "lamp.chanel: unknown key (did you mean 'channel'?" in message
    # One problem at a time (msgspec stops at the first): with the typo fixed, the next.
    message = error_for(tmp_path, MINIMAL + '[lamp]\nkind = "mcp3008"\n')
    assert "lamp.channel: required key is missing" in message


def test_an_unknown_sensor_kind_lists_the_kinds(tmp_path):
    message = error_for(tmp_path, MINIMAL + '[lamp]\nkind = "photocell"\n')
    assert 'lamp.kind: expected one of "mcp3008", "light_sensor", "relay", "power", ' \
           'got "photocell"' in message


def test_one_pin_for_two_sensors_is_an_error(tmp_path):
    message = error_for(tmp_path, MINIMAL + "[pir]\npin = 17\n[tamper]\npin = 17\n")
    assert "tamper.pin: GPIO17 is already used by pir.pin" in message


def test_a_gpio_sensor_on_the_spi_pins_of_the_mcp3008_is_an_error(tmp_path):
    message = error_for(tmp_path, MINIMAL + '[lamp]\nkind = "mcp3008"\nchannel = 0\n'
                                            "[pir]\npin = 9\n")
    assert "pir.pin: GPIO9 is SPI0 MISO" in message


def test_a_pir_and_a_radar_together_is_an_error_naming_both(tmp_path):
    message = error_for(tmp_path, MINIMAL + '[pir]\npin = 17\n[radar]\nport = "/dev/ttyAMA1"\n')
    assert "pir, radar: footfall comes from one people sensor" in message
    assert "[pir] table or the [radar] table, not both" in message


def test_radar_and_meter_on_one_port_is_an_error(tmp_path):
    message = error_for(tmp_path, MINIMAL + '[radar]\nport = "/dev/ttyAMA0"\n'
                                            '[pzem]\nport = "/dev/ttyAMA0"\n')
    assert "radar.port: /dev/ttyAMA0 is already used by pzem.port" in message


def test_a_gpio_sensor_on_the_primary_uart_pins_is_an_error(tmp_path):
    message = error_for(tmp_path, MINIMAL + '[pzem]\nport = "/dev/serial0"\n[tamper]\npin = 15\n')
    assert "tamper.pin: GPIO15 is the primary UART's RXD, used by pzem.port (/dev/serial0)" \
        in message


def test_a_radar_baud_rate_the_ld2410_cannot_do_lists_the_ones_it_can(tmp_path):
    message = error_for(tmp_path, MINIMAL + '[radar]\nport = "/dev/ttyAMA1"\nbaud = 25600\n')
    assert "radar.baud: expected 9600, 19200" in message and "256000 or 460800" in message


def test_lamp_verdict_from_power_needs_a_meter(tmp_path):
    message = error_for(tmp_path, MINIMAL + '[lamp]\nkind = "power"\n')
    assert 'lamp.kind: "power" needs a [pzem] energy meter' in message


def test_broken_toml_names_the_file(tmp_path):
    assert "not valid TOML" in error_for(tmp_path, "name = \n")


def test_an_unknown_profile_name_lists_the_known_ones():
    with pytest.raises(ProfileError, match="pi-zero-2w"):
        load_profile("pi-zero-3")


def test_firmware_config_can_live_elsewhere(tmp_path, monkeypatch):
    (tmp_path / "profiles").mkdir()
    write(tmp_path / "profiles", MINIMAL.replace('"test"', '"custom"'), "custom.toml")
    monkeypatch.setenv("ROSHNI_FIRMWARE_CONFIG", str(tmp_path))
    assert profiles_dir() == tmp_path / "profiles"
    assert load_profile("custom").name == "custom"


def test_profile_sha_follows_the_content_not_the_formatting(tmp_path):
    terse = write(tmp_path, MINIMAL + "[pir]\npin = 17\n", "a.toml")
    explicit = write(tmp_path, 'board = "Raspberry Pi 3"\nname = "test"\n# a comment\n'
                               "[pir]\nrefractory_s = 10.0\npin = 17\n", "b.toml")
    moved = write(tmp_path, MINIMAL + "[pir]\npin = 18\n", "c.toml")
    sha = profile_sha(load_profile(str(terse)))
    assert sha == profile_sha(load_profile(str(explicit)))
    assert sha != profile_sha(load_profile(str(moved)))
    assert len(sha) == 64 and int(sha, 16) >= 0
