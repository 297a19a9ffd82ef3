"""Why a message was not stored. Every rejected message is kept with one of these reasons
(table `dead_letters`) and counted in `roshni_readings_rejected_total{reason}`."""

from __future__ import annotations

from pydantic import ValidationError

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
