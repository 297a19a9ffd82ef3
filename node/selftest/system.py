"""Checklist items for the Pi itself: the spool can keep readings through an outage, and
the clock is right."""

from __future__ import annotations

import shutil
import sqlite3

from node.config import NodeSettings
from node.selftest.checks import Check, failed, passed
from node.spool import Spool

# What one spooled reading takes on the SD card, with SQLite's overhead, generously.
BYTES_PER_READING = 600
CLOCK_TOLERANCE_S = 5.0


def spool_check(settings: NodeSettings, spool: Spool) -> Check:
    """`spool` was opened (and written) by the caller; is there room for a full one?"""
    name, title = "spool", "spool is writable and has room"
    interval = spool.interval_override() or settings.node.interval_s
    need = spool.capacity * BYTES_PER_READING
    free = shutil.disk_usage(spool.path.parent).free
    if free < need:
        return failed(name, title, f"{_size(free)} free on {spool.path.parent}, a full spool "
                      f"({spool.capacity} readings) needs {_size(need)}",
                      "Free space on the SD card, or keep fewer days: lower spool.max_days in "
                      "node.toml.")
    days = spool.capacity * interval / 86400
    return passed(name, title, f"{spool.path}: {_size(free)} free, room for {days:.0f} days "
                  f"offline ({spool.depth()} readings waiting)")


def open_spool_check(settings: NodeSettings) -> tuple[Check | None, Spool | None]:
    """Open the spool (it is created if new) and write to it; a FAIL if that is impossible."""
    path = settings.spool_path()
    try:
        spool = Spool(path, capacity=settings.spool.capacity(settings.node.interval_s))
        spool.set_interval_override(spool.interval_override() or 0)  # a real write
    except (OSError, sqlite3.Error) as err:
        return failed("spool", "spool is writable and has room", f"cannot write {path}: {err}",
                      f"Check that {settings.data_dir} exists and belongs to the node's user "
                      f"(sudo chown -R roshni: {settings.data_dir}) and the SD card is not "
                      "read-only."), None
    return None, spool


def clock_check(synchronised: bool | None, offset_s: float | None) -> Check:
    """The OS says NTP has set the clock, and (when the hub answered) it agrees with the hub."""
    name, title = "clock", "clock is synchronised"
    remedy = ("The Pi has no battery clock and needs NTP: run `timedatectl` (it must say "
              "'System clock synchronized: yes'); turn NTP on with `sudo timedatectl set-ntp "
              "true` and let UDP port 123 out, or set NTP= in /etc/systemd/timesyncd.conf.")
    if synchronised is False:
        return failed(name, title, "the system clock is not synchronised (NTP)", remedy)
    if offset_s is not None and abs(offset_s) > CLOCK_TOLERANCE_S:
        return failed(name, title, f"{offset_s:+.1f} s off the hub's clock", remedy)
    seen = "synchronised (NTP)" if synchronised else "synchronisation unknown on this OS"
    if offset_s is not None:
        seen += f", {abs(offset_s):.1f} s from the hub's clock"
    return passed(name, title, seen)


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"
