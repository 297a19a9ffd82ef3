"""Photos that prove a repair (issue 11): a crew attaches them to a ticket update.

The phone resizes each photo (about 1280 px, JPEG) and uploads it under a key it made
(`store`: sent again, it is stored once); the ticket update then names the keys it
attaches (`attach`, from `hub.tickets.transition`). The hub believes the content, not the
name or the header: only real JPEG, PNG or WebP is kept, and no larger than the
configured cap. Photos live in the database, so every hub worker serves them.

Who sees them: people who may see the ticket (`/api/v1/tickets/{id}/photos/{photo}`), and
anyone who has the photo's token, a random 256-bit name given out only as the Open311
`media_url` of the ticket's service request (`/api/v1/tickets/photos/{token}`).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from hub.models import TicketPhoto

# Per update: enough to show the lamp, the pole box and the fuse.
MAX_PER_UPDATE = 4


class PhotoError(ValueError):
    """A photo that cannot be kept or attached; the message says why."""


def sniff(data: bytes) -> str | None:
    """The image type by content (magic numbers), or None when it is no JPEG/PNG/WebP."""
    if data[:3] == b"\xff\xd8\xff":
        return "image/jpeg"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _ref(ticket_id: int, photo_id: int) -> dict[str, Any]:
    return {"id": photo_id, "url": f"/api/v1/tickets/{ticket_id}/photos/{photo_id}"}


def store(conn: Connection, ticket_id: int, key: str, data: bytes, actor: str, *,
          max_bytes: int, now: float | None = None) -> dict[str, Any]:
    """Keep a photo for the ticket; the same key again answers the photo kept already."""
    kept = conn.execute(select(TicketPhoto.id, TicketPhoto.ticket_id, TicketPhoto.uploaded_by)
                        .where(TicketPhoto.key == key)).first()
    if kept is not None:
        if (kept.ticket_id, kept.uploaded_by) != (ticket_id, actor):
            raise PhotoError("that key was used for another photo; make a new one per photo")
        return _ref(ticket_id, kept.id)
    if len(data) > max_bytes:
        raise PhotoError(f"the photo is {len(data)} bytes; at most {max_bytes} are kept "
                         f"(resize it)")
    content_type = sniff(data)
    if content_type is None:
        raise PhotoError("not a JPEG, PNG or WebP image")
    try:
        with conn.begin_nested():
            photo_id = int(conn.execute(insert(TicketPhoto).values(
                ticket_id=ticket_id, key=key, token=secrets.token_urlsafe(32),
                content_type=content_type, size=len(data), data=data, uploaded_by=actor,
                uploaded_at=time.time() if now is None else now)).inserted_primary_key[0])
    except IntegrityError:  # the same upload, to another worker, at the same moment
        return store(conn, ticket_id, key, data, actor, max_bytes=max_bytes, now=now)
    return _ref(ticket_id, photo_id)


def attach(conn: Connection, ticket_id: int, history_id: int, keys: Iterable[str],
           actor: str) -> None:
    """Attach the photos uploaded under `keys` to the ticket update `history_id`."""
    keys = list(dict.fromkeys(keys))
    if not keys:
        return
    if len(keys) > MAX_PER_UPDATE:
        raise PhotoError(f"at most {MAX_PER_UPDATE} photos per update")
    found = conn.execute(update(TicketPhoto).where(
        TicketPhoto.key.in_(keys), TicketPhoto.ticket_id == ticket_id,
        TicketPhoto.uploaded_by == actor, TicketPhoto.history_id.is_(None))
        .values(history_id=history_id)).rowcount
    if found != len(keys):
        raise PhotoError("a photo named in the update was not uploaded for this ticket "
                         "(PUT /api/v1/tickets/{id}/photos/{key} first), or belongs to "
                         "another update")


def for_history(conn: Connection, history_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = {}
    if not history_ids:
        return out
    for hid, tid, pid in conn.execute(
            select(TicketPhoto.history_id, TicketPhoto.ticket_id, TicketPhoto.id)
            .where(TicketPhoto.history_id.in_(history_ids)).order_by(TicketPhoto.id)):
        out.setdefault(int(hid), []).append(_ref(int(tid), int(pid)))
    return out


def get(conn: Connection, ticket_id: int, photo_id: int) -> Any:
    """(content_type, data) of an attached photo of the ticket, or None."""
    return conn.execute(select(TicketPhoto.content_type, TicketPhoto.data).where(
        TicketPhoto.id == photo_id, TicketPhoto.ticket_id == ticket_id,
        TicketPhoto.history_id.is_not(None))).first()


def by_token(conn: Connection, token: str) -> Any:
    return conn.execute(select(TicketPhoto.content_type, TicketPhoto.data).where(
        TicketPhoto.token == token, TicketPhoto.history_id.is_not(None))).first()


def latest_tokens(conn: Connection, ticket_ids: list[int]) -> dict[int, str]:
    """The token of each ticket's latest attached photo (Open311's one media_url)."""
    out: dict[int, str] = {}
    if not ticket_ids:
        return out
    for tid, token in conn.execute(
            select(TicketPhoto.ticket_id, TicketPhoto.token)
            .where(TicketPhoto.ticket_id.in_(ticket_ids), TicketPhoto.history_id.is_not(None))
            .order_by(TicketPhoto.id)):
        out[int(tid)] = token
    return out
