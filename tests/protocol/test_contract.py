"""The wire contract as other firmware sees it (DESIGN.md §4)."""

from __future__ import annotations

import json
import subprocess
import sys

import jsonschema
import pytest
from pydantic import ValidationError

from protocol import topics
from protocol.payloads import Reading, Status

EXAMPLE = {"v": 1, "node": "khi-kor-0042", "seq": 18233, "ts": 1795370700.0, "interval_s": 60,
           "lamp_on": True, "lux": 3.1, "lamp_w": 48.2, "lamp_a": 0.21, "mains_v": 229.8,
           "energy_wh": 15234.0, "footfall": 7, "presence_s": 42, "tamper": False,
           "cpu_c": 51.2, "uptime_s": 86400, "rssi_dbm": -61, "spool": 0}


def test_design_example_reading_is_valid_and_unknown_fields_are_ignored():
    r = Reading.model_validate({**EXAMPLE, "humidity": 80})
    assert r.seq == 18233 and r.lamp_on is True
    assert not hasattr(r, "humidity")


@pytest.mark.parametrize("bad", [
    {"seq": "18233"}, {"lamp_on": 1}, {"footfall": 2.5}, {"ts": "2026-11-21"},
    {"node": "KHI-KOR-42"}, {"node": "ab"}, {"v": 2},
])
def test_strict_types_reject_what_firmware_might_get_wrong(bad):
    with pytest.raises(ValidationError):
        Reading.model_validate({**EXAMPLE, **bad})


def test_topics_are_built_and_parsed_in_one_place():
    t = topics.topic("khi-kor-0042", topics.Kind.CMD_RESULT)
    assert t == "roshni/v1/khi-kor-0042/cmd/result"
    parsed = topics.parse(t)
    assert (parsed.node_id, parsed.kind) == ("khi-kor-0042", topics.Kind.CMD_RESULT)
    assert topics.subscription(topics.Kind.READING, "roshni") == \
        "$share/roshni/roshni/v1/+/reading"


@pytest.mark.parametrize("node_id", ["+", "#", "khi/kor", "KHI-1", "-abc", "a" * 64, ""])
def test_wildcards_and_bad_ids_are_refused_on_publish(node_id):
    with pytest.raises(topics.TopicError):
        topics.topic(node_id, topics.Kind.READING)


def test_schema_command_validates_the_same_payloads_as_the_hub():
    out = subprocess.run([sys.executable, "-m", "roshni_cli", "protocol", "schema"],
                         capture_output=True, text=True, check=True).stdout
    schema = json.loads(out)
    reading_schema = {**schema["$defs"]["reading"], "$defs": schema["$defs"]["reading"].get(
        "$defs", {})}
    jsonschema.validate(EXAMPLE, reading_schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**EXAMPLE, "seq": "1"}, reading_schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({k: v for k, v in EXAMPLE.items() if k != "ts"}, reading_schema)
    status = schema["$defs"]["status"]
    jsonschema.validate({"v": 1, "state": "offline", "session": 3, "reason": "lost"}, status)
    Status.model_validate({"v": 1, "state": "offline", "session": 3, "reason": "lost"})
