"""Checked records without pydantic, for the node (issue 12: the agent must fit in 40 MB,
and pydantic with its models was ~11 MB of it).

The node's own files (settings, hardware profiles, simulation scenarios) and its side of
the wire contract (`protocol.wire`) are frozen dataclasses whose fields carry their
constraints; `parse` checks data against them the way the pydantic models did (strict
types unless the record says `lax = True`, unknown keys refused, ignored or kept as
`extra` says, every problem reported at once, pydantic's error types and messages),
`dump` gives the JSON form and `json_schema` the schema of a file. The hub keeps pydantic.

    @record
    class Pir(Part):
        pin: int = spec(ge=0, le=27)
        refractory_s: float = spec(10.0, ge=0, description="seconds …")

Types a field may have: bool, int, float, str, Path, a `Literal`, a `Part`, a union of
`Part`s told apart by their `kind` literal, `list[...]` of these, `object` (anything, for a
field with its own `convert`), and any of these `| None`. Ints are taken for floats (and
become floats). A `lax` record (settings, whose values may come from the environment as
text) also takes numbers and booleans written as text, as pydantic's lax mode does.
"""

from __future__ import annotations

import dataclasses
import re
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, TypeVar, dataclass_transform

MISSING = dataclasses.MISSING


class Invalid(ValueError):
    """Errors of one `parse`: `errors` as pydantic reports them (loc, type, msg, input,
    ctx); the message is one line per error."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__("\n".join(f"{'.'.join(map(str, e['loc'])) or '(top level)'}: "
                                   f"{e['msg']}" for e in errors))
        self.errors = errors


class Part:
    """Base of the records. A record made by hand (``Output(relay_pin=25)``) is checked
    too: ValueError if it would not parse."""

    __slots__ = ()
    lax: typing.ClassVar[bool] = False
    # Keys a record does not know: "forbid" (an error), "ignore" (dropped)
    extra: typing.ClassVar[str] = "forbid"

    def __post_init__(self) -> None:
        errors: list[dict[str, Any]] = []
        checked = _check_record(type(self), {f: getattr(self, f) for f in _fields(type(self))},
                                (), errors)
        if errors:
            raise ValueError(str(Invalid(errors)))
        for name in _fields(type(self)):  # ints given for floats become floats
            object.__setattr__(self, name, getattr(checked, name))

    def check(self) -> None:
        """Checks across fields, after each field is valid: raise ValueError."""


@dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field,))
def record(cls: type) -> type:
    """Make a Part subclass a frozen, slotted, keyword-only dataclass; its own docstring is its
    description in the schema."""
    doc = cls.__dict__.get("__doc__")
    title = cls.__dict__.get("title")
    if "title" in cls.__dict__:
        del cls.title  # type: ignore[attr-defined]
    made = dataclasses.dataclass(frozen=True, slots=True, kw_only=True)(cls)
    made._description = doc  # type: ignore[attr-defined]
    made._title = title or made.__name__  # type: ignore[attr-defined]
    return made


def spec(default: Any = MISSING, *, default_factory: Callable[[], Any] | Any = MISSING,
         ge: float | None = None, gt: float | None = None, le: float | None = None,
         lt: float | None = None, min_length: int | None = None,
         max_length: int | None = None, pattern: str | None = None,
         description: str | None = None,
         before: Callable[[object], tuple[str, str] | None] | None = None,
         convert: Callable[[Any], Any] | None = None) -> Any:
    """A field with constraints. `before` sees the raw value first and returns
    (error type, message) to refuse it. `convert` runs after the type check (first, for
    an `object` field): it returns the value to keep or raises ValueError."""
    meta = {k: v for k, v in (("ge", ge), ("gt", gt), ("le", le), ("lt", lt),
                              ("min_length", min_length), ("max_length", max_length),
                              ("pattern", pattern), ("description", description),
                              ("before", before), ("convert", convert)) if v is not None}
    return dataclasses.field(default=default, default_factory=default_factory,
                             metadata=meta)


@dataclasses.dataclass(frozen=True, slots=True)
class _Field:
    name: str
    tp: Any
    meta: dict[str, Any]
    default: Any  # MISSING when required
    default_factory: Any

    @property
    def required(self) -> bool:
        return self.default is MISSING and self.default_factory is MISSING

    def make_default(self) -> Any:
        return self.default_factory() if self.default_factory is not MISSING else self.default


_FIELDS: dict[type, dict[str, _Field]] = {}


def _fields(cls: type) -> dict[str, _Field]:
    found = _FIELDS.get(cls)
    if found is None:
        hints = typing.get_type_hints(cls)  # dataclasses.fields leaves out the ClassVars
        found = _FIELDS[cls] = {
            f.name: _Field(f.name, hints[f.name], dict(f.metadata), f.default,
                           f.default_factory)
            for f in dataclasses.fields(cls)}
    return found


def field_names(cls: type) -> list[str]:
    return list(_fields(cls))


P = TypeVar("P", bound=Part)


def parse(cls: type[P], data: object) -> P:
    """`data` (a table of a TOML file) as a `cls`; raises Invalid with every problem."""
    errors: list[dict[str, Any]] = []
    value = _check_record(cls, data, (), errors)
    if errors:
        raise Invalid(errors)
    return value


def dump(value: Any, *, exclude_none: bool = False) -> Any:
    """The JSON form of a record (every field, defaults included), as pydantic's
    ``model_dump(mode="json")`` gives it."""
    if isinstance(value, Part):
        out = {name: dump(getattr(value, name), exclude_none=exclude_none)
               for name in _fields(type(value))}
        return {k: v for k, v in out.items() if v is not None} if exclude_none else out
    if isinstance(value, list | tuple):
        return [dump(v, exclude_none=exclude_none) for v in value]
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "model_dump"):  # a pydantic model of the contract (tests, the hub)
        return value.model_dump(mode="json", exclude_none=exclude_none)
    return value


# --- checking -----------------------------------------------------------------------

_BAD = object()  # a value that did not pass; its error is already recorded


def _error(errors: list[dict[str, Any]], loc: tuple[Any, ...], kind: str, msg: str,
           value: object, **ctx: Any) -> object:
    errors.append({"loc": loc, "type": kind, "msg": msg, "input": value, "ctx": ctx})
    return _BAD


def _check_record(cls: type, data: object, loc: tuple[Any, ...],
                  errors: list[dict[str, Any]]) -> Any:
    if isinstance(data, cls):
        return data
    if not isinstance(data, dict):
        return _error(errors, loc, "model_type",
                      f"Input should be a valid dictionary or instance of {cls.__name__}",
                      data)
    fields = _fields(cls)
    before = len(errors)
    values: dict[str, Any] = {}
    for name, field in fields.items():
        if name not in data:
            if field.required:
                _error(errors, (*loc, name), "missing", "Field required", data)
            else:
                values[name] = field.make_default()
            continue
        values[name] = _check_value(field.tp, data[name], (*loc, name), errors, field.meta,
                                    cls.lax)
    if cls.extra == "forbid":
        for key in data:
            if key not in fields:
                _error(errors, (*loc, key), "extra_forbidden", "Extra inputs are not permitted",
                       data[key])
    if len(errors) > before:
        return _BAD
    made = object.__new__(cls)
    for name, value in values.items():
        object.__setattr__(made, name, value)
    try:
        made.check()
    except ValueError as err:
        return _error(errors, loc, "value_error", f"Value error, {err}", data, error=err)
    return made


def _check_value(tp: Any, value: object, loc: tuple[Any, ...], errors: list[dict[str, Any]],
                 meta: dict[str, Any], lax: bool = False) -> Any:
    checked = _check_type(tp, value, loc, errors, meta, lax)
    convert = meta.get("convert")
    if convert is None or checked is _BAD or checked is None:
        return checked
    try:
        return convert(checked)
    except ValueError as err:
        return _error(errors, loc, "value_error", f"Value error, {err}", value, error=err)


def _check_type(tp: Any, value: object, loc: tuple[Any, ...], errors: list[dict[str, Any]],
                meta: dict[str, Any], lax: bool) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        members = typing.get_args(tp)
        if type(None) in members:
            if value is None:
                return None
            members = tuple(m for m in members if m is not type(None))
        if len(members) == 1:
            return _check_type(members[0], value, loc, errors, meta, lax)
        return _check_tagged(members, value, loc, errors)
    if (before := meta.get("before")) is not None and (refusal := before(value)) is not None:
        return _error(errors, loc, refusal[0], refusal[1], value)
    if isinstance(tp, type) and issubclass(tp, Part):
        return _check_record(tp, value, loc, errors)
    if origin is Literal:
        return _check_literal(typing.get_args(tp), value, loc, errors)
    if origin is list:
        if not isinstance(value, list):
            return _error(errors, loc, "list_type", "Input should be a valid list", value)
        items = [_check_value(typing.get_args(tp)[0], v, (*loc, i), errors, {}, lax)
                 for i, v in enumerate(value)]
        if any(v is _BAD for v in items):
            return _BAD
        return _check_length(items, loc, errors, meta, "List", "item")
    if tp is object:
        return value
    if origin is dict:  # dict[str, Any]: any table, kept as it is
        if not isinstance(value, dict):
            return _error(errors, loc, "dict_type", "Input should be a valid dictionary", value)
        return dict(value)
    if lax:
        value = _lax(tp, value)
    if tp is Path:
        if isinstance(value, str):
            return Path(value)
        if not isinstance(value, Path):
            return _error(errors, loc, "path_type", "Input is not a valid path", value)
        return value
    if tp is bool:
        if not isinstance(value, bool):
            return _error(errors, loc, "bool_type", "Input should be a valid boolean", value)
        return value
    if tp is int:
        if lax and isinstance(value, str):
            return _error(errors, loc, "int_parsing", "Input should be a valid integer, "
                          "unable to parse string as an integer", value)
        if isinstance(value, bool) or not isinstance(value, int):
            return _error(errors, loc, "int_type", "Input should be a valid integer", value)
        return _check_number(value, loc, errors, meta)
    if tp is float:
        if lax and isinstance(value, str):
            return _error(errors, loc, "float_parsing", "Input should be a valid number, "
                          "unable to parse string as a number", value)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return _error(errors, loc, "float_type", "Input should be a valid number", value)
        checked = _check_number(value, loc, errors, meta)
        return checked if checked is _BAD else float(value)
    if tp is str:
        if not isinstance(value, str):
            return _error(errors, loc, "string_type", "Input should be a valid string", value)
        checked = _check_length(value, loc, errors, meta, "String", "character")
        pattern = meta.get("pattern")
        if checked is not _BAD and pattern is not None and not re.search(pattern, value):
            return _error(errors, loc, "string_pattern_mismatch",
                          f"String should match pattern '{pattern}'", value, pattern=pattern)
        return checked
    raise TypeError(f"protocol.spec cannot check a field of type {tp!r}")


_TRUE = {"1", "on", "t", "true", "y", "yes"}
_FALSE = {"0", "off", "f", "false", "n", "no"}


def _lax(tp: Any, value: object) -> object:
    """What pydantic's lax mode makes of text (and of a whole float for an int); the value
    unchanged when it cannot, for the type check to refuse."""
    if isinstance(value, str):
        text = value.strip()
        try:
            if tp is int:
                return int(text)
            if tp is float:
                return float(text)
        except ValueError:
            return value
        if tp is bool and text.lower() in _TRUE | _FALSE:
            return text.lower() in _TRUE
    elif tp is int and isinstance(value, float) and value.is_integer():
        return int(value)
    elif tp is bool and type(value) is int and value in (0, 1):
        return bool(value)
    return value


def _check_number(value: float, loc: tuple[Any, ...], errors: list[dict[str, Any]],
                  meta: dict[str, Any]) -> Any:
    for key, kind, words, fails in (  # in pydantic-core's order (NaN fails the first)
            ("le", "less_than_equal", "less than or equal to", lambda v, b: not v <= b),
            ("lt", "less_than", "less than", lambda v, b: not v < b),
            ("ge", "greater_than_equal", "greater than or equal to", lambda v, b: not v >= b),
            ("gt", "greater_than", "greater than", lambda v, b: not v > b)):
        bound = meta.get(key)
        if bound is not None and fails(value, bound):
            shown = int(bound) if isinstance(bound, float) and bound.is_integer() else bound
            return _error(errors, loc, kind, f"Input should be {words} {shown}", value,
                          **{key: bound})
    return value


def _check_length(value: Any, loc: tuple[Any, ...], errors: list[dict[str, Any]],
                  meta: dict[str, Any], what: str, unit: str) -> Any:
    low, high = meta.get("min_length"), meta.get("max_length")
    after = " after validation" if what == "List" else ""
    shown = f", not {len(value)}" if what == "List" else ""
    if low is not None and len(value) < low:
        plural = unit if low == 1 else unit + "s"
        return _error(errors, loc, "too_short" if what == "List" else "string_too_short",
                      f"{what} should have at least {low} {plural}{after}{shown}", value,
                      min_length=low)
    if high is not None and len(value) > high:
        plural = unit if high == 1 else unit + "s"
        return _error(errors, loc, "too_long" if what == "List" else "string_too_long",
                      f"{what} should have at most {high} {plural}{after}{shown}", value,
                      max_length=high)
    return value


def _check_literal(allowed: tuple[Any, ...], value: object, loc: tuple[Any, ...],
                   errors: list[dict[str, Any]]) -> Any:
    for option in allowed:  # as pydantic: 1.0 and True are the literal 1
        if value == option and isinstance(value, str) == isinstance(option, str):
            return option
    shown = [repr(a) if isinstance(a, str) else str(a) for a in allowed]
    expected = shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} or {shown[-1]}"
    return _error(errors, loc, "literal_error", f"Input should be {expected}", value,
                  expected=expected)


def tags(cls: type) -> tuple[Any, ...]:
    """The `kind` values a record of a tagged union answers to."""
    return typing.get_args(_fields(cls)["kind"].tp)


def _check_tagged(members: tuple[type, ...], value: object, loc: tuple[Any, ...],
                  errors: list[dict[str, Any]]) -> Any:
    """A union of records told apart by `kind`. Unlike pydantic, the tag is not put into
    the error location: it says `lamp.channel`, as the file does."""
    if isinstance(value, members):
        return value
    if not isinstance(value, dict):
        return _error(errors, loc, "model_type", "Input should be a valid dictionary", value)
    every = [tag for m in members for tag in tags(m)]
    if "kind" not in value:
        return _error(errors, loc, "union_tag_not_found",
                      "Unable to extract tag using discriminator 'kind'", value)
    for member in members:
        if value["kind"] in tags(member) and isinstance(value["kind"], str):
            return _check_record(member, value, loc, errors)
    expected = ", ".join(repr(t) for t in every)
    return _error(errors, loc, "union_tag_invalid",
                  f"Input tag {value['kind']!r} found using 'kind' does not match any of the "
                  f"expected tags: {expected}", value, expected_tags=expected)


def models_in(tp: Any) -> list[type]:
    """The records a field's type may hold, in the order written."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        return [m for arg in typing.get_args(tp) for m in models_in(arg)]
    return [tp] if isinstance(tp, type) and issubclass(tp, Part) else []


