"""The node agent: sample the hardware every interval, spool the reading, let the
publisher send it. Sampling never waits for the broker, so an outage only makes the
spool grow (DESIGN.md §2).
"""

from __future__ import annotations

import logging
import math
import signal
import sqlite3
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any, Protocol

from node.clock import Clock
from node.commands import Action, CommandFailed, CommandHandler
from node.config import NodeSettings
from node.control import LampControl
from node.hardware import Hardware as FullHardware
from node.lock import AgentLock
from node.programs import ProgramStore, config_version
from node.publisher import Publisher
from node.spool import Reading, Spool
from node.systemd import Watchdog, notify
from protocol.structs import Invalid, Record
from protocol.wire import IdentifyArgs, OverrideArgs, SetIntervalArgs, parse
from protocol.wire import Reading as ReadingModel

log = logging.getLogger(__name__)

HEARTBEAT_S = 1.0
# The watchdog stops pinging systemd when the sampling loop has not moved for this long.
STUCK_S = 60.0


class Hardware(Protocol):
    def sample(self, now: float) -> dict[str, Any]:
        """Reading fields for the interval ending at `now`; resets the interval's counters."""

    def close(self) -> None: ...


class InvalidReading(RuntimeError):
    """The hardware layer produced a reading that breaks the v1 contract: a bug to fix,
    not something to send to the hub."""


def _check_contract(reading: Reading) -> None:
    try:
        parse(ReadingModel, reading)
    except Invalid as err:
        raise InvalidReading(f"reading breaks the v1 contract: {err}; reading: {reading}") from err


class SamplingLoop:
    def __init__(
        self,
        *,
        node_id: str,
        interval_s: float,
        hardware: Hardware,
        spool: Spool,
        clock: Clock,
        on_spooled: Callable[[], None] = lambda: None,
    ) -> None:
        if interval_s <= 0:
            raise ValueError("interval_s must be positive")
        self.node_id = node_id
        self.interval_s = interval_s
        self.hardware = hardware
        self.spool = spool
        self.clock = clock
        self.on_spooled = on_spooled
        self.started_at = clock.now()
        self.alive_at = time.monotonic()
        self._lock = threading.Lock()
        self._new_interval: float | None = None

    def run(self, stop: threading.Event) -> None:
        """Sample until `stop` is set. Raises InvalidReading (and whatever the hardware
        raises) rather than skip a reading silently."""
        due = self.clock.now() + self.interval_s
        while True:
            while (remaining := due - self.clock.now()) > 0:
                # Short waits: a new interval applies at once, and the watchdog sees a loop
                # that is alive even when readings are an hour apart.
                if self.clock.wait(min(remaining, HEARTBEAT_S), stop):
                    return
                self.alive_at = time.monotonic()
                due = self._apply_new_interval(due)
            if stop.is_set():
                return
            now = self.clock.now()
            self.sample_once(now)
            self.alive_at = time.monotonic()
            due += self.interval_s
            if due <= now:
                # Far behind (a suspended process, a stalled SD card): start afresh
                # rather than take a burst of back-to-back samples.
                log.warning("sampling fell behind by %.1f s", now - due)
                due = now + self.interval_s

    def set_interval(self, seconds: float) -> float:
        """Sample every `seconds` from now on (the next reading is due `seconds` after the
        last one); returns the interval it had."""
        if seconds <= 0:
            raise ValueError("interval_s must be positive")
        with self._lock:
            old, self._new_interval = self.interval_s, seconds
        return old

    def _apply_new_interval(self, due: float) -> float:
        with self._lock:
            new, self._new_interval = self._new_interval, None
        if new is None or new == self.interval_s:
            return due
        last = due - self.interval_s
        self.interval_s = new
        log.info("sampling every %g s from now on", new)
        return max(self.clock.now(), last + new)

    def sample_once(self, now: float) -> Reading:
        fields = self.hardware.sample(now)
        reading = {
            # The device's uptime (/proc/uptime) when the hardware has it; technicians
            # read it to spot reboots. The agent's own is the fallback.
            "uptime_s": max(0, int(now - self.started_at)),
            **fields,
            "v": 1,
            "node": self.node_id,
            "ts": now,
            "interval_s": max(1, math.ceil(self.interval_s)),
            "spool": self.spool.depth(),
        }
        stored = self.spool.append(reading, validate=_check_contract)
        log.debug("spooled seq %d", stored["seq"])
        self.on_spooled()
        return stored


def install_stop_signals(stop: threading.Event) -> None:
    """SIGTERM (systemd) and SIGINT (Ctrl-C) ask for a clean stop."""

    def handle(signum: int, frame: FrameType | None) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, handle)
    signal.signal(signal.SIGINT, handle)


def wired(hardware: Hardware, part: str) -> Any:
    """A part of the pole (`output`, `footfall`, `status_led`), or None where the hardware
    has none (fake hardware has no `sensors` at all)."""
    return getattr(getattr(hardware, "sensors", None), part, None)


class NoPosition(RuntimeError):
    """A node that runs a lighting program does not know where it stands."""


class SpoolUnavailable(RuntimeError):
    """The spool cannot be opened (data directory missing rights, disk full, …)."""


def open_spool(settings: NodeSettings) -> Spool:
    path = settings.spool_path()
    try:
        return Spool(path, capacity=settings.spool.capacity(settings.node.interval_s))
    except (OSError, sqlite3.Error) as err:
        raise SpoolUnavailable(f"cannot open the spool {path}: {err}") from err


