"""The outbox worker: delivers `outbox` rows until each receiver has taken them.

Delivery, per row:
1. claim it: attempts + 1 and `next_attempt_at` = now + lease, only if no other worker
   claimed it first (a conditional UPDATE, so several hub workers can share the outbox);
2. send it (webhook or e-mail);
3. mark it delivered, or schedule the retry: retry_initial_s × retry_factor^(attempts-1),
   at most retry_max_s. When the receiver is unreachable, every pending row for that
   subscriber waits as long, so a receiver that is down sees one attempt per backoff step,
   not one per notification, and gets its backlog in order when it is back.

At most once per subscriber, with one exception: a hub that dies after sending and before
step 3 sends that row again once its lease expires. Receivers that must never see a
repeat dedupe on `X-Roshni-Delivery` (webhooks) or the Message-ID (e-mail), both the
outbox row's id.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, func, select, update

from hub.core.notify_settings import NotifySettings, Subscriber
from hub.metrics import Metrics
from hub.models import Outbox
from hub.notify import channels, render

log = logging.getLogger(__name__)


class OutboxWorker:
    def __init__(self, engine: Engine, settings: NotifySettings, tz: ZoneInfo, *,
                 metrics: Metrics | None = None, clock: Callable[[], float] = time.time
                 ) -> None:
        self.engine = engine
        self.settings = settings
        self.tz = tz
        self.metrics = metrics
        self.clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Subscriber -> until when it is held back because its receiver was unreachable;
        # rows enqueued meanwhile wait too instead of each knocking on its own.
        self._held: dict[str, float] = {}
        if metrics is not None:
            metrics.notifications_pending.set_function(self._pending_or_nan)

    # --- thread ---

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="notify-outbox", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(self.settings.webhook_timeout_s + self.settings.smtp.timeout_s)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                busy = self.run_once() >= self.settings.batch_size
            except Exception:  # noqa: BLE001 - delivery must go on; rows stay in the outbox
                log.exception("outbox pass failed; retrying")
                busy = False
            if not busy:
                self._stop.wait(self.settings.poll_s)

    # --- one pass ---

    def run_once(self) -> int:
        """Try every due row once (at most `batch_size`); return how many were tried."""
        now = self.clock()
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(Outbox.id, Outbox.subscriber, Outbox.payload, Outbox.next_attempt_at)
                .where(Outbox.delivered_at.is_(None), Outbox.next_attempt_at <= now)
                .order_by(Outbox.id).limit(self.settings.batch_size)).all()
        pushed: set[str] = set()  # held subscribers whose rows were pushed back in this pass
        tried = 0
        for row_id, name, payload, due in rows:
            until = self._held.get(name)
            if until is not None and until > now:
                if name not in pushed:
                    pushed.add(name)
                    with self.engine.begin() as conn:
                        self._push_back(conn, name, until)
                continue
            sub = self.settings.subscriber(name)
            if sub is None:
                self._orphan(row_id, name, now)
                continue
            attempts = self._claim(row_id, due, now)
            if attempts is None:
                continue  # another worker has it
            tried += 1
            try:
                self._send(row_id, sub, json.loads(payload), now)
            except channels.Unreachable as err:
                pushed.add(name)
                self._failed(row_id, sub, attempts, now, str(err), hold_all=True)
            except channels.Refused as err:
                self._failed(row_id, sub, attempts, now, str(err), hold_all=False)
            except Exception as err:  # noqa: BLE001 - a rendering bug must not stop the rest
                log.exception("notification %d to %s could not be sent", row_id, name)
                self._failed(row_id, sub, attempts, now, f"{type(err).__name__}: {err}",
                             hold_all=False)
            else:
                self._held.pop(name, None)
                self._delivered(row_id, sub, now)
        return tried

    def _send(self, row_id: int, sub: Subscriber, n: dict[str, Any], now: float) -> None:
        if sub.channel == "webhook":
            assert sub.url is not None
            body, headers = render.webhook_request(row_id, sub, n, now)
            channels.post_webhook(sub.url, body, headers, self.settings.webhook_timeout_s)
        else:
            msg = render.email_message(self.settings, self.tz, row_id, sub, n, now)
            refused = channels.send_email(self.settings.smtp, msg)
            if refused:
                log.warning("notification %d to %s: some addresses refused it: %s", row_id,
                            sub.name, refused)

    # --- bookkeeping, each its own short transaction ---

    def _claim(self, row_id: int, due: float, now: float) -> int | None:
        with self.engine.begin() as conn:
            claimed = conn.execute(
                update(Outbox).where(Outbox.id == row_id, Outbox.delivered_at.is_(None),
                                     Outbox.next_attempt_at == due)
                .values(attempts=Outbox.attempts + 1,
                        next_attempt_at=now + self.settings.lease_s)).rowcount
            if claimed != 1:
                return None
            return int(conn.execute(select(Outbox.attempts).where(Outbox.id == row_id))
                       .scalar_one())

    def _delivered(self, row_id: int, sub: Subscriber, now: float) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(Outbox).where(Outbox.id == row_id)
                         .values(delivered_at=now, last_error=None))
        if self.metrics is not None:
            self.metrics.notifications_sent.labels(sub.channel).inc()

    def _failed(self, row_id: int, sub: Subscriber, attempts: int, now: float, error: str,
                *, hold_all: bool) -> None:
        retry_at = now + self.settings.retry_delay(attempts)
        log.warning("notification %d to %s failed (attempt %d: %s); retrying in %.0f s",
                    row_id, sub.name, attempts, error, retry_at - now)
        with self.engine.begin() as conn:
            conn.execute(update(Outbox).where(Outbox.id == row_id)
                         .values(next_attempt_at=retry_at, last_error=error[:2000]))
            if hold_all:
                self._held[sub.name] = retry_at
                self._push_back(conn, sub.name, retry_at)
        if self.metrics is not None:
            self.metrics.notifications_failed.labels(sub.channel).inc()

    @staticmethod
    def _push_back(conn: Connection, name: str, until: float) -> None:
        """Nothing for `name` is due before `until` (never brings a row forward)."""
        conn.execute(update(Outbox).where(
            Outbox.subscriber == name, Outbox.delivered_at.is_(None),
            Outbox.next_attempt_at < until).values(next_attempt_at=until))

    def _orphan(self, row_id: int, name: str, now: float) -> None:
        """A row for a subscriber no longer configured: kept (it may come back), retried
        rarely, visible in `roshni_notifications_pending`."""
        log.warning("notification %d is for subscriber %r, which is not configured; "
                    "keeping it", row_id, name)
        with self.engine.begin() as conn:
            conn.execute(update(Outbox).where(Outbox.id == row_id).values(
                next_attempt_at=now + self.settings.retry_max_s,
                last_error=f"subscriber {name!r} is not configured"))

    # --- metrics ---

    def pending(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(Outbox)
                                    .where(Outbox.delivered_at.is_(None))).scalar_one())

    def _pending_or_nan(self) -> float:
        try:
            return float(self.pending())
        except Exception:  # noqa: BLE001 - a scrape must not fail on a busy database
            return float("nan")
