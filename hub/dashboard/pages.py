"""`GET /` (the dashboard's one page) and `GET /static/<version>/…` (its files).

Files are served under a version that is a hash of all of them, with a year's
`immutable` caching: a phone on a slow connection downloads each file once per hub
release and afterwards only the small page itself. Scripts come from the hub only
(Content-Security-Policy), so even a bug that put someone's text into the page as markup
could not run it.

`GET /sw.js` is the service worker (scope `/`: it has to be served from the root) that
keeps the app shell — the page and the files of this version — so the dashboard opens
without a network; `GET /manifest.webmanifest` makes it installable.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
from functools import cached_property
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response

from hub.core.dashboard_settings import DashboardSettings

STATIC = Path(__file__).with_name("static")
TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css",
         ".geojson": "application/geo+json", ".json": "application/json",
         ".svg": "image/svg+xml", ".png": "image/png", ".html": "text/html"}
IMMUTABLE = "public, max-age=31536000, immutable"


class Assets:
    def __init__(self, root: Path = STATIC) -> None:
        self.root = root.resolve()

    @cached_property
    def version(self) -> str:
        """A hash of every file's path and content: changes whenever any file does."""
        digest = hashlib.sha256()
        for path in sorted(p for p in self.root.rglob("*") if p.is_file()):
            digest.update(path.relative_to(self.root).as_posix().encode() + b"\0")
            digest.update(path.read_bytes())
        return digest.hexdigest()[:12]

    @cached_property
    def template(self) -> str:
        return (self.root / "index.html").read_text(encoding="utf-8")

    def file(self, rel: str) -> Path | None:
        """The file under the static root, or None: never outside it, never a dot-file."""
        if not rel or any(part.startswith(".") for part in rel.split("/")):
            return None
        path = (self.root / rel).resolve()
        if not path.is_relative_to(self.root) or not path.is_file():
            return None
        return path

    @cached_property
    def shell(self) -> list[str]:
        """What the service worker keeps at install: the page and every script, style and
        icon of this version. The map's library and outlines are kept when first used
        (a crew never needs them)."""
        base = f"/static/{self.version}"
        files = sorted(p.relative_to(self.root).as_posix() for p in self.root.rglob("*")
                       if p.is_file() and p.suffix in (".js", ".css", ".svg")
                       and p.name != "sw.js" and not p.relative_to(self.root).as_posix()
                       .startswith("vendor/"))
        return ["/", *(f"{base}/{f}" for f in files)]

    @cached_property
    def service_worker(self) -> str:
        source = (self.root / "sw.js").read_text(encoding="utf-8")
        return (source.replace('"{{VERSION}}"', json.dumps(self.version))
                .replace('"{{SHELL}}"', json.dumps(self.shell)))

    def page(self, config: dict[str, Any]) -> str:
        base = f"/static/{self.version}"
        # JSON inside <script type="application/json">: `<` escaped so no value can end it.
        blob = json.dumps({**config, "static": base}).replace("<", "\\u003c")
        return self.template.replace("{{STATIC}}", base).replace("{{CONFIG}}", blob)


assets = Assets()
router = APIRouter(tags=["dashboard"], include_in_schema=False)


def _settings(request: Request) -> DashboardSettings:
    hub = request.app.state.hub
    return hub.settings.dashboard


def _timezone(request: Request) -> str:
    return str(request.app.state.hub.settings.spots.timezone)


def security_headers(tile_origin: str | None) -> dict[str, str]:
    # blob: the crew's repair photos (previews, and photos fetched behind the login)
    images = "'self' data: blob:" + (f" {tile_origin}" if tile_origin else "")
    return {
        "Content-Security-Policy": (
            "default-src 'self'; script-src 'self'; style-src 'self'; "
            f"img-src {images}; connect-src 'self'; object-src 'none'; base-uri 'none'; "
            "frame-ancestors 'none'; form-action 'self'"),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }


@router.get("/", response_class=HTMLResponse)
def read_dashboard(request: Request) -> HTMLResponse:
    settings = _settings(request)
    config = {
        "timezone": _timezone(request),
        "tiles": {"url": settings.tile_url, "attribution": settings.tile_attribution,
                  "max_zoom": settings.tile_max_zoom},
    }
    return HTMLResponse(assets.page(config), headers=security_headers(settings.tile_origin))


@router.get("/sw.js")
def read_service_worker() -> Response:
    # Checked on every visit (no-cache): a new release's worker replaces the old one.
    return Response(assets.service_worker, media_type="text/javascript",
                    headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/",
                             "X-Content-Type-Options": "nosniff"})


@router.get("/manifest.webmanifest")
def read_manifest() -> JSONResponse:
    manifest = {
        "name": "Roshni", "short_name": "Roshni", "start_url": "/", "scope": "/",
        "display": "standalone", "background_color": "#ffffff", "theme_color": "#1d2433",
        "icons": [{"src": f"/static/{assets.version}/icon.svg", "sizes": "any",
                   "type": "image/svg+xml", "purpose": "any"}],
    }
    return JSONResponse(manifest, media_type="application/manifest+json",
                        headers={"Cache-Control": "no-cache"})


@router.get("/static/{version}/{rel:path}")
def read_static(version: str, rel: str) -> FileResponse:
    path = assets.file(rel)
    if path is None:
        raise HTTPException(404, f"no file {rel}")
    media = TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0]
    # An old page asking for an old version gets today's file, but must not cache it.
    cache = IMMUTABLE if version == assets.version else "no-cache"
    return FileResponse(path, media_type=media or "application/octet-stream",
                        headers={"Cache-Control": cache, "X-Content-Type-Options": "nosniff"})
