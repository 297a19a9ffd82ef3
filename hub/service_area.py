"""Where the city's lamp posts can stand: a bounding box in hub.toml (`[service_area]`,
Karachi by default). Coordinates outside it are refused wherever a node is placed (the
command line, CSV batches, the API), through `ServiceArea.check`: one post with swapped
coordinates would otherwise sit in the sea or another continent, and zoom every map of
the city out to the whole world."""

from __future__ import annotations

from pydantic import Field, model_validator

from protocol.settings import Section


class OutsideServiceArea(ValueError):
    """The message names the box, and a likely lat/lon swap."""


class ServiceArea(Section):
    # Karachi Division with its outskirts; set it to your city.
    south: float = Field(default=24.6, ge=-90, le=90)
    north: float = Field(default=25.7, ge=-90, le=90)
    west: float = Field(default=66.6, ge=-180, le=180)
    east: float = Field(default=67.7, ge=-180, le=180)

    @model_validator(mode="after")
    def _a_box(self) -> ServiceArea:
        if self.south >= self.north or self.west >= self.east:
            raise ValueError("south must be below north and west below east")
        return self

    def contains(self, lat: float, lon: float) -> bool:
        return self.south <= lat <= self.north and self.west <= lon <= self.east

    def check(self, lat: float, lon: float, *, swap_hint: str = "lat {lat}, lon {lon}"
              ) -> None:
        """Raise `OutsideServiceArea` unless (lat, lon) is in the box. `swap_hint` is how
        the caller's user would write the swapped pair (`--lat {lat} --lon {lon}`)."""
        if self.contains(lat, lon):
            return
        message = (f"lat {lat}, lon {lon} is outside the service area (lat {self.south} to "
                   f"{self.north}, lon {self.west} to {self.east}; [service_area] in hub.toml)")
        if self.contains(lon, lat):
            message += (": lat and lon look swapped; did you mean "
                        f"{swap_hint.format(lat=lon, lon=lat)}?")
        raise OutsideServiceArea(message)
