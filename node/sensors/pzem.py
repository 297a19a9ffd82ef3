"""PZEM-004T v3 energy meter on a UART, spoken to with Modbus-RTU via `minimalmodbus`.

One request per reading: function 0x04, input registers 0x0000-0x0009. 32-bit values
come low word first.

| reg | value | unit |
|---|---|---|
| 0 | voltage | 0.1 V |
| 1-2 | current | 0.001 A |
| 3-4 | power | 0.1 W |
| 5-6 | energy | 1 Wh |
| 7 | frequency | 0.1 Hz |
| 8 | power factor | 0.01 |
| 9 | power alarm | 0xFFFF on, 0 off |
"""

from __future__ import annotations

from dataclasses import dataclass

import minimalmodbus
import serial

from node.sensors.base import Sensor, SensorReadError

REGISTER_COUNT = 10
READ_INPUT_REGISTERS = 0x04


@dataclass(frozen=True, slots=True)
class EnergyReading:
    mains_v: float
    lamp_a: float
    lamp_w: float
    energy_wh: float
    frequency_hz: float
    power_factor: float
    alarm: bool


def decode_registers(regs: list[int]) -> EnergyReading:
    if len(regs) != REGISTER_COUNT:
        raise ValueError(f"expected {REGISTER_COUNT} registers, got {len(regs)}")

    def u32(low: int) -> int:
        return regs[low] | regs[low + 1] << 16

    return EnergyReading(
        mains_v=regs[0] / 10,
        lamp_a=u32(1) / 1000,
        lamp_w=u32(3) / 10,
        energy_wh=float(u32(5)),
        frequency_hz=regs[7] / 10,
        power_factor=regs[8] / 100,
        alarm=regs[9] != 0,
    )


class Pzem004t(Sensor):
    """The meter at `port` (e.g. /dev/serial0), Modbus address `address` (factory default 1).

    The port is opened on first read and reopened after it fails, so a meter plugged in or
    a USB adapter re-enumerated after start-up is picked up without restarting the agent.
    """

    name = "pzem"

    def __init__(self, port: str, *, address: int = 1, baud: int = 9600,
                 timeout_s: float = 0.5) -> None:
        super().__init__()
        self.port = port
        self.address = address
        self.baud = baud
        self.timeout_s = timeout_s
        self._serial: serial.Serial | None = None
        self._instrument: minimalmodbus.Instrument | None = None

    def read(self) -> EnergyReading:
        self._check_open()
        where = f"PZEM-004T at {self.port} address {self.address}"
        try:
            regs = self._connect().read_registers(
                0, REGISTER_COUNT, functioncode=READ_INPUT_REGISTERS)
        except minimalmodbus.NoResponseError as err:
            raise SensorReadError(
                f"{where}: no answer within {self.timeout_s} s "
                f"(check wiring TX/RX, {self.baud} baud, address, and that the meter has "
                f"mains power)") from err
        except minimalmodbus.InvalidResponseError as err:
            # minimalmodbus appends the raw bytes twice; the first sentence says enough.
            detail = str(err).split(" . The response is")[0]
            raise SensorReadError(f"{where}: garbled answer (bad CRC or length): {detail}") from err
        except minimalmodbus.SlaveReportedException as err:
            raise SensorReadError(f"{where}: meter refused the request: {err}") from err
        except (serial.SerialException, OSError) as err:
            self._disconnect()
            raise SensorReadError(f"{where}: serial port failed: {err}") from err
        return decode_registers(regs)

    def _connect(self) -> minimalmodbus.Instrument:
        if self._instrument is None:
            # Our own Serial object: minimalmodbus otherwise caches ports by name in a module
            # global, and a reused name (/dev/pts/N) would get a stale handle.
            self._serial = serial.Serial(self.port, baudrate=self.baud, bytesize=8,
                                         parity=serial.PARITY_NONE, stopbits=1,
                                         timeout=self.timeout_s, write_timeout=self.timeout_s)
            self._instrument = minimalmodbus.Instrument(self._serial, self.address)
        return self._instrument

    def _disconnect(self) -> None:
        if self._serial is not None:
            try:
                self._serial.close()
            except OSError:
                pass
        self._serial = None
        self._instrument = None

    def _close(self) -> None:
        self._disconnect()

    def _describe(self) -> str:
        return f"port={self.port} address={self.address} baud={self.baud}"
