"""`GET /api/v1/areas/outlines`: the areas a user may see, each outlined around its
active lamp posts, as GeoJSON for the dashboard's map without tiles."""

from tests.hub.api.conftest import World


def test_a_committee_gets_the_outline_of_its_own_area_only(world: World):
    r = world.get("kiran", "/api/v1/areas/outlines")
    assert r.status_code == 200, r.text
    features = r.json()["features"]
    assert [f["properties"]["id"] for f in features] == ["korangi-5"]
    (k5,) = features
    assert k5["properties"]["name"] == "Korangi 5" and k5["properties"]["source"] == "posts"
    assert k5["properties"]["lamps"] >= 3
    ring = k5["geometry"]["coordinates"][0]
    assert ring[0] == ring[-1]
    lons, lats = [p[0] for p in ring], [p[1] for p in ring]
    # around its posts (24.831..24.839 N, 67.131..67.139 E), not beyond the area
    assert min(lats) < 24.8310 and max(lats) > 24.8390 and max(lats) < 24.85
    assert min(lons) < 67.1310 and max(lons) > 67.1390 and max(lons) < 67.15


def test_a_technician_sees_every_area_and_a_stranger_nothing(world: World):
    ids = {f["properties"]["id"] for f in world.get(
        "tariq", "/api/v1/areas/outlines").json()["features"]}
    assert {"korangi-5", "korangi-6", "malir-cantt"} <= ids
    assert world.get(None, "/api/v1/areas/outlines").status_code == 401