def field_type(cls: type, name: str) -> Any:
    field = _fields(cls).get(name)
    return None if field is None else field.tp


# --- JSON Schema ----------------------------------------------------------------------

_JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", Path: "string"}
_SCHEMA_KEYS = {"ge": "minimum", "gt": "exclusiveMinimum", "le": "maximum",
                "lt": "exclusiveMaximum", "pattern": "pattern"}


def json_schema(cls: type) -> dict[str, Any]:
    """JSON Schema (2020-12) of a file holding a `cls`, in the layout pydantic gives."""
    defs: dict[str, Any] = {}
    top = _record_schema(cls, defs)
    return {**top, "$defs": dict(sorted(defs.items()))} if defs else top


def _record_schema(cls: type, defs: dict[str, Any]) -> dict[str, Any]:
    properties = {}
    for name, field in _fields(cls).items():
        prop = {"title": name.replace("_", " ").title(), **_type_schema(field.tp, field.meta,
                                                                        defs)}
        if not field.required:
            prop["default"] = dump(field.make_default())
        if "description" in field.meta:
            prop["description"] = field.meta["description"]
        properties[name] = prop
    schema: dict[str, Any] = {"additionalProperties": False, "properties": properties,
                              "title": cls._title, "type": "object"}  # type: ignore[attr-defined]
    required = [name for name, f in _fields(cls).items() if f.required]
    if required:
        schema["required"] = required
    if cls._description:  # type: ignore[attr-defined]
        import inspect

        schema["description"] = inspect.cleandoc(cls._description)  # type: ignore[attr-defined]
    return schema


