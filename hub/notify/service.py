"""Notifications as the hub runs them: subscribers bound to the database, the outbox
worker and the digest scheduler, each a thread with an injectable clock."""

from __future__ import annotations

import time
from collections.abc import Callable
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from hub.core.notify_settings import NotifySettings
from hub.metrics import Metrics
from hub.notify import bind
from hub.notify.digest import DigestScheduler
from hub.notify.outbox import OutboxWorker


class Notifier:
    def __init__(self, engine: Engine, settings: NotifySettings, tz: ZoneInfo, *,
                 metrics: Metrics | None = None, clock: Callable[[], float] = time.time
                 ) -> None:
        self.settings = settings
        bind(engine, settings)
        self.outbox = OutboxWorker(engine, settings, tz, metrics=metrics, clock=clock)
        self.digest = DigestScheduler(engine, settings, tz, clock=clock)

    def start(self) -> None:
        if self.settings.enabled:
            self.outbox.start()
            self.digest.start()

    def stop(self) -> None:
        self.digest.stop()
        self.outbox.stop()
