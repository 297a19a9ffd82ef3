"""The dashboard the hub serves at `/` (DESIGN.md §1, §7): committees, crews and
technicians on a phone, in English or Urdu.

A page of small vanilla JavaScript modules in `static/` talks to the REST API
(`/api/v1/…`) and to `GET /api/v1/stream` (live changes, here). Browser packages (Leaflet)
are installed with npm in this directory and copied into `static/vendor/` by
`npm run vendor`; the copies are committed, so the hub needs no npm and no CDN.
"""

from fastapi import APIRouter

from hub.dashboard import pages, stream

router = APIRouter()
router.include_router(pages.router)
router.include_router(stream.router)

__all__ = ["router"]
