"""The PZEM-004T emulator on a real pty, read by the node's own minimalmodbus code."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import minimalmodbus
import pytest
import serial

from node.sensors import Pzem004t, SensorReadError
from node.sim.pzem import PzemEmulator, modbus_crc16
from tests.node.nodekit import pty_fds


@pytest.fixture(autouse=True)
def no_leftover_ptys_or_threads() -> Iterator[None]:
    threads, ptys = set(threading.enumerate()), pty_fds()
    yield
    assert not (set(threading.enumerate()) - threads)
    assert pty_fds() == ptys


@pytest.fixture
def emulator() -> Iterator[PzemEmulator]:
    with PzemEmulator() as emu:
        emu.set_state(mains_v=229.8, lamp_a=0.212, lamp_w=48.2, energy_wh=15234,
                      frequency_hz=50.0, power_factor=0.95)
        yield emu


def test_crc_matches_the_pzem_datasheet_read_command():
    # The manual's "read all measurements" request: 01 04 00 00 00 0A 70 0D
    assert modbus_crc16(bytes.fromhex("01040000000A")) == bytes.fromhex("700D")


def test_meter_read_over_the_pty_gives_the_emulators_values(emulator):
    with Pzem004t(emulator.port, timeout_s=0.5) as meter:
        reading = meter.read()
    assert reading.lamp_w == pytest.approx(48.2)
    assert reading.lamp_a == pytest.approx(0.212)
    assert reading.mains_v == pytest.approx(229.8)
    assert reading.energy_wh == 15234.0
    assert reading.frequency_hz == pytest.approx(50.0)
    assert reading.power_factor == pytest.approx(0.95)
    assert reading.alarm is False


def test_32_bit_values_come_low_word_first(emulator):
    emulator.set_state(mains_v=231.0, lamp_a=70.5, lamp_w=16250.3, energy_wh=9_876_543)
    with Pzem004t(emulator.port) as meter:
        reading = meter.read()
    assert (reading.lamp_a, reading.lamp_w, reading.energy_wh) == (
        pytest.approx(70.5), pytest.approx(16250.3), 9_876_543.0)
    raw = minimalmodbus.Instrument(serial.Serial(emulator.port, 9600, timeout=0.5), 1)
    try:
        regs = raw.read_registers(0, 10, functioncode=4)
    finally:
        raw.serial.close()
    assert regs[5:7] == [9_876_543 & 0xFFFF, 9_876_543 >> 16]


def test_a_corrupted_crc_is_a_clear_error_and_the_next_read_works(emulator):
    with Pzem004t(emulator.port, timeout_s=0.3) as meter:
        emulator.inject_fault("bad_crc")
        with pytest.raises(SensorReadError, match="bad CRC") as caught:
            meter.read()
        assert emulator.port in str(caught.value)
        assert meter.read().lamp_w == pytest.approx(48.2)


def test_a_meter_that_does_not_answer_times_out_with_advice(emulator):
    with Pzem004t(emulator.port, timeout_s=0.2) as meter:
        emulator.inject_fault("silent")
        with pytest.raises(SensorReadError, match="no answer within 0.2 s"):
            meter.read()


def test_a_meter_at_another_address_stays_silent(emulator):
    with Pzem004t(emulator.port, address=7, timeout_s=0.2) as meter:
        with pytest.raises(SensorReadError, match="address 7"):
            meter.read()
    assert emulator.requests == 0


def test_unsupported_function_gets_a_modbus_exception_response(emulator):
    port = serial.Serial(emulator.port, 9600, timeout=0.5)
    try:
        instrument = minimalmodbus.Instrument(port, 1)
        with pytest.raises(minimalmodbus.IllegalRequestError):
            instrument.read_registers(0, 2, functioncode=3)
        with pytest.raises(minimalmodbus.IllegalRequestError):
            instrument.read_registers(8, 4, functioncode=4)  # past register 9
    finally:
        port.close()


def test_a_request_with_a_bad_crc_is_ignored_like_on_the_wire(emulator):
    port = serial.Serial(emulator.port, 9600, timeout=0.3)
    try:
        port.write(bytes.fromhex("01040000000A700E"))
        assert port.read(25) == b""
        port.write(bytes.fromhex("01040000000A700D"))
        answer = port.read(25)
    finally:
        port.close()
    assert answer[:3] == bytes([1, 4, 20]) and modbus_crc16(answer[:-2]) == answer[-2:]


def test_a_port_that_does_not_exist_is_a_read_error_not_a_crash():
    with Pzem004t("/dev/roshni-no-such-port") as meter:
        with pytest.raises(SensorReadError, match="serial port failed"):
            meter.read()


def test_closing_the_emulator_removes_its_pty():
    emu = PzemEmulator()
    port = emu.port
    assert os.path.exists(port)
    emu.close()
    assert not os.path.exists(port)
