"""The lamp-control service one hub process runs (see hub/control/__init__.py)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Engine

from hub.commands import CommandBus
from hub.control.publish import ConfigSweep, publish_pending, refresh
from hub.control.stage import ControlStage
from hub.core.control_settings import ControlSettings


class Control:
    def __init__(self, settings: ControlSettings, engine: Engine, bus: CommandBus) -> None:
        self.settings = settings
        self.engine = engine
        self.bus = bus
        self.stage = ControlStage()
        self.sweep = ConfigSweep(settings, engine, bus)

    def start(self) -> None:
        self.sweep.start()

    def stop(self) -> None:
        self.sweep.stop()

    def apply(self, node_ids: Iterable[str] | None = None) -> list[str]:
        """After a program, assignment or node changed: new config versions where the
        effective program differs, decided now and sent by the sweep at once (inline if
        no sweep runs). The nodes that got a new version."""
        changed = refresh(self.engine, self.settings, node_ids)
        if changed:
            if self.sweep.running:
                self.sweep.wake()
            else:
                publish_pending(self.engine, self.bus, changed)
        return changed
