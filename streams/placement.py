"""Place events: a point is converted to WGS-84 and looked up; an address alone is placed by name."""

from __future__ import annotations

import functools

import numpy as np

from geo.address import AddressIndex
from geo.boundaries import Regions
from geo.coords import to_wgs84
from geo.index import RegionIndex
from streams.effects import Place
from streams.schema import Event


@functools.cache
def _has(model: type, name: str) -> bool:
    """Whether a payload model has the field (looked up once per model: ``model_fields`` is a
    property in pydantic, slow on a hot path, and getattr's fallback slower still)."""
    return name in model.model_fields


class Placer:
    """Vectorised placement of a batch of events of any source."""

    def __init__(self, regions: Regions, index: RegionIndex) -> None:
        self.index = index
        self.addresses = AddressIndex.from_regions(regions)

    def place(self, events: list[Event]) -> tuple[list[Place | None], list[str | None]]:
        """For each event its place (None when it has none, e.g. ``case.closed``) or an error reason."""
        places: list[Place | None] = [None] * len(events)
        errors: list[str | None] = [None] * len(events)
        with_point = [
            i for i, e in enumerate(events) if _has(type(e.payload), "point") and e.payload.point is not None
        ]
        if with_point:
            pts = [events[i].payload.point for i in with_point]
            lon = np.fromiter((p.lon for p in pts), float, len(pts))
            lat = np.fromiter((p.lat for p in pts), float, len(pts))
            crs = np.array([p.crs for p in pts])
            for name in np.unique(crs):  # one vectorised conversion per coordinate system
                sel = crs == name
                lon[sel], lat[sel] = to_wgs84(lon[sel], lat[sel], str(name))
            counties = self.index.lookup(lon, lat)
            cities = self.index.cities_of(counties)
            for j, i in enumerate(with_point):
                if counties[j] == 0:
                    errors[i] = f"data.point: ({lon[j]:.5f}, {lat[j]:.5f}) WGS-84 lies outside every county"
                else:
                    places[i] = Place(float(lon[j]), float(lat[j]), int(counties[j]), int(cities[j]), "point")
        for i, e in enumerate(events):
            if places[i] is not None or errors[i] is not None or not _has(type(e.payload), "address"):
                continue
            address = e.payload.address
            if address is None:
                continue
            county = self.addresses.county_of(address)
            if county == 0:
                errors[i] = "data.address: names no county of the province (and there is no point)"
                continue
            lon, lat = self.addresses.seats[county]
            places[i] = Place(lon, lat, county, self.index.chain(county)[1], "address")
        return places, errors
