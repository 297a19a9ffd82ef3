"""Who may read the hub's own pages: `/metrics` (Prometheus) and `/docs` with
`/openapi.json`, per `[http] metrics` and `[http] docs`:

- `loopback` (default): clients on the hub's own machine; for /metrics also anyone who
  sends `Authorization: Bearer <[http] metrics_token>` (Prometheus' `authorization`);
- `open`: anyone who reaches the port;
- `off`: nobody (404).

A reverse proxy on the same machine makes every client look local: name it in
`[http] trusted_proxies`, and the client it forwards for is judged instead.
"""

from __future__ import annotations

import hmac
import ipaddress

from fastapi import HTTPException, Request

from hub.config import HttpSettings


def is_loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else ""


def check(request: Request, what: str, mode: str, token: str | None = None) -> None:
    """HTTPException unless this request may read `what` under `mode`."""
    if mode == "open":
        return
    if mode == "off":
        raise HTTPException(404, "Not Found")
    if is_loopback(request):
        return
    if token and hmac.compare_digest(_bearer(request).encode(), token.encode()):
        return
    raise HTTPException(403, f"{what} is served to this machine only"
                             + (" or with its bearer token" if token else ""),
                        headers={"WWW-Authenticate": "Bearer"} if token else None)


def settings_of(request: Request) -> HttpSettings:
    return request.app.state.hub.settings.http  # type: ignore[no-any-return]


def metrics_allowed(request: Request) -> None:
    s = settings_of(request)
    check(request, "/metrics", s.metrics, s.metrics_token)


def docs_allowed(request: Request) -> None:
    check(request, "/docs", settings_of(request).docs)
