"""The in-memory tables the indicator maths works on: regions, counter fields and day × field counts.

Pure data structures (no Redis, no clock). ``indicators/reader.py`` fills them from Redis; tests build
them from literal rows. Counters are kept as a dense day × field matrix because every window is a
contiguous run of days: a window's totals are one ``matrix[rows].sum(axis=0)``, whatever the number of
counters, which is what keeps an incremental update within its time budget.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

I64 = np.int64


@dataclass(frozen=True)
class Regions:
    """The province, its cities and counties (sorted adcodes) and their 2020 census population.

    Indicator vectors are laid out as ``[province, *cities, *counties]`` (:attr:`adcodes`).
    """

    province: int
    cities: np.ndarray
    counties: np.ndarray
    population: Mapping[int, int]

    @classmethod
    def from_divisions(cls, table: pd.DataFrame, province: int) -> Regions:
        """From the divisions table (columns adcode, level, parent_adcode, pop2020_census).

        The province's population is the sum of its cities' (the table has no province row).
        """
        cities = table.loc[table["level"] == "city"]
        counties = table.loc[table["level"] == "county"]
        prefix = province // 10000
        cities = cities.loc[cities["adcode"] // 10000 == prefix]
        counties = counties.loc[counties["adcode"] // 10000 == prefix]
        pop = {int(a): int(p) for a, p in zip(table["adcode"], table["pop2020_census"], strict=True)}
        pop[province] = int(cities["pop2020_census"].sum())
        return cls(
            province,
            np.sort(cities["adcode"].to_numpy(I64)),
            np.sort(counties["adcode"].to_numpy(I64)),
            pop,
        )

    @property
    def adcodes(self) -> list[int]:
        """Every region in vector order: the province, the cities, the counties."""
        return [self.province, *map(int, self.cities), *map(int, self.counties)]

    @property
    def size(self) -> int:
        return 1 + len(self.cities) + len(self.counties)

    def locate(self, adcode: np.ndarray) -> Location:
        """Where each adcode (of a county, normally) falls: county index, city index, in the province."""
        adcode = np.asarray(adcode, dtype=I64)
        return Location(
            _index(self.counties, adcode),
            _index(self.cities, adcode // 100 * 100),
            adcode // 10000 == self.province // 10000,
        )


def _index(sorted_codes: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Position of each code in ``sorted_codes``, -1 where absent."""
    if not len(sorted_codes):
        return np.full(len(codes), -1, dtype=I64)
    pos = np.searchsorted(sorted_codes, codes).clip(0, len(sorted_codes) - 1)
    return np.where(sorted_codes[pos] == codes, pos, -1)


@dataclass(frozen=True)
class Location:
    """Per counter field: index of its county (-1: not a county of the province), of its city, and
    whether it lies in the province at all."""

    county: np.ndarray
    city: np.ndarray
    province: np.ndarray

    def subset(self, rows: np.ndarray) -> Location:
        """The locations of the fields at ``rows`` (an index array or mask)."""
        return Location(self.county[rows], self.city[rows], self.province[rows])


def rollup(
    regions: Regions, where: Location, values: np.ndarray, mask: np.ndarray | None = None
) -> np.ndarray:
    """Sum per-field ``values`` (where ``mask``) into a vector over every region (int64).

    A field counts in its county, its city and the province; one naming an adcode that is not a county
    of the province still counts in its city (first four digits) and the province when those match.
    """
    values = np.asarray(values, dtype=np.float64)
    if mask is not None:
        values = np.where(mask, values, 0.0)
    nc, nk = len(regions.cities), len(regions.counties)
    out = np.zeros(regions.size, dtype=I64)
    out[0] = int(values[where.province].sum())
    ok = where.city >= 0
    out[1 : 1 + nc] = np.bincount(where.city[ok], values[ok], nc).round().astype(I64)
    ok = where.county >= 0
    out[1 + nc :] = np.bincount(where.county[ok], values[ok], nk).round().astype(I64)
    return out


def rollup_by(
    regions: Regions, where: Location, values: np.ndarray, group: np.ndarray, n_groups: int
) -> np.ndarray:
    """Like :func:`rollup` for every group at once (e.g. every kind of a counter): an
    ``(n_groups, regions)`` matrix from three bincounts instead of three per group. Fields with a
    negative group are left out."""
    values = np.asarray(values, dtype=np.float64)
    nc, nk, size = len(regions.cities), len(regions.counties), regions.size
    out = np.zeros((n_groups, size), dtype=I64)
    ok = (group >= 0) & where.province
    out[:, 0] = np.bincount(group[ok], values[ok], n_groups).round().astype(I64)
    ok = (group >= 0) & (where.city >= 0)
    cells = np.bincount(group[ok] * nc + where.city[ok], values[ok], n_groups * nc)
    out[:, 1 : 1 + nc] = cells.reshape(n_groups, nc).round().astype(I64)
    ok = (group >= 0) & (where.county >= 0)
    cells = np.bincount(group[ok] * nk + where.county[ok], values[ok], n_groups * nk)
    out[:, 1 + nc :] = cells.reshape(n_groups, nk).round().astype(I64)
    return out


