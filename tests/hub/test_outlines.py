"""An area's outline drawn around its lamp posts, for a map without tiles: every post is
inside with a margin, one post or a straight row still makes an area, and a post with
coordinates typed wrong does not stretch the area across the country."""

from pathlib import Path

from hub.api.areas import configured_outlines
from hub.outlines import hull, outline


def inside(point: tuple[float, float], ring: list[tuple[float, float]]) -> bool:
    x, y = point
    hit = False
    for (x1, y1), (x2, y2) in zip(ring, ring[1:], strict=False):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            hit = not hit
    return hit


def test_every_post_is_inside_its_areas_outline_with_a_margin():
    posts = [(67.1311, 24.8315), (67.1322, 24.8321), (67.1333, 24.8327), (67.1344, 24.8333)]
    ring = outline(posts)
    assert ring is not None and ring[0] == ring[-1]
    assert all(inside(p, ring) for p in posts)
    # 30 m beside the row is inside, 300 m is not
    assert inside((67.1322, 24.8321 + 30 / 111_320), ring)
    assert not inside((67.1322, 24.8321 + 300 / 111_320), ring)


def test_one_post_is_a_small_round_area_and_a_far_typo_is_left_out():
    (lon, lat) = (67.1311, 24.8315)
    ring = outline([(lon, lat)])
    assert ring is not None and len(ring) == 13 and inside((lon, lat), ring)
    # latitude and longitude swapped on one post of three
    ring = outline([(lon, lat), (lon + 0.001, lat), (lat, lon)])
    assert ring is not None and max(p[0] for p in ring) < lon + 0.01
    assert outline([]) is None and outline([(200.0, 95.0)]) is None


def test_hull_of_a_square_and_its_inner_point():
    assert sorted(hull([(0, 0), (1, 0), (1, 1), (0, 1), (0.5, 0.5)])) == [
        (0, 0), (0, 1), (1, 0), (1, 1)]


def test_a_configured_outline_is_taken_by_area_name_and_a_broken_file_is_ignored(
        tmp_path: Path):
    given = tmp_path / "areas.geojson"
    square = {"type": "Polygon", "coordinates": [[[67.1, 24.8], [67.2, 24.8], [67.2, 24.9],
                                                  [67.1, 24.8]]]}
    given.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", '
                     '"properties": {"area": "Korangi 5"}, "geometry": '
                     + str(square).replace("'", '"') + "}]}")
    assert configured_outlines(given) == {"korangi-5": square}
    broken = tmp_path / "broken.geojson"
    broken.write_text("{not json")
    assert configured_outlines(broken) == {}
    assert configured_outlines(tmp_path / "missing.geojson") == {}
    assert configured_outlines(None) == {}