def _ref(cls: type, defs: dict[str, Any]) -> dict[str, Any]:
    if cls.__name__ not in defs:
        defs[cls.__name__] = {}  # placed first: a record may not hold itself
        defs[cls.__name__] = _record_schema(cls, defs)
    return {"$ref": f"#/$defs/{cls.__name__}"}


def _type_schema(tp: Any, meta: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        members = [m for m in typing.get_args(tp) if m is not type(None)]
        inner = (_type_schema(members[0], meta, defs) if len(members) == 1 else
                 {"oneOf": [_ref(m, defs) for m in members],
                  "discriminator": {"propertyName": "kind", "mapping": {
                      tag: f"#/$defs/{m.__name__}" for m in members for tag in tags(m)}}})
        if len(members) < len(typing.get_args(tp)):
            return {"anyOf": [inner, {"type": "null"}]}
        return inner
    if isinstance(tp, type) and issubclass(tp, Part):
        return _ref(tp, defs)
    if tp is object:  # its `convert` decides
        return {}
    if origin is Literal:
        values = list(typing.get_args(tp))
        kind = _JSON_TYPES[type(values[0])]
        return {"const": values[0], "type": kind} if len(values) == 1 else {
            "enum": values, "type": kind}
    if origin is dict:
        return {"type": "object"}
    if origin is list:
        schema = {"items": _type_schema(typing.get_args(tp)[0], {}, defs), "type": "array"}
        for key, word in (("min_length", "minItems"), ("max_length", "maxItems")):
            if key in meta:
                schema[word] = meta[key]
        return schema
    schema = {"type": _JSON_TYPES[tp]}
    for key, word in _SCHEMA_KEYS.items():
        if key in meta:
            schema[word] = meta[key]
    if tp is str:
        for key, word in (("min_length", "minLength"), ("max_length", "maxLength")):
            if key in meta:
                schema[word] = meta[key]
    return schema
