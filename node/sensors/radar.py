"""HLK-LD2410 24 GHz presence radar on a UART: people passing, and how long someone was there.

Unlike a PIR the radar also sees someone standing still (it measures breathing), so a
person waiting under the lamp counts as present for as long as they wait. It streams about
ten frames a second on its own; a reader thread turns them into presence observations
stamped on the injected clock, so a simulated night at 600x counts the way a real one does.

The port is opened by the thread and reopened after it fails, so a radar plugged in after
start-up is picked up without restarting the agent.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import serial

from node.clock import Clock
from node.sensors.base import Sensor, SensorReadError
from node.sensors.ld2410_frames import FrameReader, TargetReport
from node.sensors.presence import FootfallCount, PresenceTally

log = logging.getLogger(__name__)

DEFAULT_BAUD = 256_000  # the LD2410's factory setting
SILENCE_S = 3.0  # real seconds without a report: the radar is gone, not just quiet
READ_TIMEOUT_S = 0.1  # how often the reader thread looks up to notice close()
REOPEN_S = 1.0


class Ld2410(Sensor):
    """The radar at `port` (e.g. /dev/ttyAMA1).

    `read(now, reset=True)` gives the interval's `FootfallCount`, like the PIR's counter.
    Health: `frames_ok`, `frames_bad`, `frames_ignored`, `last_frame_at` (clock time of
    the last report), `last_report`.
    """

    name = "radar"

    def __init__(self, port: str, *, clock: Clock, baud: int = DEFAULT_BAUD,
                 refractory_s: float = 10.0, max_distance_cm: int | None = None,
                 silence_s: float = SILENCE_S) -> None:
        super().__init__()
        self.port = port
        self.baud = baud
        self.refractory_s = refractory_s
        self.max_distance_cm = max_distance_cm
        self.silence_s = silence_s
        self._clock = clock
        self._tally = PresenceTally(refractory_s=refractory_s)
        self._frames = FrameReader()
        self._lock = threading.Lock()
        self._first_report = threading.Event()
        self._stop = threading.Event()
        self._opened = time.monotonic()
        # Staleness is judged in real time: the radar's 100 ms cadence does not speed up
        # with a simulated clock.
        self._last_report_mono: float | None = None
        self.last_frame_at: float | None = None
        self.last_report: TargetReport | None = None
        self.bytes_received = 0
        self._port_problem: str | None = None
        self._thread = threading.Thread(target=self._listen, name=f"ld2410 {port}",
                                        daemon=True)
        self._thread.start()

    @property
    def frames_ok(self) -> int:
        return self._frames.frames_ok

    @property
    def frames_bad(self) -> int:
        return self._frames.frames_bad

    @property
    def frames_ignored(self) -> int:
        return self._frames.frames_ignored

    def watch(self, listener: Callable[[float, bool], None] | None) -> None:
        """Tell `listener(t, present)` of every arrival and departure (clock time)."""
        self._tally.watch(listener)

    @property
    def present(self) -> bool:
        """Someone within range in the radar's last report."""
        return self._tally.present

    def read(self, now: float | None = None, *, reset: bool = False) -> FootfallCount:
        """People and presence seconds since the last reset, up to `now` (clock time).

        Raises `SensorReadError` if the radar has sent no report for `silence_s`; with
        `reset=True` that interval is dropped all the same, so its arrivals do not end up
        in the next one. Right after opening, waits up to `silence_s` for a first report.
        """
        self._check_open()
        self._first_report.wait(max(0.0, self._opened + self.silence_s - time.monotonic()))
        now = self._clock.now() if now is None else now
        with self._lock:
            problem = self._silence()
            if problem is not None and self._tally.present:
                # Whoever was there when it went quiet: presence is unknown from then on.
                self._tally.observe(self.last_frame_at or now, False)
            count = self._tally.read(now, reset=reset)
        if problem is not None:
            raise SensorReadError(f"LD2410 on {self.port}: {problem}")
        return count

    def _silence(self) -> str | None:
        """Why no report came for `silence_s`, or None if one did."""
        mono = time.monotonic()
        if self._last_report_mono is not None and mono - self._last_report_mono <= self.silence_s:
            return None
        since = (f"for {mono - self._last_report_mono:.1f} s"
                 if self._last_report_mono is not None
                 else f"since the port was opened {mono - self._opened:.1f} s ago")
        if self._port_problem:
            why = self._port_problem
        elif self.frames_ignored and not self.frames_ok:
            why = ("it sends engineering-mode frames only: switch that mode off with "
                   "HLK's tool, or power-cycle it")
        elif self.bytes_received:
            why = (f"bytes arrive but no valid frame ({self.frames_bad} bad): is it set to "
                   f"{self.baud} baud?")
        else:
            why = "nothing received: check its TX to the Pi's RX and its 5 V supply"
        return f"no report {since} ({why})"

    def _listen(self) -> None:
        while not self._stop.is_set():
            try:
                port = serial.Serial(self.port, baudrate=self.baud, timeout=READ_TIMEOUT_S)
            except (serial.SerialException, OSError, ValueError) as err:
                self._port_failed(f"cannot open the port: {err}")
                continue
            self._port_problem = None
            try:
                while not self._stop.is_set():
                    data = port.read(port.in_waiting or 1)
                    if data:
                        self._take(data)
            except (serial.SerialException, OSError) as err:
                self._port_failed(f"the port failed: {err}")
            finally:
                port.close()

    def _port_failed(self, problem: str) -> None:
        if problem != self._port_problem:
            log.debug("LD2410 on %s: %s", self.port, problem)
        self._port_problem = problem
        self._stop.wait(REOPEN_S)

    def _take(self, data: bytes) -> None:
        now, mono = self._clock.now(), time.monotonic()
        with self._lock:
            self.bytes_received += len(data)
            for report in self._frames.feed(data):
                self._tally.observe(now, report.someone_within(self.max_distance_cm))
                self.last_report, self.last_frame_at = report, now
                self._last_report_mono = mono
                self._first_report.set()

    def _close(self) -> None:
        self._stop.set()
        self._thread.join()

    def _describe(self) -> str:
        return (f"port={self.port} baud={self.baud} refractory_s={self.refractory_s} "
                f"max_distance_cm={self.max_distance_cm}")
