"""The dashboard's page and files as the hub serves them: headers that keep data from
running as script, long caching under a content hash, the map's tile settings."""

from __future__ import annotations

import json
import re
from types import SimpleNamespace

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError

from hub.config import HubSettings
from hub.core.dashboard_settings import DashboardSettings
from hub.dashboard import pages


def client(dashboard: DashboardSettings | None = None) -> TestClient:
    app = FastAPI()
    settings = HubSettings(dashboard=dashboard or DashboardSettings())
    app.state.hub = SimpleNamespace(settings=settings)
    app.include_router(pages.router)
    return TestClient(app)


def page_config(html: str) -> dict:
    m = re.search(r'<script type="application/json" id="roshni-config">(.*?)</script>', html,
                  re.S)
    assert m, html
    return json.loads(m.group(1))


def test_the_page_allows_script_from_the_hub_only_and_no_tiles_by_default():
    r = client().get("/")
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert "script-src 'self';" in csp and "img-src 'self' data: blob:;" in csp
    assert r.headers["cache-control"] == "no-cache"
    config = page_config(r.text)
    assert config["tiles"]["url"] is None
    assert config["timezone"] == "Asia/Karachi"
    assert re.fullmatch(r"/static/[0-9a-f]{12}", config["static"])
    assert f'src="{config["static"]}/js/app.js"' in r.text


def test_a_tile_server_is_allowed_for_images_and_its_attribution_cannot_end_the_script():
    settings = DashboardSettings(tile_url="https://{s}.tile.example.org/{z}/{x}/{y}.png",
                                 tile_attribution='</script><script>alert(1)</script>')
    r = client(settings).get("/")
    assert "img-src 'self' data: blob: https://*.tile.example.org;" in r.headers[
        "content-security-policy"]
    # as many script ends as the page without the attribution: the config's and app.js's
    assert r.text.count("</script>") == client().get("/").text.count("</script>") == 2
    assert page_config(r.text)["tiles"]["attribution"] == settings.tile_attribution


@pytest.mark.parametrize("url", ["ftp://tiles/{z}/{x}/{y}", "https://tiles.example.org/x.png",
                                 "javascript:alert(1)//{z}{x}{y}"])
def test_a_tile_url_must_be_http_with_z_x_and_y(url):
    with pytest.raises(ValidationError):
        DashboardSettings(tile_url=url)


def test_files_are_cached_for_a_year_under_their_hash_and_nothing_outside_is_served():
    c = client()
    version = pages.assets.version
    r = c.get(f"/static/{version}/js/app.js")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/javascript")
    assert r.headers["cache-control"] == pages.IMMUTABLE
    assert c.get(f"/static/{version}/vendor/leaflet/leaflet.js").status_code == 200
    assert c.get("/static/0ld0ld0ld0ld/js/app.js").headers["cache-control"] == "no-cache"
    for bad in ("../pages.py", "..%2Fpages.py", "js/../../pages.py", ".hidden", "js/"):
        assert c.get(f"/static/{version}/{bad}").status_code == 404, bad
