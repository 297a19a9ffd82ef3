"""`GET /api/v1/stream`: live alert and ticket changes for the dashboard, as server-sent
events, each user seeing only what the API would show them.

One `ChangeFeed` per hub process polls the `updated_at` indexes of `alerts` and `tickets`
(one cheap range query a second, however many browsers listen), loads each changed row
once in the API's shape, and hands the batch to every open stream; a stream passes on what
its user's role and `Scope` cover (hub.api.deps, the one place that decides who sees what).

Rows are looked for within `lag_s` before now, not just after the newest seen, because a
long ingest transaction can commit an `updated_at` older than a quick acknowledgement
committed before it; what was already sent is remembered for that window.

Events: `ready` on connecting (`{"resumed": bool}`: false means reload what you show),
`alert` and `ticket` (the API's shapes), `refresh` when too much changed at once to send
row by row. Each carries an id; a browser reconnecting with `Last-Event-ID` gets what it
missed from a short in-memory history, or `ready` with `resumed: false`.

The bearer token comes in the `Authorization` header only, never in the URL, where
proxies and access logs keep it (RFC 6750 §2.3 advises against it too); the dashboard
reads the stream with fetch for that reason, since EventSource sends no headers. A stream
ends after `max_age_s` and the browser reconnects by itself: a hub stopping waits for its
open responses, and a token that expired or was revoked stops working at the next
reconnect at the latest.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import Engine, select

from hub import alerts, tickets
from hub.models import Alert, Ticket

log = logging.getLogger(__name__)

ALERT, TICKET = "alert", "ticket"


def ticket_body(ticket: dict[str, Any]) -> dict[str, Any]:
    """A ticket as GET /api/v1/tickets/{id} shows it (the sensor's notes with their codes)."""
    from hub.api.schemas import TicketPublic

    return {**ticket, **TicketPublic(**ticket).model_dump()}


@dataclass(frozen=True, slots=True)
class Change:
    kind: str  # alert | ticket
    id: int
    district: str
    area: str
    body: dict[str, Any]  # the API's shape


@dataclass(frozen=True, slots=True)
class Batch:
    seq: int
    changes: tuple[Change, ...]
    resync: bool = False  # too many to send one by one: reload


class ChangeFeed:
    """Polls for changed alerts and tickets while anyone listens (and `idle_s` after)."""

    def __init__(self, engine: Engine, *, poll_s: float = 1.0, lag_s: float = 60.0,
                 max_batch: int = 200, history: int = 500, idle_s: float = 300.0,
                 clock: Callable[[], float] = time.time) -> None:
        self.engine = engine
        self.poll_s = poll_s
        self.lag_s = lag_s
        self.max_batch = max_batch
        self.idle_s = idle_s
        self.clock = clock
        # Event ids are `<epoch>:<seq>`; another process (or a restart) has another epoch.
        self.epoch = secrets.token_hex(4)
        self.seq = 0
        self._history: deque[Batch] = deque(maxlen=history)
        self._seen: dict[tuple[str, int], float] = {}
        self._primed = False
        self._queues: set[asyncio.Queue[Batch]] = set()
        self._task: asyncio.Task[None] | None = None
        self._watching: asyncio.Event | None = None

    # --- polling (in a worker thread) ---

    def poll(self) -> Batch | None:
        """What changed since the last poll; None if nothing. The first poll only learns
        what is there (a browser loads the current state itself when it connects)."""
        now = self.clock()
        floor = now - self.lag_s
        found: list[tuple[str, int, float]] = []
        with self.engine.connect() as conn:
            for kind, table in ((ALERT, Alert), (TICKET, Ticket)):
                found.extend((kind, int(i), float(u)) for i, u in conn.execute(
                    select(table.id, table.updated_at).where(table.updated_at > floor)))
            # in the order they happened, so that a browser applies them in that order
            fresh = sorted(((k, i, u) for k, i, u in found if self._seen.get((k, i)) != u),
                           key=lambda f: f[2])
            for k, i, u in fresh:
                self._seen[(k, i)] = u
            self._seen = {key: u for key, u in self._seen.items() if u > floor}
            if not self._primed:
                self._primed = True
                return None
            if not fresh:
                return None
            self.seq += 1
            if len(fresh) > self.max_batch:
                return Batch(self.seq, (), resync=True)
            changes = []
            for kind, ident, _ in fresh:
                try:
                    body = (alerts.get(conn, ident) if kind == ALERT
                            else ticket_body(tickets.get(conn, ident)))
                except LookupError:
                    continue
                changes.append(Change(kind, ident, body["district"], body["area"], body))
        return Batch(self.seq, tuple(changes))

    # --- fan-out (on the event loop) ---

    async def subscribe(self) -> asyncio.Queue[Batch]:
        """A queue of the batches from now on; returns once the feed is watching, so
        whatever changes after this returns reaches the queue."""
        queue: asyncio.Queue[Batch] = asyncio.Queue(maxsize=100)
        self._queues.add(queue)
        if self._task is None or self._task.done():
            self._watching = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(self._run(self._watching))
        assert self._watching is not None
        try:
            await self._watching.wait()
        except BaseException:  # the browser left before the feed was ready
            self._queues.discard(queue)
            raise
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Batch]) -> None:
        self._queues.discard(queue)

    def since(self, seq: int) -> list[Batch] | None:
        """Batches after `seq`, or None if some of them are no longer kept."""
        if seq == self.seq:
            return []
        if seq > self.seq or not self._history or self._history[0].seq > seq + 1:
            return None
        return [b for b in self._history if b.seq > seq]

    async def _run(self, watching: asyncio.Event) -> None:
        idle_since: float | None = None
        failures = 0
        while True:
            if self._queues:
                idle_since = None
            else:
                idle_since = idle_since or time.monotonic()
                if time.monotonic() - idle_since > self.idle_s:
                    break
            try:
                batch = await asyncio.to_thread(self.poll)
                failures = 0
            except Exception:  # the database is busy or going away: try again
                failures += 1
                if failures in (1, 10) or failures % 100 == 0:
                    log.warning("change feed: polling failed (%d in a row)", failures,
                                exc_info=True)
                batch = None
            if self._primed:
                watching.set()
            if batch is not None:
                self._history.append(batch)
                for queue in list(self._queues):
                    if queue.full():  # a stuck stream: tell it to reload instead
                        with contextlib.suppress(asyncio.QueueEmpty):
                            while True:
                                queue.get_nowait()
                        queue.put_nowait(Batch(batch.seq, (), resync=True))
                    else:
                        queue.put_nowait(batch)
            await asyncio.sleep(self.poll_s)
        # Nobody listened for a while: the next subscriber starts afresh, and a browser
        # resuming from before now must reload (its gap was not watched).
        self._primed = False
        self._history.clear()
        self.seq += 1


