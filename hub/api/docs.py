"""`/docs` (Swagger UI) and `/openapi.json`, behind `[http] docs` (hub.api.access).
Swagger UI's files come from the `fastapi-offline` package and are served by the hub, so
the page works on a network without the internet (FastAPI's own /docs loads them from a
CDN)."""

from __future__ import annotations

from importlib.resources import files

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse

from hub.api.access import docs_allowed

router = APIRouter(include_in_schema=False, dependencies=[Depends(docs_allowed)])

STATIC = files("fastapi_offline") / "static"
ASSETS = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css",
          "favicon.png": "image/png"}


@router.get("/openapi.json")
def read_openapi(request: Request) -> JSONResponse:
    return JSONResponse(request.app.openapi())


@router.get("/docs")
def read_docs(request: Request) -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url="/openapi.json", title=f"{request.app.title} — API",
        swagger_js_url="/docs/assets/swagger-ui-bundle.js",
        swagger_css_url="/docs/assets/swagger-ui.css",
        swagger_favicon_url="/docs/assets/favicon.png")


@router.get("/docs/assets/{name}")
def read_docs_asset(name: str) -> FileResponse:
    if name not in ASSETS:
        raise HTTPException(404, f"no file {name}")
    return FileResponse(str(STATIC / name), media_type=ASSETS[name],
                        headers={"Cache-Control": "public, max-age=86400"})
