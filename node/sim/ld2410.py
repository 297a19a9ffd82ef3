"""An HLK-LD2410 presence radar behind a real pseudo-terminal.

The node opens `emulator.port` (the pty's slave, e.g. /dev/pts/7) with pyserial exactly
as it opens /dev/ttyAMA1 on a Pi. A thread streams a reporting frame every `period_s`
(the radar's ~10 Hz) describing the current target, in basic or engineering mode, and
sends whatever noise it is asked to, between frames or inside one, as a bad wire would.

Frames are built here from the protocol description, not with the node's decoder, so the
tests compare two independent readings of the datasheet.
"""

from __future__ import annotations

import os
import struct
import threading

from node.sim.pty import PtyDevice

FRAME_PERIOD_S = 0.1
_HEADER, _FOOTER = bytes.fromhex("F4F3F2F1"), bytes.fromhex("F8F7F6F5")
GATES = 9  # 0.75 m each; engineering mode reports an energy per gate


def report_frame(state: int, moving_cm: int = 0, moving_energy: int = 0,
                 stationary_cm: int = 0, stationary_energy: int = 0, detection_cm: int = 0,
                 *, engineering: bool = False) -> bytes:
    """One reporting frame as the radar sends it."""
    block = struct.pack("<BHBHBH", state, moving_cm, moving_energy, stationary_cm,
                        stationary_energy, detection_cm)
    if engineering:
        moving_gate = min(moving_cm // 75, GATES - 1)
        still_gate = min(stationary_cm // 75, GATES - 1)
        energies = bytes(moving_energy if g == moving_gate and state & 1 else 3
                         for g in range(GATES))
        energies += bytes(stationary_energy if g == still_gate and state & 2 else 2
                          for g in range(GATES))
        # max moving gate, max still gate, energies, then two bytes HLK leaves "reserved"
        data = bytes([0x01, 0xAA]) + block + bytes([8, 8]) + energies + bytes([0, 0])
    else:
        data = bytes([0x02, 0xAA]) + block
    data += bytes([0x55, 0x00])
    return _HEADER + struct.pack("<H", len(data)) + data + _FOOTER


class Ld2410Emulator(PtyDevice):
    name = "ld2410-emulator"

    def __init__(self, *, period_s: float = FRAME_PERIOD_S) -> None:
        super().__init__(blocking=False)
        self.period_s = period_s
        self.frames_sent = 0
        self.frames_dropped = 0  # nobody read them and the pty's buffer was full
        self._lock = threading.Lock()
        self._target = (0, 0, 0, 0, 0, 0)
        self._engineering = False
        self._noise: list[tuple[bytes, bool]] = []
        self._start()

    def person_at(self, distance_cm: int | None, *, moving: bool = True) -> None:
        """Someone at `distance_cm`, walking or standing still; None: nobody."""
        if distance_cm is None:
            self.set_target(0)
        elif moving:
            self.set_target(1, moving_cm=distance_cm, moving_energy=70, detection_cm=distance_cm)
        else:
            self.set_target(2, stationary_cm=distance_cm, stationary_energy=45,
                            detection_cm=distance_cm)

    def set_target(self, state: int, moving_cm: int = 0, moving_energy: int = 0,
                   stationary_cm: int = 0, stationary_energy: int = 0,
                   detection_cm: int = 0) -> None:
        """Exactly what the next frames report (state 0 none, 1 moving, 2 still, 3 both)."""
        with self._lock:
            self._target = (state, moving_cm, moving_energy, stationary_cm, stationary_energy,
                            detection_cm)

    def set_engineering_mode(self, on: bool) -> None:
        with self._lock:
            self._engineering = on

    def inject_noise(self, data: bytes, *, inside_frame: bool = False) -> None:
        """Send `data` before the next frame, or in the middle of it (which spoils it)."""
        with self._lock:
            self._noise.append((bytes(data), inside_frame))

    def __repr__(self) -> str:
        return f"<Ld2410Emulator port={self.port} target={self._target}>"

    def _run(self) -> None:
        while not self._stop.wait(self.period_s):
            with self._lock:
                frame = report_frame(*self._target, engineering=self._engineering)
                noise, self._noise = self._noise, []
            out = b""
            for data, inside in noise:
                if inside:
                    middle = len(frame) // 2
                    frame = frame[:middle] + data + frame[middle:]
                else:
                    out += data
            self._send(out + frame)

    def _send(self, data: bytes) -> None:
        try:
            os.write(self._master, data)
        except BlockingIOError:
            self.frames_dropped += 1
            return
        self.frames_sent += 1
