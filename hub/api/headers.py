"""Headers on every answer: `X-Content-Type-Options: nosniff`, so that a browser never
guesses a JSON answer (which may carry a citizen's text) to be HTML or script."""

from __future__ import annotations

from hub.api.inputs import Receive, Scope, Send

_HEADERS = [(b"x-content-type-options", b"nosniff")]


class SecurityHeaders:
    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message):  # type: ignore[no-untyped-def]
            if message["type"] == "http.response.start":
                names = {n.lower() for n, _ in message.get("headers", ())}
                message["headers"] = [*message.get("headers", ()),
                                      *((n, v) for n, v in _HEADERS if n not in names)]
            await send(message)

        await self.app(scope, receive, with_headers)
