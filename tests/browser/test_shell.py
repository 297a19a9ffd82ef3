"""The installable app's files as the hub serves them: the service worker at the root
(its scope is the whole dashboard) with this release's files to keep, checked on every
visit; the web app manifest."""

from __future__ import annotations

import json
import re

from tests.browser.test_pages import client, page_config


def test_the_service_worker_keeps_this_releases_shell_and_is_checked_on_every_visit():
    c = client()
    static = page_config(c.get("/").text)["static"]
    r = c.get("/sw.js")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/javascript")
    assert r.headers["cache-control"] == "no-cache"
    shell = json.loads(re.search(r"const SHELL = (\[.*?\]);", r.text).group(1))
    assert shell[0] == "/" and f"{static}/js/app.js" in shell and f"{static}/js/offline.js" in shell
    # every file it keeps is there (an install fails whole on one missing file), and the
    # map's library is not among them: only a map page needs it
    for url in shell[1:]:
        assert url.startswith(f"{static}/") and c.get(url).status_code == 200, url
    assert not [u for u in shell if "leaflet" in u or u.endswith(".geojson")]
    assert json.dumps(static.rsplit("/", 1)[1]) in r.text  # the release it belongs to


def test_the_manifest_makes_the_dashboard_installable():
    c = client()
    r = c.get("/manifest.webmanifest")
    assert r.headers["content-type"].startswith("application/manifest+json")
    m = r.json()
    assert (m["start_url"], m["scope"], m["display"]) == ("/", "/", "standalone")
    assert m["icons"] and c.get(m["icons"][0]["src"]).status_code == 200
    assert '<link rel="manifest" href="/manifest.webmanifest">' in c.get("/").text