def run_node(
    settings: NodeSettings,
    hardware: Hardware,
    *,
    clock: Clock,
    profile: str,
    stop: threading.Event,
    position: tuple[float, float] | None = None,
) -> None:
    """Run the agent until `stop` is set; closes the hardware. On a clean stop the hub is
    told `shutdown`; when the agent fails, the broker publishes the last will.

    `position` (lat, lon) is where the sun is computed for the lighting program; the
    settings' node.lat/node.lon by default. A node with a lamp output needs one."""
    try:
        if position is None and settings.node.lat is not None and settings.node.lon is not None:
            position = (settings.node.lat, settings.node.lon)
        if wired(hardware, "output") is not None and position is None:
            raise NoPosition("this node switches its lamp ([output] in its profile): set "
                             "node.lat and node.lon, its program follows the sun there")
        with AgentLock(settings.data_dir, settings.node.id):
            spool = open_spool(settings)
            try:
                _run_with(settings, hardware, spool, clock, profile, position, stop)
            finally:
                spool.close()
    finally:
        hardware.close()


def _run_with(
    settings: NodeSettings, hardware: Hardware, spool: Spool, clock: Clock, profile: str,
    position: tuple[float, float] | None, stop: threading.Event,
) -> None:
    output = wired(hardware, "output")
    control: LampControl | None = None
    store = ProgramStore(settings.program_path())
    if output is not None and position is not None:
        from node.sun import Sun

        control = LampControl(output, sun=Sun(*position), clock=clock, store=store,
                              announce=lambda kind, detail: publisher.event(kind, detail))
    # A node without an output reports the default program it would run.
    config_sha = control.config_sha if control is not None else store.load().sha
    publisher = Publisher(
        node_id=settings.node.id,
        endpoint=settings.mqtt_endpoint(),
        ca_file=settings.mqtt.ca_file,
        keepalive_s=settings.mqtt.keepalive_s,
        spool=spool,
        clock=clock,
        profile=profile,
        config_sha=config_sha,
        # Commands arrive only once the publisher has started, after `commands` exists.
        on_command=lambda raw: commands.receive(raw),
        on_config=(control.receive_config if control is not None
                   else refuse_programs(lambda kind, detail: publisher.event(kind, detail))),
    )
    interval = spool.interval_override() or settings.node.interval_s
    if interval != settings.node.interval_s:
        log.info("sampling every %g s as the hub set it (node.toml says %g s)", interval,
                 settings.node.interval_s)
    sampler = SamplingLoop(
        node_id=settings.node.id,
        interval_s=interval,
        hardware=hardware,
        spool=spool,
        clock=clock,
        on_spooled=publisher.wake,
    )
    commands = CommandHandler(node_actions(settings, hardware, spool, sampler, control),
                              answer=publisher.answer)
    log.info(
        "node %s: profile %s, every %g s, spool %s (%d waiting, %d dropped so far)",
        settings.node.id, profile, interval, spool.path, spool.depth(),
        spool.dropped_total(),
    )
    watchdog = Watchdog(lambda: time.monotonic() - sampler.alive_at < STUCK_S
                        and publisher.sending)
    clean = False
    if control is not None:
        if (footfall := wired(hardware, "footfall")) is not None:
            footfall.watch(control.presence)
        control.on_applied = publisher.set_config_sha
        control.start()
    commands.start()
    publisher.start()
    notify("READY=1")
    watchdog.start()
    try:
        sampler.run(stop)
        clean = True
    finally:
        notify("STOPPING=1")
        watchdog.stop()
        commands.stop()
        if control is not None:
            control.stop()
        publisher.stop(clean=clean)


def refuse_programs(announce: Callable[[str, dict[str, Any]], None]
                    ) -> Callable[[bytes], None]:
    """What a node without a lamp output answers to a lighting program (once per program:
    the broker hands the retained one over at every reconnection)."""
    refused: set[bytes] = set()

    def refuse(raw: bytes) -> None:
        if raw not in refused:
            refused.add(raw)
            announce("config_rejected", {
                "version": config_version(raw),
                "reason": "this node has no lamp output ([output] in its profile)"})

    return refuse


def node_actions(settings: NodeSettings, hardware: Hardware, spool: Spool,
                 sampler: SamplingLoop, control: LampControl | None = None,
                 ) -> dict[str, Action]:
    """What the node does for each command the hub may send (protocol COMMAND_ARGS)."""

    def identify(args: Record) -> dict[str, Any]:
        assert isinstance(args, IdentifyArgs)
        led = wired(hardware, "status_led")
        if led is None:
            raise CommandFailed("this node has no status LED ([status_led] in its profile)")
        led.blink(args.seconds)
        return {"blinking_s": args.seconds, "led": f"GPIO{led.pin}"}

    def set_interval(args: Record) -> dict[str, Any]:
        assert isinstance(args, SetIntervalArgs)
        spool.set_interval_override(args.interval_s)  # first: it must survive a restart
        old = sampler.set_interval(args.interval_s)
        return {"interval_s": args.interval_s, "was_s": old}

    def selftest(args: Record) -> dict[str, Any]:
        from node.selftest import quick_checks

        if not isinstance(hardware, FullHardware):
            raise CommandFailed("this hardware cannot test itself")
        with hardware.lock:
            checks = quick_checks(hardware, spool, settings)
        return {"ok": not any(c.failed for c in checks),
                "checks": [c.as_dict() for c in checks]}

    def override(args: Record) -> dict[str, Any]:
        assert isinstance(args, OverrideArgs)
        if control is None:
            raise CommandFailed("this node has no lamp output ([output] in its profile)")
        return control.override(args.level, args.minutes)

    def resume(args: Record) -> dict[str, Any]:
        if control is None:
            raise CommandFailed("this node has no lamp output ([output] in its profile)")
        return control.resume()

    return {"identify": identify, "set_interval": set_interval, "selftest": selftest,
            "override": override, "resume": resume}
