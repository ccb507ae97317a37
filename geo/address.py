"""Place an address with no point by the region names in its text (province / city / county).

"江苏省南京市玄武区中山路1号" → 320102. County names repeat across cities (鼓楼区 is in Nanjing and in
Xuzhou), so a city named in the text narrows the counties first. The point given to such an event is
its county's seat: good enough for counts per region, flagged as approximate by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from geo.boundaries import Regions

_SUFFIXES = ("自治县", "市", "区", "县")


def _short(name: str) -> str:
    """南京市 → 南京, 玄武区 → 玄武; names that would shrink below two characters stay whole."""
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return name


@dataclass(frozen=True)
class AddressIndex:
    """Region names of a province, ready for matching in address text."""

    cities: tuple[tuple[str, int], ...]  # (name or short name, adcode), longest names first
    counties: tuple[tuple[str, int, int], ...]  # (name or short name, adcode, city adcode)
    seats: dict[int, tuple[float, float]]
    _cache: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_regions(cls, regions: Regions) -> AddressIndex:
        """Build the name tables from the loaded regions."""
        cities = {
            (n, int(a))
            for a, name in zip(regions.cities["adcode"], regions.cities["name"], strict=True)
            for n in {name, _short(name)}
        }
        counties = set()
        seats = {}
        for row in regions.counties.itertuples():
            for n in {row.name, _short(row.name)}:
                counties.add((n, int(row.adcode), int(row.parent_adcode)))
            seats[int(row.adcode)] = (float(row.seat_lon), float(row.seat_lat))
        by_length = lambda t: (-len(t[0]), t[1])  # noqa: E731 - longest name wins
        return cls(tuple(sorted(cities, key=by_length)), tuple(sorted(counties, key=by_length)), seats)

    def county_of(self, address: str) -> int:
        """The county adcode named by ``address``, or 0 when it names none unambiguously."""
        found = self._cache.get(address)
        if found is None:
            found = self._cache[address] = self._match(address)
            if len(self._cache) > 20_000:  # complaint lines repeat addresses; keep the cache bounded
                self._cache.clear()
        return found

    def _match(self, address: str) -> int:
        city = next((code for name, code in self.cities if name in address), 0)
        first: dict[int, int] = {}
        for name, code, parent in self.counties:
            at = address.find(name)
            if at >= 0 and (not city or parent == city):
                first[code] = min(at, first.get(code, at))
        ranked = sorted(first.items(), key=lambda item: item[1])
        if not ranked or (len(ranked) > 1 and ranked[0][1] == ranked[1][1]):
            return 0  # no county named, or two counties of the same name in different cities
        return ranked[0][0]
