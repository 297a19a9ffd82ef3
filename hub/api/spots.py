"""`GET /api/v1/spots`: the unsafe-spot ranking of one night (hub.spots.ranking), within
the user's scope."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from hub.api.deps import ConnDep, PageDep, SpotsRead
from hub.api.schemas import Page, Spot
from hub.spots import latest_night, ranking

router = APIRouter(prefix="/spots", tags=["spots"])


@router.get("", response_model=Page[Spot])
def read_spots(scope: SpotsRead, conn: ConnDep, page: PageDep,
               district: str | None = None, area: str | None = None,
               night: Annotated[str | None, Query(
                   pattern=r"^\d{4}-\d{2}-\d{2}$",
                   description="the evening's local date; default the latest scored")] = None
               ) -> Page[Spot]:
    """Most unsafe first: dark minutes weighted by the people passing, sites and incidents."""
    place = scope.place(district, area)
    if place is None:
        return Page(data=[], count=0)
    if place.areas is None or len(place.areas) == 1:
        area_id = None if place.areas is None else place.areas[0]
        rows, count = ranking(conn, district=place.district, area=area_id, night=night,
                              limit=page.limit, offset=page.offset)
        return Page(data=[Spot(**r) for r in rows], count=count)
    # A committee with several areas: one ranking per area, merged in the same order.
    if night is None:
        nights = [n for a in place.areas
                  if (n := latest_night(conn, district=place.district, area=a))]
        if not nights:
            return Page(data=[], count=0)
        night = max(nights)
    merged, count = [], 0
    for a in place.areas:
        rows, n = ranking(conn, district=place.district, area=a, night=night,
                          limit=page.offset + page.limit, offset=0)
        merged += rows
        count += n
    merged.sort(key=lambda r: (-r["score"], -r["dark_minutes"], r["node"]))
    window = merged[page.offset:page.offset + page.limit]
    return Page(data=[Spot(**{**r, "rank": page.offset + i})
                      for i, r in enumerate(window, start=1)], count=count)
