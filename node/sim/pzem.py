"""A PZEM-004T v3 behind a real pseudo-terminal.

The node opens `emulator.port` (the pty's slave, e.g. /dev/pts/7) with minimalmodbus
exactly as it opens /dev/serial0 on a Pi. A thread answers Modbus-RTU requests: it checks
the CRC (a bad frame is ignored, as on the wire), answers function 0x04 with the registers
of the current `set_state()`, and sends exception responses for what the meter does not do.
"""

from __future__ import annotations

import os
import select
import struct
import threading

from node.sim.pty import PtyDevice

READ_INPUT_REGISTERS = 0x04
GENERAL_ADDRESS = 0xF8  # every PZEM answers this one, whatever its own address
ILLEGAL_FUNCTION, ILLEGAL_ADDRESS = 0x01, 0x02
REGISTER_COUNT = 10
FRAME_GAP_S = 0.02  # silence that ends a frame (Modbus RTU: 3.5 characters, here generous)
FAULTS = ("bad_crc", "silent", "exception")


def modbus_crc16(data: bytes) -> bytes:
    """CRC-16/MODBUS (poly 0xA001 reflected, init 0xFFFF), low byte first as sent."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return struct.pack("<H", crc)


class PzemEmulator(PtyDevice):
    name = "pzem-emulator"

    def __init__(self, *, address: int = 1) -> None:
        super().__init__()
        self.address = address
        self.requests = 0
        self._lock = threading.Lock()
        self._registers = [0] * REGISTER_COUNT
        self._faults: list[str] = []
        self._start()

    def set_state(self, *, mains_v: float, lamp_a: float, lamp_w: float, energy_wh: float,
                  frequency_hz: float = 50.0, power_factor: float = 1.0,
                  alarm: bool = False) -> None:
        def low_high(value: int) -> list[int]:
            return [value & 0xFFFF, value >> 16 & 0xFFFF]

        regs = [round(mains_v * 10), *low_high(round(lamp_a * 1000)),
                *low_high(round(lamp_w * 10)), *low_high(int(energy_wh)),
                round(frequency_hz * 10), round(power_factor * 100), 0xFFFF if alarm else 0]
        with self._lock:
            self._registers = [min(max(r, 0), 0xFFFF) for r in regs]

    def inject_fault(self, fault: str, count: int = 1) -> None:
        """Misbehave on the next `count` requests: bad_crc, silent, or exception."""
        if fault not in FAULTS:
            raise ValueError(f"fault must be one of {FAULTS}")
        with self._lock:
            self._faults.extend([fault] * count)

    def __repr__(self) -> str:
        return f"<PzemEmulator port={self.port} address={self.address}>"

    def _run(self) -> None:
        frame = b""
        while not self._stop.is_set():
            ready, _, _ = select.select([self._master], [], [], FRAME_GAP_S)
            if not ready:
                frame = b""  # silence: whatever came before was not a whole frame
                continue
            try:
                frame += os.read(self._master, 256)
            except OSError:  # nobody has the slave open right now
                frame = b""
                continue
            if len(frame) >= 4 and modbus_crc16(frame[:-2]) == frame[-2:]:
                reply = self._answer(frame[:-2])
                frame = b""
                if reply:
                    os.write(self._master, reply)

    def _answer(self, request: bytes) -> bytes | None:
        address, function = request[0], request[1]
        if address not in (self.address, GENERAL_ADDRESS):
            return None
        with self._lock:
            self.requests += 1
            fault = self._faults.pop(0) if self._faults else None
            registers = list(self._registers)
        if fault == "silent":
            return None
        if fault == "exception":
            body = bytes([address, function | 0x80, ILLEGAL_ADDRESS])
        elif function != READ_INPUT_REGISTERS or len(request) != 6:
            body = bytes([address, function | 0x80, ILLEGAL_FUNCTION])
        else:
            start, count = struct.unpack(">HH", request[2:6])
            if count < 1 or start + count > REGISTER_COUNT:
                body = bytes([address, function | 0x80, ILLEGAL_ADDRESS])
            else:
                data = struct.pack(f">{count}H", *registers[start:start + count])
                body = bytes([address, function, len(data)]) + data
        crc = modbus_crc16(body)
        if fault == "bad_crc":
            crc = bytes([crc[0] ^ 0xFF, crc[1]])
        return body + crc
