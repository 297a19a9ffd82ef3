"""Runs the lighting program on the node (DESIGN.md §11): sets the lamp output from
`node.schedule.decide` whenever its answer may change (a step, sunrise or sunset, the end
of a presence hold or of an override), at once on a presence edge, an override or a new
program from the hub.

New programs arrive on the retained `config` topic; they are checked and stored on disk
before they are applied, and acknowledged with an event `config_applied` or
`config_rejected` (with the reason).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from node.clock import Clock
from node.programs import ConfigRejected, ProgramStore, StoredProgram, check_config
from node.schedule import Decision, Override, PresenceState, SunSource, decide

if TYPE_CHECKING:
    from node.output import LampOutput

log = logging.getLogger(__name__)

# Re-decide at least this often (clock seconds): cheap, and it bounds how long a clock
# step (NTP after boot) can leave a stale level.
MAX_WAIT_S = 60.0

Announce = Callable[[str, dict[str, Any]], None]


class LampControl:
    def __init__(self, output: LampOutput, *, sun: SunSource, clock: Clock,
                 store: ProgramStore, announce: Announce) -> None:
        self.output = output
        self.sun = sun
        self.clock = clock
        self.store = store
        self.announce = announce
        self.current: StoredProgram = store.load()
        self._presence = PresenceState()
        self._override: Override | None = None
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self._configs: queue.SimpleQueue[bytes] = queue.SimpleQueue()
        self._rejected: set[bytes] = set()
        self.decision: Decision | None = None
        # Told the sha of each program applied (the publisher's next birth carries it).
        self.on_applied: Callable[[str], None] = lambda sha: None
        self._thread = threading.Thread(target=self._run, name="roshni-control", daemon=True)
        log.info("lighting program version %d (%s…)", self.current.version, self.current.sha[:12])

    @property
    def config_sha(self) -> str:
        return self.current.sha

    def start(self) -> None:
        self.refresh()
        self._thread.start()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(10)

    # -- inputs (any thread) --------------------------------------------------------------

    def presence(self, t: float, present: bool) -> None:
        """The people sensor saw someone arrive (or everyone leave) at clock time `t`."""
        with self._lock:
            self._presence = PresenceState(present=present, last_seen=t)
        self.refresh()
        self._wake.set()  # the hold's end moved

    def override(self, level: int, minutes: int) -> dict[str, Any]:
        now = self.clock.now()
        with self._lock:
            self._override = Override(level=level, until=now + minutes * 60.0)
        decision = self.refresh()
        self._wake.set()
        return {"level": self.output.level, "until": now + minutes * 60.0,
                "why": decision.why}

    def resume(self) -> dict[str, Any]:
        with self._lock:
            had = self._override is not None and self.clock.now() < self._override.until
            self._override = None
        decision = self.refresh()
        self._wake.set()
        return {"level": self.output.level, "was_overridden": had, "why": decision.why}

    def receive_config(self, raw: bytes) -> None:
        """From paho's thread: checked, stored and applied on the control thread."""
        self._configs.put(raw)
        self._wake.set()

    # -- the control thread ---------------------------------------------------------------

    def refresh(self) -> Decision:
        """Decide the level for now and drive the output."""
        with self._lock:
            now = self.clock.now()
            decision = decide(self.current.program, now, self.sun, self._presence,
                              self._override)
            before = self.output.level
            level = self.output.set(decision.level, now)
            self.decision = decision
        if level != before:
            log.info("lamp at %d %% (%s)", level, decision.why)
        return decision

    def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()
            try:
                while not self._configs.empty():
                    self._take_config(self._configs.get_nowait())
                decision = self.refresh()
            except Exception:  # noqa: BLE001 - the lamp must keep being controlled
                log.exception("lamp control failed; trying again")
                decision = None
            wait = MAX_WAIT_S if decision is None else decision.until - self.clock.now()
            # A hair past the moment, so the next decision is on the new side of it.
            self.clock.wait(min(MAX_WAIT_S, max(0.0, wait)) + 0.001, self._wake)

    def _take_config(self, raw: bytes) -> None:
        try:
            new = check_config(raw, self.current)
        except ConfigRejected as err:
            # The broker hands a retained config over at every reconnection: say no once.
            if raw not in self._rejected:
                if len(self._rejected) > 32:
                    self._rejected.clear()
                self._rejected.add(raw)
                log.warning("lighting program refused: %s", err)
                self.announce("config_rejected", {"version": err.version, "reason": str(err)})
            return
        if new is None:
            return
        try:
            self.store.save(new)
        except OSError as err:
            log.error("cannot store lighting program version %d: %s", new.version, err)
            self.announce("config_rejected", {"version": new.version,
                                              "reason": f"cannot store it: {err}"})
            return
        with self._lock:
            self.current = new
        log.info("lighting program version %d applied (%s…)", new.version, new.sha[:12])
        self.on_applied(new.sha)
        self.announce("config_applied", {"version": new.version, "sha": new.sha})
