"""What every request must be before any route sees it: numbers a database and a JSON
answer can hold, and text a UTF-8 database and an XML feed can hold.

Python's JSON parser accepts `NaN`, `Infinity`, `1e999` (parsed as infinity) and lone
surrogates (`"\\ud800"`), none of which is JSON (RFC 8259) or storable; SQLite and
PostgreSQL hold integers below 2^63 only. Checking each route's fields would leave the
next route unchecked, so one ASGI middleware refuses such input in the query string, the
path, JSON bodies and form bodies with 422 {"detail": ...}.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

INT_MAX = 2**63 - 1
INT_MIN = -(2**63)
# Bodies of this API are small forms and JSON objects; a larger one is not ours to read.
MAX_BODY = 1024 * 1024
# Not allowed in XML 1.0 (and never meant as text): C0 controls but tab, LF and CR, and
# the non-characters U+FFFE/U+FFFF. Lone surrogates are caught by UTF-8 encoding.
_CONTROL_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_NUMBER_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class BadInput(Exception):
    """Input no route should see; the message says what is wrong with it."""


def check_text(text: str, what: str = "text") -> str:
    """`text` unchanged, or BadInput when it holds a control character or a lone
    surrogate."""
    bad = _CONTROL_RE.search(text)
    if bad:
        raise BadInput(f"{what} contains the control character U+{ord(bad.group()):04X}")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise BadInput(f"{what} contains a lone surrogate (not Unicode text)") from None
    return text


def clean_text(text: str) -> str:
    """`text` without what `check_text` refuses: for text stored before it was checked."""
    text = _CONTROL_RE.sub("", text)
    return text.encode("utf-8", errors="replace").decode("utf-8")


def check_number(text: str, what: str) -> None:
    """BadInput when `text` is a number no database column holds (|n| >= 2^63, or not
    finite)."""
    if not _NUMBER_RE.match(text):
        return
    try:
        value = float(text)
    except (ValueError, OverflowError):
        raise BadInput(f"{what}={text[:40]} is out of range") from None
    if not math.isfinite(value) or not INT_MIN <= value <= INT_MAX:
        raise BadInput(f"{what}={text[:40]} is out of range")


def _json_constant(name: str) -> float:
    raise BadInput(f"{name} is not a JSON number")


def _json_float(text: str) -> float:
    value = float(text)
    # An integral float as large as 1e300 would pass as an int field's value.
    if not math.isfinite(value) or not INT_MIN <= value <= INT_MAX:
        raise BadInput(f"the number {text[:40]} is out of range")
    return value


def _json_int(text: str) -> int:
    if len(text) > 20:
        raise BadInput(f"the number {text[:40]}… is out of range")
    value = int(text)
    if not INT_MIN <= value <= INT_MAX:
        raise BadInput(f"the number {text} is out of range (at most {INT_MAX})")
    return value


def _walk_strings(value: Any) -> None:
    if isinstance(value, str):
        check_text(value, "a string")
    elif isinstance(value, dict):
        for k, v in value.items():
            check_text(k, "a key")
            _walk_strings(v)
    elif isinstance(value, list):
        for v in value:
            _walk_strings(v)


def check_json(body: bytes) -> None:
    """BadInput for a JSON body with non-standard numbers, numbers out of range, control
    characters or lone surrogates. A body that is not JSON at all is left to the route
    (FastAPI answers it 422 with the parser's position)."""
    try:
        value = json.loads(body, parse_constant=_json_constant, parse_float=_json_float,
                           parse_int=_json_int)
    except ValueError:
        return
    _walk_strings(value)


def check_form(body: bytes) -> None:
    try:
        fields = parse_qsl(body.decode("latin-1"), keep_blank_values=True, encoding="utf-8",
                           errors="strict")
    except UnicodeDecodeError:
        raise BadInput("the form is not UTF-8 text") from None
    for name, value in fields:
        check_text(name, "a form field name")
        check_text(value, f"the form field {name[:40]!r}")


def check_target(scope: Scope) -> None:
    """The path's numeric segments and the query string."""
    for segment in scope.get("path", "").split("/"):
        if segment.isdigit():
            check_number(segment, "the path's number")
    query = scope.get("query_string", b"")
    if not query:
        return
    try:
        params = parse_qsl(query.decode("latin-1"), keep_blank_values=True, encoding="utf-8",
                           errors="strict")
    except UnicodeDecodeError:
        raise BadInput("the query string is not UTF-8 text") from None
    for name, value in params:
        check_text(value, f"the query parameter {name[:40]!r}")
        check_number(value, name[:40])


def _content_type(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            return value.decode("latin-1").split(";")[0].strip().lower()
    return ""


async def _refuse(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"x-content-type-options", b"nosniff")]})
    await send({"type": "http.response.body", "body": body})


class CheckedRequests:
    """ASGI middleware: refuse bad input (module docstring) before routing."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        try:
            check_target(scope)
        except BadInput as err:
            await _refuse(send, 422, str(err))
            return
        kind = _content_type(scope)
        is_json = kind == "application/json" or kind.endswith("+json")
        if not is_json and kind != "application/x-www-form-urlencoded":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY:
                await _refuse(send, 413, f"the body is larger than {MAX_BODY} bytes")
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        try:
            (check_json if is_json else check_form)(body)
        except BadInput as err:
            await _refuse(send, 422, str(err))
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
