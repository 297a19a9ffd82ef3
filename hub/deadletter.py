"""Why a message was not stored. Every rejected message is kept with one of these reasons
(table `dead_letters`) and counted in `roshni_readings_rejected_total{reason}`."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import ValidationError
from sqlalchemy import Connection, delete, select

from hub.models import DeadLetter

NOT_JSON = "not_json"
MISSING_FIELD = "missing_field"
WRONG_TYPE = "wrong_type"
BAD_VALUE = "bad_value"
BAD_TIMESTAMP = "bad_timestamp"
BAD_NODE_ID = "bad_node_id"
UNSUPPORTED_VERSION = "unsupported_version"
NODE_MISMATCH = "node_mismatch"
OVERSIZED = "oversized"
BAD_TOPIC = "bad_topic"
EMPTY_BATCH = "empty_batch"
INFLUX_REJECTED = "influx_rejected"
UNKNOWN_COMMAND = "unknown_command"  # a cmd/result answering no command sent to that node

REASONS = (NOT_JSON, MISSING_FIELD, WRONG_TYPE, BAD_VALUE, BAD_TIMESTAMP, BAD_NODE_ID,
           UNSUPPORTED_VERSION, NODE_MISMATCH, OVERSIZED, BAD_TOPIC, EMPTY_BATCH,
           INFLUX_REJECTED, UNKNOWN_COMMAND)


def classify(err: ValidationError) -> tuple[str, str]:
    """(reason, human-readable detail) for a payload that failed validation."""
    errors = err.errors(include_url=False)
    detail = "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'payload'}: {e['msg']}" for e in errors)
    first = errors[0]
    kind, loc = first["type"], first["loc"]
    if kind == "json_invalid":
        return NOT_JSON, detail
    if kind == "missing":
        return MISSING_FIELD, detail
    if loc and loc[0] == "v" and kind == "literal_error":
        return UNSUPPORTED_VERSION, detail
    if loc and loc[0] == "ts":
        return BAD_TIMESTAMP, detail
    if loc and loc[0] == "node" and kind == "string_pattern_mismatch":
        return BAD_NODE_ID, detail
    if kind.endswith("_type") or kind.endswith("_parsing") or kind == "model_type":
        return WRONG_TYPE, detail
    return BAD_VALUE, detail


# --- the dead letters' disk budget ---------------------------------------------------------
# One compromised node can send junk as fast as the broker takes it; what the hub keeps of
# it must be bounded: a prefix of each payload, and a number of letters per node.


def kept(payload: bytes, limit: int, detail: str) -> tuple[bytes, str]:
    """The payload's first `limit` bytes, and the detail telling its real size if cut."""
    if len(payload) <= limit:
        return payload, detail
    return payload[:limit], f"{detail} (payload of {len(payload)} bytes; the first {limit} kept)"


def trim(conn: Connection, node_ids: Iterable[str | None], per_node: int) -> int:
    """Delete each node's oldest dead letters beyond `per_node`; return how many went.

    Decided in the database, in the transaction that inserted the new ones, so the budget
    holds whichever hub worker wrote them. Letters no node can be named for (a topic that
    does not parse) share one budget."""
    table = DeadLetter.__table__
    dropped = 0
    for node_id in set(node_ids):
        mine = table.c.node_id.is_(None) if node_id is None else table.c.node_id == node_id
        newest_dropped = (select(table.c.id).where(mine).order_by(table.c.id.desc())
                          .offset(per_node).limit(1).scalar_subquery())
        dropped += conn.execute(
            delete(table).where(mine, table.c.id <= newest_dropped)).rowcount or 0
    return dropped
