"""Tell a running Mosquitto to read its password file and ACL again (SIGHUP).

On reload Mosquitto also disconnects clients whose credentials are no longer valid, so a
revoked node is cut off at once, not at its next reconnect.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path


class BrokerReloadError(RuntimeError):
    """The broker could not be told; the message says what to do by hand."""


def reload_broker(pid_file: Path | None) -> int:
    """Send SIGHUP to the Mosquitto whose pid is in `pid_file`; return the pid."""
    manual = "reload it by hand: systemctl reload mosquitto (or kill -HUP its pid)"
    if pid_file is None:
        raise BrokerReloadError(f"[broker] pid_file is not set, so the broker was not "
                                f"told about the change; {manual}")
    try:
        pid = int(Path(pid_file).read_text().strip())
    except FileNotFoundError:
        raise BrokerReloadError(f"{pid_file} does not exist: is Mosquitto running? "
                                f"{manual}") from None
    except (OSError, ValueError) as err:
        raise BrokerReloadError(f"cannot read the broker's pid from {pid_file}: {err}; "
                                f"{manual}") from None
    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError:
        raise BrokerReloadError(f"no process {pid} (from {pid_file}): Mosquitto is not "
                                f"running; start it and the change applies") from None
    except PermissionError:
        raise BrokerReloadError(f"not allowed to signal Mosquitto (pid {pid}); run as root "
                                f"or {manual}") from None
    return pid
