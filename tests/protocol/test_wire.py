"""protocol.wire, the node's pydantic-free copy of the payload models, accepts and refuses
exactly what protocol.payloads (the hub's, the contract) does, and puts the problem at the
same key: a node must never send what the hub dead-letters, nor refuse a program or
command the hub considers valid. (The wording differs: pydantic's and msgspec's.)"""

from __future__ import annotations

import copy
import json
import math

import pytest
from pydantic import ValidationError

from protocol import payloads, wire
from protocol.structs import Invalid, dump, field_names
from protocol.wire import parse

READING = {"v": 1, "node": "khi-kor-0042", "seq": 18233, "ts": 1795370700.0, "interval_s": 60,
           "lamp_on": True, "lux": 3.1, "lamp_w": 48.2, "lamp_a": 0.21, "mains_v": 229.8,
           "energy_wh": 15234.0, "footfall": 7, "presence_s": 42, "tamper": False,
           "cpu_c": 51.2, "uptime_s": 86400, "rssi_dbm": -61, "spool": 0, "level": 40,
           "level_avg": 55.5}
PROGRAM = {"steps": [{"at": "sunset", "level": 100}, {"at": "23:00", "level": 40},
                     {"at": "sunrise-15", "level": 0}],
           "presence": {"floor": 20, "level": 90, "hold_s": 60}, "min_level": 10,
           "tz": "Asia/Karachi"}
EXAMPLES = {
    "Reading": READING,
    "Command": {"v": 1, "id": "c-1", "cmd": "override"},
    "CommandResult": {"v": 1, "id": "c-1", "ok": True, "detail": {"level": 40}},
    "IdentifyArgs": {"seconds": 30},
    "SetIntervalArgs": {"interval_s": 60},
    "SelftestArgs": {},
    "OverrideArgs": {"level": 40, "minutes": 30},
    "ResumeArgs": {},
    "ProgramStep": {"at": "sunset+30", "level": 80},
    "Presence": {"floor": 20, "level": 100, "hold_s": 120},
    "Program": PROGRAM,
    "Config": {"v": 1, "version": 3, "sha": "0" * 64, "program": PROGRAM},
}
# What firmware or a hub might get wrong, tried in every field.
ODD_VALUES = [None, "x", "", "18", True, False, 0, -1, 1.5, 2.0, 101, 10**6, float("nan"),
              float("inf"), [], {}, "sunset", "24:00", "sunrise+361", "a" * 65, "a" * 64,
              "khi-kor-0042", "KHI", 1, 100, 3601, 4]


def _pydantic(name: str) -> type:
    return getattr(payloads, name)


def _outcome_pydantic(name: str, data: object) -> tuple[str, object]:
    model = _pydantic(name)
    try:
        made = model.model_validate(data)
    except ValidationError as err:
        return "refused", sorted(tuple(map(str, e["loc"])) for e in err.errors())
    dumped = made.model_dump(mode="json")
    return "taken", {k: dumped[k] for k in model.model_fields}


def _outcome_wire(name: str, data: object) -> tuple[str, object]:
    try:
        made = parse(getattr(wire, name), data)
    except Invalid as err:
        # msgspec reports the first problem only
        return "refused", [tuple(map(str, err.loc))]
    return "taken", dump(made)


def _variants(example: dict) -> list[object]:
    """The example, each field left out, each field (and each nested field) set to each
    odd value, an unknown key, and not a table at all."""
    found: list[object] = [example, {**example, "unknown_key": 1}, "not a table", None]

    def walk(node: object, path: tuple) -> None:
        if isinstance(node, dict):
            for key in node:
                without = copy.deepcopy(example)
                _at(without, path).pop(key)
                found.append(without)
                for value in ODD_VALUES:
                    changed = copy.deepcopy(example)
                    _at(changed, path)[key] = value
                    found.append(changed)
                walk(node[key], (*path, key))
        elif isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, (*path, i))
            for items in ([], node * 9):
                changed = copy.deepcopy(example)
                _at(changed, path[:-1])[path[-1]] = items
                found.append(changed)

    walk(example, ())
    return found


def _json(value: object) -> str:
    def finite(v: object) -> object:
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, dict):
            return {k: finite(x) for k, x in v.items()}
        if isinstance(v, list):
            return [finite(x) for x in v]
        return v

    return json.dumps(finite(value), sort_keys=True)


def _at(data: object, path: tuple) -> object:
    for step in path:
        data = data[step]  # type: ignore[index]
    return data


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_the_node_copy_has_the_contract_fields_and_defaults(name):
    model = _pydantic(name)
    assert field_names(getattr(wire, name)) == list(model.model_fields)
    assert _outcome_wire(name, EXAMPLES[name]) == _outcome_pydantic(name, EXAMPLES[name])


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_the_node_takes_and_refuses_what_the_hub_does_at_the_same_keys(name):
    variants = _variants(EXAMPLES[name])
    assert len(variants) > 3
    for data in variants:
        expected = _outcome_pydantic(name, data)
        got = _outcome_wire(name, data)
        if expected[0] == "taken" and got[0] == "taken":
            # Pydantic's JSON mode writes NaN and infinities as null.
            assert _json(got[1]) == _json(expected[1]), data
        else:
            assert got[0] == expected[0], data
            if got[0] == "refused":  # one of the keys pydantic names (it names them all)
                assert got[1][0] in expected[1], data


def test_command_arguments_are_checked_alike():
    for raw in ({"v": 1, "id": "a", "cmd": "override", "level": 40},
                {"v": 1, "id": "a", "cmd": "override", "level": 400, "minutes": 0},
                {"v": 1, "id": "a", "cmd": "identify", "seconds": "5"},
                {"v": 1, "id": "a", "cmd": "resume", "level": 3},
                {"v": 1, "id": "a", "cmd": "set_interval"}):
        command = payloads.Command.model_validate(raw)
        try:
            expected = ("taken", payloads.command_args(command).model_dump(mode="json"))
        except ValidationError as err:
            expected = ("refused", [e["loc"] for e in err.errors()])
        try:
            got = ("taken", dump(wire.command_args(parse(wire.Command, raw), raw)))
        except Invalid as err:
            got = ("refused", [err.loc])
        assert got[0] == expected[0], raw
        if got[0] == "taken":
            assert got == expected, raw
        else:
            assert got[1][0] in expected[1], raw


def test_node_and_hub_compute_the_same_program_sha():
    for program in (payloads.DEFAULT_PROGRAM, PROGRAM, {"steps": [{"at": "20:00", "level": 5}]},
                    {**PROGRAM, "presence": {"floor": 0}}):
        assert wire.program_sha(program) == payloads.program_sha(program)
