"""The HLK-LD2410's reporting frames, read from whatever the UART delivered.

The radar streams one frame about every 100 ms without being asked:

    F4 F3 F2 F1 | length (u16 LE) | type AA … 55 00 | F8 F7 F6 F5

Type 0x02 (basic, the factory mode) carries the target block; type 0x01 (engineering
mode) carries the same block followed by per-gate energies, which Roshni does not use.

| offset | basic target block | unit |
|---|---|---|
| 0 | target state: 0 none, 1 moving, 2 stationary, 3 both | |
| 1-2 | moving target distance | cm |
| 3 | moving target energy | 0-100 |
| 4-5 | stationary target distance | cm |
| 6 | stationary target energy | 0-100 |
| 7-8 | detection distance | cm |

A UART that was opened mid-frame, a loose wire or a wrong baud rate all deliver bytes that
are no frame; the reader skips them, counts what it had to throw away, and picks up at the
next header, so one bad frame never costs more than itself.
"""

from __future__ import annotations

from dataclasses import dataclass

HEADER = bytes.fromhex("F4F3F2F1")
FOOTER = bytes.fromhex("F8F7F6F5")
BASIC, ENGINEERING = 0x02, 0x01
HEAD, TAIL, CHECK = 0xAA, 0x55, 0x00
BASIC_LENGTH = 13  # type, head, 9-byte target block, tail, check
# The longest documented frame (engineering mode) has 35 bytes of data; anything much
# longer is a corrupted length field, and waiting for it would stall the stream.
MAX_LENGTH = 64
_PREFIX = len(HEADER) + 2


@dataclass(frozen=True, slots=True)
class TargetReport:
    state: int
    moving_cm: int
    moving_energy: int
    stationary_cm: int
    stationary_energy: int
    detection_cm: int

    @property
    def moving(self) -> bool:
        return bool(self.state & 1)

    @property
    def stationary(self) -> bool:
        return bool(self.state & 2)

    def someone_within(self, max_cm: int | None) -> bool:
        """A target, moving or still, no farther than `max_cm` (None: at any distance)."""
        if max_cm is None:
            return self.state != 0
        return ((self.moving and self.moving_cm <= max_cm)
                or (self.stationary and self.stationary_cm <= max_cm))

    @property
    def nearest_cm(self) -> int | None:
        seen = [cm for cm, on in ((self.moving_cm, self.moving),
                                  (self.stationary_cm, self.stationary)) if on]
        return min(seen) if seen else None


def decode_basic(data: bytes) -> TargetReport:
    """The target block of a basic frame's data (between the length and the footer)."""
    if (len(data) != BASIC_LENGTH or data[0] != BASIC or data[1] != HEAD
            or data[11] != TAIL or data[12] != CHECK or data[2] > 3):
        raise ValueError(f"not a basic LD2410 report: {data.hex(' ')}")
    block = data[2:11]
    return TargetReport(
        state=block[0],
        moving_cm=int.from_bytes(block[1:3], "little"),
        moving_energy=block[3],
        stationary_cm=int.from_bytes(block[4:6], "little"),
        stationary_energy=block[6],
        detection_cm=int.from_bytes(block[7:9], "little"),
    )


class FrameReader:
    """Feed it bytes as they arrive; it returns the basic reports found so far.

    Counters: `frames_ok` (basic reports decoded), `frames_ignored` (well-formed frames of
    another type, e.g. engineering mode), `frames_bad` (a header whose frame did not hold
    together), `bytes_skipped` (bytes outside any frame).
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self.frames_ok = 0
        self.frames_ignored = 0
        self.frames_bad = 0
        self.bytes_skipped = 0

    def feed(self, data: bytes) -> list[TargetReport]:
        self._buffer += data
        reports: list[TargetReport] = []
        while (frame := self._take_frame()) is not None:
            if frame[0] != BASIC:
                self.frames_ignored += 1
                continue
            try:
                reports.append(decode_basic(frame))
            except ValueError:
                self.frames_bad += 1
                continue
            self.frames_ok += 1
        return reports

    def _take_frame(self) -> bytes | None:
        """The data of the next well-formed frame, or None until a whole one has arrived."""
        buffer = self._buffer
        while True:
            start = buffer.find(HEADER)
            if start < 0:
                # Keep a tail that could be the start of a header split across two reads.
                keep = next((n for n in range(len(HEADER) - 1, 0, -1)
                             if buffer.endswith(HEADER[:n])), 0)
                self._skip(len(buffer) - keep)
                return None
            self._skip(start)
            if len(buffer) < _PREFIX:
                return None
            length = int.from_bytes(buffer[len(HEADER):_PREFIX], "little")
            end = _PREFIX + length + len(FOOTER)
            if 2 <= length <= MAX_LENGTH:
                if len(buffer) < end:
                    return None
                data = bytes(buffer[_PREFIX:end - len(FOOTER)])
                if (buffer[end - len(FOOTER):end] == FOOTER and data[1] == HEAD
                        and data[-2] == TAIL and data[-1] == CHECK):
                    del buffer[:end]
                    return data
            # Drop only the header: the next real frame may start inside what looked like
            # this one (a frame cut short by a glitch, then a whole one).
            self.frames_bad += 1
            self._skip(len(HEADER))

    def _skip(self, count: int) -> None:
        if count:
            del self._buffer[:count]
            self.bytes_skipped += count
