"""`[dashboard]`: what the dashboard's map shows under the lamps; how large a crew's
repair photo may be."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from protocol.settings import Section


class DashboardSettings(Section):
    # A slippy-map tile URL such as "https://tile.openstreetmap.org/{z}/{x}/{y}.png" (mind
    # the tile server's usage policy) or a tile server of your own. Unset: no tiles; the map
    # shows the lamps and rough district outlines bundled with the hub, and the browser
    # fetches nothing from anywhere but the hub.
    tile_url: str | None = None
    # Shown by Leaflet as HTML (the operator's text, e.g. '&copy; <a
    # href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors').
    tile_attribution: str = ""
    tile_max_zoom: int = Field(default=19, ge=1, le=22)
    # The largest repair photo the hub keeps (bytes). The dashboard sends photos resized
    # to 1280 px JPEG, some 100–300 kB; a larger upload is refused (413).
    photo_max_bytes: int = Field(default=2_000_000, ge=10_000, le=20_000_000)
    # A GeoJSON file of area outlines (each feature's properties.area: the area's id or
    # name). Unset, or for an area it lacks: the outline drawn around the area's posts.
    area_outlines: Path | None = None

    @field_validator("tile_url")
    @classmethod
    def _tile_url(cls, url: str | None) -> str | None:
        if not url:
            return None
        parts = urlsplit(url)
        if parts.scheme not in ("https", "http") or not parts.netloc:
            raise ValueError("must be an http(s) URL with {z}, {x} and {y}")
        if not all(p in url for p in ("{z}", "{x}", "{y}")):
            raise ValueError("must contain {z}, {x} and {y}")
        return url

    @property
    def tile_origin(self) -> str | None:
        """Where tiles come from, for the page's Content-Security-Policy. A `{s}`
        subdomain placeholder becomes a wildcard."""
        if not self.tile_url:
            return None
        parts = urlsplit(self.tile_url)
        host = parts.netloc.replace("{s}", "*")
        return f"{parts.scheme}://{host}"
