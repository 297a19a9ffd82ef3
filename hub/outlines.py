"""An area's outline from where its lamp posts stand, for a map without tiles: the convex
hull of its posts, each taken as a small circle (the margin), so one post or a row of
posts is still an area. Posts far from the others (coordinates typed wrong) are left out.
Pure Python: a few hundred points per area need no geometry library."""

from __future__ import annotations

import math
from collections.abc import Iterable

Point = tuple[float, float]  # (lon, lat)

MARGIN_M = 60.0
# Posts farther than this from the area's median post are taken for typing mistakes.
NEAR_DEG = 0.05
_CIRCLE = 12
_M_PER_DEG = 111_320.0


def hull(points: Iterable[Point]) -> list[Point]:
    """The convex hull, counter-clockwise, without repeating the first point (Andrew's
    monotone chain)."""
    pts = sorted(set(points))
    if len(pts) <= 2:
        return pts

    def cross(o: Point, a: Point, b: Point) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list[Point] = []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    upper: list[Point] = []
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return lower[:-1] + upper[:-1]


def near(points: list[Point], max_deg: float = NEAR_DEG) -> list[Point]:
    """The points within `max_deg` of the median point (each axis)."""
    if not points:
        return []
    mlon = sorted(p[0] for p in points)[len(points) // 2]
    mlat = sorted(p[1] for p in points)[len(points) // 2]
    return [p for p in points if abs(p[0] - mlon) <= max_deg and abs(p[1] - mlat) <= max_deg]


def outline(points: list[Point], margin_m: float = MARGIN_M) -> list[Point] | None:
    """A closed ring (GeoJSON order: lon, lat; last point = first) around the posts, or
    None without any post with valid coordinates."""
    valid = [(lon, lat) for lon, lat in points
             if math.isfinite(lon) and math.isfinite(lat) and abs(lat) <= 90 and abs(lon) <= 180]
    kept = near(valid)
    if not kept:
        return None
    around = []
    for lon, lat in kept:
        dlat = margin_m / _M_PER_DEG
        dlon = margin_m / (_M_PER_DEG * max(0.01, math.cos(math.radians(lat))))
        for i in range(_CIRCLE):
            a = 2 * math.pi * i / _CIRCLE
            around.append((round(lon + dlon * math.cos(a), 6), round(lat + dlat * math.sin(a), 6)))
    ring = hull(around)
    return [*ring, ring[0]]
