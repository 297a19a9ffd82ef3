"""Unsafe spots (DESIGN.md §6): which dark lamps put the most people at risk.

- `SpotScorer`: the ingest Stage that keeps `spot_scores` live as readings are stored.
- `current_score(conn, node_id)`: a node's latest weighted score (ticket priority).
- `ranking(conn, district=, area=, night=, limit=, offset=)`: the ranking, with places.
- `SpotSettings`: the `[spots]` settings section.
"""

from hub.core.spots_settings import Site, SpotSettings
from hub.spots.queries import current_score, latest_night, ranking, rescore
from hub.spots.scorer import SpotScorer
from hub.spots.sun import NightClock, night_of

__all__ = ["NightClock", "Site", "SpotScorer", "SpotSettings", "current_score",
           "latest_night", "night_of", "ranking", "rescore"]
