"""One agent per node id and data directory: the agent holds a lock for as long as it runs.

Two agents on one spool would hand out the same `seq` twice, and `roshni node selftest`
must not fight a running agent for the GPIO pins and the serial port; both ask here first.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import IO


class AgentRunning(RuntimeError):
    """Another process already runs the agent for this node and data directory."""


class AgentLock:
    def __init__(self, data_dir: Path, node_id: str) -> None:
        self.path = Path(data_dir) / f"agent-{node_id}.lock"
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        f = open(self.path, "a+")  # noqa: SIM115 - held until release()
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = f.read().strip() or "another process"
            f.close()
            raise AgentRunning(f"the node agent is already running (pid {holder}, lock "
                               f"{self.path})") from None
        f.seek(0)
        f.truncate()
        f.write(str(os.getpid()))
        f.flush()
        self._file = f

    def release(self) -> None:
        if self._file is not None:
            self._file.close()  # closing drops the lock
            self._file = None

    def __enter__(self) -> AgentLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
