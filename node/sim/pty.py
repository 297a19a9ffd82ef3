"""What every emulated serial sensor shares: a real pseudo-terminal whose slave end the
node's own pyserial/minimalmodbus code opens (`port`), a thread playing the device on the
master end, and a clean close."""

from __future__ import annotations

import os
import threading
import tty
from typing import Self


class PtyDevice:
    name = "device"

    def __init__(self, *, blocking: bool = True) -> None:
        self._master, self._slave = os.openpty()
        tty.setraw(self._master)
        tty.setraw(self._slave)
        if not blocking:
            # A UART drops what nobody reads; a blocking write would hang the device instead.
            os.set_blocking(self._master, False)
        self.port = os.ttyname(self._slave)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"{self.name} {self.port}",
                                        daemon=True)

    def _start(self) -> None:
        """Call at the end of the subclass's __init__, once its state exists."""
        self._thread.start()

    def _run(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        if self._stop.is_set():
            return
        self._stop.set()
        self._thread.join()
        os.close(self._slave)
        os.close(self._master)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
