"""systemd's notify protocol: READY=1 when the agent runs, WATCHDOG=1 while it is healthy.

A datagram to the socket in $NOTIFY_SOCKET (sd_notify(3)); without that variable (not
started by systemd, or a unit without Type=notify) every call does nothing.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


def notify(message: str) -> bool:
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):  # abstract namespace
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
            s.connect(address)
            s.sendall(message.encode())
    except OSError as err:
        log.warning("cannot notify systemd (%s): %s", address, err)
        return False
    return True


def watchdog_interval_s() -> float | None:
    """Half the unit's WatchdogSec, as sd_watchdog_enabled(3) advises; None if not enabled."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        return max(0.5, int(usec) / 2e6)
    except ValueError:
        return None


class Watchdog:
    """Pings systemd's watchdog while `healthy()` says so; a hung agent is then restarted."""

    def __init__(self, healthy: Callable[[], bool]) -> None:
        self.healthy = healthy
        self.interval_s = watchdog_interval_s()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.interval_s is None:
            return
        self._thread = threading.Thread(target=self._run, name="roshni-watchdog", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        assert self.interval_s is not None
        while not self._stop.wait(self.interval_s):
            if self.healthy():
                notify("WATCHDOG=1")
            else:
                log.error("agent not healthy: not pinging the systemd watchdog")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