# --- the route ---


def sse(event: str, data: Any, ident: str | None = None) -> str:
    head = f"id: {ident}\n" if ident else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def feed_of(request: Request) -> ChangeFeed:
    app = request.app
    feed = getattr(app.state, "change_feed", None)
    if feed is None:
        feed = app.state.change_feed = ChangeFeed(app.state.hub.engine)
    return feed  # type: ignore[no-any-return]


router = APIRouter(tags=["dashboard"])

HEARTBEAT_S = 15.0
MAX_AGE_S = 60.0
RETRY_MS = 2000


FeedDep = Annotated[ChangeFeed, Depends(feed_of)]


@router.get("/api/v1/stream", response_class=StreamingResponse)
async def read_stream(
        request: Request, feed: FeedDep,
        authorization: Annotated[str | None, Header()] = None,
        last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> StreamingResponse:
    """Server-sent events: `alert` and `ticket` changes in the user's scope (see the
    module's docstring). Authenticate with `Authorization: Bearer …`."""
    if "access_token" in request.query_params:
        raise HTTPException(400, "send the token as 'Authorization: Bearer …', never in the "
                                 "URL (proxies and logs keep URLs)")
    token = None
    if authorization and authorization.lower().startswith("bearer "):
        token = authorization[7:].strip()
    scope = await asyncio.to_thread(_authenticate, request, token)
    may_see = _filter(scope)
    resume = _resume_point(last_event_id, feed)

    async def events() -> AsyncIterator[str]:
        queue = await feed.subscribe()
        try:
            yield f"retry: {RETRY_MS}\n\n"
            backlog = feed.since(resume) if resume is not None else None
            yield sse("ready", {"resumed": backlog is not None}, f"{feed.epoch}:{feed.seq}")
            for batch in backlog or []:
                for chunk in _render(batch, may_see, feed.epoch):
                    yield chunk
            started = time.monotonic()
            while time.monotonic() - started < MAX_AGE_S:
                try:
                    batch = await asyncio.wait_for(queue.get(), timeout=HEARTBEAT_S)
                except TimeoutError:
                    if await request.is_disconnected():
                        return
                    yield ": keep-alive\n\n"
                    continue
                for chunk in _render(batch, may_see, feed.epoch):
                    yield chunk
        finally:
            feed.unsubscribe(queue)

    return StreamingResponse(events(), media_type="text/event-stream", headers={
        "Cache-Control": "no-cache, no-transform", "X-Accel-Buffering": "no"})


def _authenticate(request: Request, token: str | None) -> Any:
    """The user's Scope, exactly as the API's own routes get it; HTTPException if none."""
    from hub.api.deps import authorize, get_current_user

    api = request.app.state.api
    with api.engine.connect() as conn:
        user = get_current_user(api, conn, token)
    return authorize("alerts:read")(user)


def _filter(scope: Any) -> Callable[[Change], bool]:
    from hub.api.deps import PERMISSIONS

    role = scope.user.role
    kinds = {kind for kind, perm in ((ALERT, "alerts:read"), (TICKET, "tickets:read"))
             if role in PERMISSIONS[perm]}
    return lambda c: c.kind in kinds and scope.covers(c.district, c.area)


def _resume_point(last_event_id: str | None, feed: ChangeFeed) -> int | None:
    if not last_event_id:
        return None
    epoch, _, seq = last_event_id.partition(":")
    if epoch != feed.epoch or not seq.isdigit():
        return None
    return int(seq)


def _render(batch: Batch, may_see: Callable[[Change], bool], epoch: str) -> list[str]:
    ident = f"{epoch}:{batch.seq}"
    if batch.resync:
        return [sse("refresh", {}, ident)]
    mine = [c for c in batch.changes if may_see(c)]
    if not mine:
        # The id still moves on, so a reconnect resumes from here.
        return [f"id: {ident}\n: nothing for you\n\n"]
    return [sse(c.kind, c.body, ident) for c in mine]
