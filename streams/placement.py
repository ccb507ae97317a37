"""Place events: a point is converted to WGS-84 and looked up; an address alone is placed by name.

Everything per batch is vectorised (one coordinate conversion per system, one county lookup, the
city of every county from a dict); the per-event Python left is building the results. H3 cells of
licence points: the finest resolution from h3, the coarser ones by the index's bit layout (a parent
is the same index with the resolution field lowered and the finer digits set to 7), the same
strings as ``h3.cell_to_parent`` at a fraction of the cost (tests/unit/test_placement.py).
"""

from __future__ import annotations

import h3.api.basic_int as h3int
import numpy as np

from geo.address import AddressIndex
from geo.boundaries import Regions
from geo.coords import to_wgs84
from geo.index import RegionIndex
from streams.effects import Place
from streams.schema import Event

#: payload model → (has a point field, has an address field), filled on first sight: ``model_fields``
#: is a property in pydantic, slow on a hot path, and getattr's fallback slower still
_FIELDS: dict[type, tuple[bool, bool]] = {}
_RES_SHIFT, _RES_MASK = 52, 0xF << 52


def fields_of(model: type) -> tuple[bool, bool]:
    """(has a point field, has an address field) of a payload model."""
    found = _FIELDS.get(model)
    if found is None:
        found = _FIELDS[model] = ("point" in model.model_fields, "address" in model.model_fields)
    return found


def outside(lon: float, lat: float) -> str:
    """The dead-letter reason of a point outside the province."""
    return f"data.point: ({lon:.5f}, {lat:.5f}) WGS-84 lies outside every county"


def locate(index: RegionIndex, points: list) -> tuple[list[float], list[float], list[int], list[int]]:
    """WGS-84 lon, lat, county (0 outside the province) and city of payload points, as Python lists."""
    lon = np.array([p.lon for p in points], dtype=float)
    lat = np.array([p.lat for p in points], dtype=float)
    systems = [p.crs for p in points]
    if any(s != "wgs84" for s in systems):
        crs = np.array(systems)
        for name in set(systems) - {"wgs84"}:  # one vectorised conversion per coordinate system
            sel = crs == name
            lon[sel], lat[sel] = to_wgs84(lon[sel], lat[sel], name)
    counties = index.lookup(lon, lat)
    return lon.tolist(), lat.tolist(), counties.tolist(), index.cities_of(counties).tolist()


def h3_cells(lon: list[float], lat: list[float], resolutions: tuple[int, ...]) -> list[list[str]]:
    """Per point its H3 cells at ``resolutions`` (ascending), as h3's strings."""
    finest = resolutions[-1]
    # per coarser resolution: the bits that set its resolution field and its finer digits to 7
    parents = [(r << _RES_SHIFT) | ((1 << (3 * (15 - r))) - 1) for r in resolutions[:-1]]
    keep = ~_RES_MASK
    out = []
    for x, y in zip(lon, lat, strict=True):
        cell = h3int.latlng_to_cell(y, x, finest)
        base = cell & keep
        out.append([*(f"{base | p:x}" for p in parents), f"{cell:x}"])
    return out


class Placer:
    """Vectorised placement of a batch of events of any source."""

    def __init__(self, regions: Regions, index: RegionIndex) -> None:
        self.index = index
        self.addresses = AddressIndex.from_regions(regions)
        codes = regions.counties["adcode"].to_numpy(dtype=np.int64)
        self.city_of = dict(zip(codes.tolist(), index.cities_of(codes).tolist(), strict=True))

    def place(self, events: list[Event]) -> tuple[list[Place | None], list[str | None]]:
        """For each event its place (None when it has none, e.g. ``case.closed``) or an error reason."""
        places: list[Place | None] = [None] * len(events)
        errors: list[str | None] = [None] * len(events)
        with_point, points, by_address = [], [], []
        for i, e in enumerate(events):
            p = e.payload
            has_point, has_address = fields_of(type(p))
            if has_point and p.point is not None:
                with_point.append(i)
                points.append(p.point)
            elif has_address and p.address is not None:
                by_address.append(i)
        if with_point:
            lon, lat, counties, cities = locate(self.index, points)
            for i, x, y, county, city in zip(with_point, lon, lat, counties, cities, strict=True):
                if county == 0:
                    errors[i] = outside(x, y)
                else:
                    places[i] = Place(x, y, county, city, "point")
        for i in by_address:
            county = self.addresses.county_of(events[i].payload.address)
            if county == 0:
                errors[i] = "data.address: names no county of the province (and there is no point)"
                continue
            x, y = self.addresses.seats[county]
            places[i] = Place(x, y, county, self.city_of[county], "address")
        return places, errors
