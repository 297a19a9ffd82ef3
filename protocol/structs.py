"""Checked records for the node, on msgspec (issue 12: the agent must fit in 40 MB, and
pydantic with its models was ~9 MB of it; msgspec, a C extension made for this, is ~1 MB).

The node's own files (settings, hardware profiles, simulation scenarios) and its side of
the wire contract (`protocol.wire`) are `Record`s: frozen msgspec Structs whose fields
carry their constraints as `msgspec.Meta`. `parse` checks data against one (strict types,
or msgspec's lax mode for settings whose values come from ROSHNI_* text) and raises
`Invalid` with the location of the problem and what is wrong; `dump` gives the JSON form.
The hub keeps pydantic.

msgspec stops at the first problem, so a file with two mistakes is reported one at a time.
"""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path
from typing import Any, TypeVar

import msgspec
import msgspec.inspect as mi


class Record(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Base of the node's records: frozen, unknown keys refused (a record
    that ignores them says ``forbid_unknown_fields=False``)."""


class Invalid(ValueError):
    """The problem `parse` found: `loc` (the keys and list indexes leading to it), `kind`
    ("missing", "unknown" or "invalid") and `msg`; `errors` holds it as one entry in the
    form protocol.loading.describe reads (loc, type, msg)."""

    def __init__(self, loc: tuple[str | int, ...], kind: str, msg: str) -> None:
        self.loc, self.kind, self.msg = loc, kind, msg
        self.errors = [{"loc": loc, "type": {"missing": "missing",
                                              "unknown": "extra_forbidden"}.get(kind, kind),
                        "msg": msg}]
        super().__init__(f"{'.'.join(map(str, loc))}: {msg}" if loc else msg)


# msgspec's message: "<what is wrong> - at `$.lamp.channel`" ("… - at `$`" or no suffix at
# the top); a missing or unknown key is named in the message, at the table holding it.
_AT = re.compile(r"^(?P<msg>.*?)(?: - at `\$(?P<path>.*)`)?$", re.S)
_STEP = re.compile(r"\.([^.\[]+)|\[(\d+)\]")
_KEY = re.compile(r"^Object (?P<what>missing required|contains unknown) field `(?P<key>.+)`$")


def invalid(err: msgspec.ValidationError) -> Invalid:
    """A msgspec.ValidationError as an Invalid."""
    found = _AT.match(str(err))
    assert found is not None  # the pattern matches any text
    msg, path = found["msg"], found["path"] or ""
    loc: list[str | int] = [name or int(index) for name, index in _STEP.findall(path)]
    if key := _KEY.match(msg):
        loc.append(key["key"])
        if key["what"] == "missing required":
            return Invalid(tuple(loc), "missing", "required key is missing")
        return Invalid(tuple(loc), "unknown", "unknown key")
    return Invalid(tuple(loc), "invalid", msg)


R = TypeVar("R")


def parse(cls: type[R], data: object, *, lax: bool = False) -> R:
    """`data` (a table of a TOML file, a decoded payload) as a `cls`; raises Invalid, its
    message in a technician's words (`explain`). `lax`: numbers and booleans may be written
    as text ("60", "true"), as in ROSHNI_* variables."""
    try:
        return msgspec.convert(data, cls, strict=not lax, dec_hook=_dec)
    except msgspec.ValidationError as err:
        raise explain(invalid(err), cls, data) from None


_NOTHING = object()
_WORDS = {"int": "an integer", "float": "a number", "str": "text", "bool": "true or false",
          "object": "a table", "array": "a list"}


def explain(problem: Invalid, cls: type, data: object) -> Invalid:
    """msgspec's message in words for the person who wrote the file: what was expected
    and the value found; the keys allowed (and the one meant) for an unknown key; the
    choices for a fixed set of values or a sensor `kind`."""
    loc, msg = problem.loc, problem.msg
    value = value_at(data, loc)
    got = "nothing" if value is _NOTHING else show(value)
    if problem.kind == "unknown":
        table = value_at(data, loc[:-1])
        holder = [m for m in _members(_type_at(cls, loc[:-1], data))
                  if isinstance(m, mi.StructType) and (m.tag_field is None or (
                      isinstance(table, dict) and table.get(m.tag_field) == m.tag))]
        allowed = sorted(f.name for f in holder[0].fields) if holder else []
        near = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        hint = f"did you mean {near[0]!r}? " if near else ""
        return Invalid(loc, "unknown", f"unknown key ({hint}allowed: {', '.join(allowed)})")
    tags = [m.tag for m in _members(_type_at(cls, loc[:-1], data))
            if isinstance(m, mi.StructType) and loc and m.tag_field == loc[-1]]
    if tags and (problem.kind == "missing" or msg.startswith("Invalid value")):
        return Invalid(loc, "invalid",
                       f"expected one of {', '.join(map(show, tags))}, got {got}")
    if problem.kind == "missing":
        return problem
    literal = [m for m in _members(_type_at(cls, loc, data)) if isinstance(m, mi.LiteralType)]
    if literal and msg.startswith("Invalid enum value"):
        shown = [show(v) for v in literal[0].values]
        expected = shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} or {shown[-1]}"
        return Invalid(loc, "invalid", f"expected {expected}, got {got}")
    if msg.startswith("Expected"):
        expected = re.sub(r"`([^`]+)`", lambda m: " or ".join(
            _WORDS.get(t, t) for t in m[1].split(" | ") if t != "null"),
            msg.split(", got ")[0])
        return Invalid(loc, "invalid", f"e{expected[1:]}, got {got}")
    return Invalid(loc, problem.kind, msg.replace("`", ""))


def show(value: object) -> str:
    """A value as the file writes it ("x", 40, true, a table), to quote in a message."""
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


def value_at(data: object, loc: tuple[str | int, ...]) -> object:
    """What `data` holds at `loc` (the value a problem is about)."""
    for step in loc:
        try:
            data = data[step]  # type: ignore[index]
        except (KeyError, IndexError, TypeError):
            return _NOTHING
    return data


def _members(tp: object) -> list[object]:
    """The types a field may hold (a union's members, None left out)."""
    if isinstance(tp, mi.Metadata):  # a description on the type
        return _members(tp.type)
    if isinstance(tp, mi.UnionType):
        return [m for t in tp.types if not isinstance(t, mi.NoneType) for m in _members(t)]
    return [] if tp is None else [tp]


def _type_at(cls: type, loc: tuple[str | int, ...], data: object) -> object:
    """msgspec.inspect's type of what `loc` leads to (of a tagged union, the member whose
    tag `data` holds there); None when nothing there has a type."""
    tp: object = mi.type_info(cls)
    for step in loc:
        found = None
        for member in _members(tp):
            if isinstance(member, mi.ListType) and isinstance(step, int):
                found = member.item_type
            elif isinstance(member, mi.StructType) and isinstance(step, str):
                if member.tag_field is not None and isinstance(data, dict) and \
                        data.get(member.tag_field) != member.tag:
                    continue
                found = next((f.type for f in member.fields if f.name == step), None)
            if found is not None:
                break
        data = value_at(data, (step,))
        tp = found
        if tp is None:
            return None
    return tp


def _dec(tp: type, value: object) -> object:
    """Types msgspec does not know: Path, and a field type with its own check
    (`from_value`, which returns an instance of that type or raises ValueError)."""
    if tp is Path and isinstance(value, str | Path):
        return Path(value)
    from_value = getattr(tp, "from_value", None)
    if from_value is not None:
        return from_value(value)
    raise NotImplementedError


def _enc(value: object) -> object:
    if isinstance(value, Path):
        return str(value)
    raise NotImplementedError


def dump(value: Any, *, exclude_none: bool = False) -> Any:
    """The JSON form of a record (every field, defaults included; a tagged record's tag
    too); `exclude_none` leaves out the fields that are None."""
    out = msgspec.to_builtins(value, enc_hook=_enc)
    if exclude_none and isinstance(out, dict):
        out = {k: v for k, v in out.items() if v is not None}
    return out


def field_names(cls: type) -> list[str]:
    return list(cls.__struct_fields__)  # type: ignore[attr-defined]