class Fields:
    """Interned counter field names of one source, parsed once; ids never change, the table only grows.

    ``scan`` fields are ``<delivery county>><scan county>`` → columns ``a`` (delivery), ``b`` (scan);
    the others are ``<county>:<kind>`` → ``a`` (county), ``kind`` (an id into :attr:`kinds`). A field
    that does not parse gets adcode 0, which lies in no region, so it is carried but never counted.
    """

    def __init__(self, source: str) -> None:
        self.source = source
        self.ids: dict[bytes, int] = {}
        self.kinds: list[str] = []
        self._kind_ids: dict[str, int] = {}
        self._a: list[int] = []
        self._b: list[int] = []
        self._cache: tuple[int, tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None
        self._where: tuple[Regions, int, Location, Location | None] | None = None
        self._rank: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.ids)

    def kind_id(self, kind: str) -> int:
        """Id of a kind name (``ok``, ``issued``, ``value_cny:smuggled`` …), created on first use."""
        if kind not in self._kind_ids:
            self._kind_ids[kind] = len(self.kinds)
            self.kinds.append(kind)
        return self._kind_ids[kind]

    def id(self, name: bytes | str) -> int:
        """The id of a field name, interning and parsing it on first sight."""
        key = name.encode() if isinstance(name, str) else name
        found = self.ids.get(key)
        if found is not None:
            return found
        text = key.decode("utf-8", "replace")
        a, b = 0, -1
        try:
            if self.source == "scan":
                left, right = text.split(">", 1)
                a, b = int(left), int(right)
            else:
                county, kind = text.split(":", 1)
                a, b = int(county), self.kind_id(kind)
        except ValueError:
            a, b = 0, -1
        self._a.append(a)
        self._b.append(b)
        self.ids[key] = len(self.ids)
        return self.ids[key]

    def columns(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(``a``, ``b`` or ``kind``, field id) as arrays, rebuilt only after the table grew."""
        if self._cache is None or self._cache[0] != len(self._a):
            n = len(self._a)
            self._cache = (n, (np.array(self._a, dtype=I64), np.array(self._b, dtype=I64), np.arange(n)))
        return self._cache[1]

    def pair_rank(self) -> np.ndarray:
        """Each field's rank in (``a``, ``b``) order: a tie-break that does not depend on arrival."""
        n = len(self._a)
        if self._rank is None or len(self._rank) != n:
            a, b, _ = self.columns()
            self._rank = np.empty(n, dtype=I64)
            self._rank[np.lexsort((b, a))] = np.arange(n)
        return self._rank

    def located(self, regions: Regions) -> tuple[Location, Location | None]:
        """Where column ``a`` (and, for scans, ``b``) lies in ``regions``; cached until the table grows,
        so a worker locates each field once, not at every run."""
        n = len(self._a)
        if self._where is None or self._where[0] is not regions or self._where[1] != n:
            a, b, _ = self.columns()
            where_b = regions.locate(b) if self.source == "scan" else None
            self._where = (regions, n, regions.locate(a), where_b)
        return self._where[2], self._where[3]

    def parse_day(self, counters: Mapping[bytes | str, bytes | str | int]) -> tuple[np.ndarray, np.ndarray]:
        """One day's hash (field → count) as (field ids, counts)."""
        ids = list(map(self.ids.get, counters))  # the usual case: every field seen before
        if None in ids:
            ids = [self.id(k) for k in counters]
        counts = np.array(list(counters.values()))
        if counts.dtype.kind in "SU":  # Redis replies: parse the digits in C, not one int() each
            counts = counts.astype(I64)
        return np.array(ids, dtype=I64), counts.astype(I64, copy=False)


@dataclass
class Counts:
    """Counters of one source: ``matrix[i, f]`` = count of field ``f`` on day ``days[i]`` (YYYYMMDD)."""

    fields: Fields
    days: np.ndarray
    matrix: np.ndarray = field(repr=False)
    _suffix: dict[int, np.ndarray] = field(default_factory=dict, repr=False)

    @classmethod
    def from_days(cls, fields: Fields, days: Mapping[int, tuple[np.ndarray, np.ndarray]]) -> Counts:
        """From parsed days (day → (field ids, counts)); a field interned after a day was read is 0 there."""
        order = sorted(days)
        matrix = np.zeros((len(order), len(fields)), dtype=I64)
        for row, day in enumerate(order):
            ids, counts = days[day]
            matrix[row, ids] = counts
        return cls(fields, np.array(order, dtype=I64), matrix)

    @classmethod
    def from_rows(cls, source: str, rows: Iterable[tuple[int, str, int]]) -> Counts:
        """From (day, field, count) rows, e.g. ``(20261121, "320102:ok", 3)`` (tests, small tools)."""
        fields = Fields(source)
        per_day: dict[int, dict[str, int]] = {}
        for day, name, n in rows:
            per_day.setdefault(int(day), {})
            per_day[int(day)][name] = per_day[int(day)].get(name, 0) + int(n)
        return cls.from_days(fields, {d: fields.parse_day(c) for d, c in per_day.items()})

    def totals(self, first_day: int) -> np.ndarray:
        """Per field, the sum over the days from ``first_day`` on (a window).

        Days are sorted, so a window is a suffix of rows; nested windows reuse the sum of the nearest
        shorter one already asked for, so the four windows together read each row once.
        """
        width = len(self.fields)
        start = int(np.searchsorted(self.days, first_day))
        if start not in self._suffix:
            shorter = [s for s in self._suffix if s > start]
            if shorter:
                nearest = min(shorter)
                self._suffix[start] = self._suffix[nearest] + self.matrix[start:nearest].sum(axis=0)
            else:
                self._suffix[start] = self.matrix[start:].sum(axis=0)
        total = self._suffix[start]
        if len(total) < width:  # fields interned after this matrix was built count 0
            total = np.concatenate([total, np.zeros(width - len(total), dtype=I64)])
        return total
