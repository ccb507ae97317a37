"""What the meeting screen and its exports show for one selection, read with the user's scope checked.

:class:`Meeting` is built once per web process; :meth:`Meeting.view` answers "this user, this region
(or shop), this window, this indicator" with everything both the screen (``callbacks/meeting.py``)
and the PNG / PDF briefing (``web/export.py``) need. Every read starts with ``require_view``: a
selection outside the user's scope raises :class:`core.auth.Forbidden`, whatever the browser sent.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from dataclasses import dataclass, field

import redis

from alerts.store import list_open
from core.auth import Forbidden, User, can_view, require_view
from geo.boundaries import Regions
from indicators.compare import INDICATORS, KPIS, breadcrumb, colours, level_of, peers, ranking
from indicators.jobs import read_indicators
from indicators.shop import Shop, read_shop
from indicators.trends import DAILY, FALLBACK, DayReader, daily_series, day_list, source_of

LICENCE_NO = re.compile(r"^[0-9A-Za-z-]{6,40}$")
TOP_WARNINGS = 5
TREND_DAYS = (7, 30, 90)


@dataclass(frozen=True)
class Selection:
    """What the leader has drilled down to: a region, and maybe one shop in it."""

    region: int
    shop: str | None = None

    @classmethod
    def parse(cls, data: object, fallback: int) -> Selection:
        """From the browser's store (untrusted): bad shapes give ``fallback`` (the user's scope)."""
        if not isinstance(data, dict):
            return cls(fallback)
        region, shop = data.get("region"), data.get("shop")
        if isinstance(region, str) and region.isdigit():
            region = int(region)
        if not isinstance(region, int) or isinstance(region, bool) or not 100000 <= region <= 999999:
            return cls(fallback)
        ok_shop = isinstance(shop, str) and LICENCE_NO.match(shop)
        return cls(region, shop if ok_shop else None)

    def data(self) -> dict:
        """The store's form."""
        return {"region": self.region, "shop": self.shop}


@dataclass
class View:
    """One selection as the user may see it."""

    region: int
    window: int
    indicator: str
    crumbs: list[int]
    kpis: dict[str, float | None]
    peers: list[tuple[int, float | None]]
    colours: dict[int, str]
    warnings: list[dict]
    version: int
    shop: Shop | None = None
    values: dict[int, dict] = field(default_factory=dict)

    @property
    def level(self) -> str:
        return level_of(self.region)


class Meeting:
    """Reads for the meeting screen and the briefing; one per web process (thread-safe)."""

    def __init__(self, r: redis.Redis, regions: Regions, windows: tuple[int, ...]) -> None:
        self.r = r
        self.regions = regions
        self.windows = tuple(windows)
        self.cities = [int(a) for a in regions.cities["adcode"]]
        self.counties = [int(a) for a in regions.counties["adcode"]]
        self.population = {
            int(a): int(p)
            for f in (regions.province, regions.cities, regions.counties)
            for a, p in zip(f["adcode"], f["pop2020"], strict=True)
        }
        self.known = set(self.population)
        self.days = DayReader()

    def check(self, user: User | None, sel: Selection, window: int, indicator: str) -> None:
        """Raise :class:`Forbidden` / ValueError unless the user may see this selection as asked."""
        require_view(user, sel.region)
        if sel.region not in self.known:
            raise ValueError(f"unknown region {sel.region}")
        if window not in self.windows:
            raise ValueError(f"unknown window {window}")
        if indicator not in INDICATORS:
            raise ValueError(f"unknown indicator {indicator}")

    def shop(self, user: User | None, licence_no: str) -> Shop | None:
        """The shop, if the user may see the county it is placed in (else :class:`Forbidden`)."""
        visible = list_open(self.r, user.scope if user else None, limit=500) if user else []
        shop = read_shop(self.r, licence_no, visible)
        if shop is None:
            return None
        if shop.county is None or not can_view(user, shop.county):
            raise Forbidden(f"licence {licence_no} is outside the scope of user {user.name if user else '-'}")
        return shop

    def view(self, user: User | None, sel: Selection, window: int, indicator: str) -> View:
        """Everything shown for ``sel``; the region of a shop is the county it is placed in."""
        self.check(user, sel, window, indicator)
        shop = self.shop(user, sel.shop) if sel.shop else None
        region = shop.county if shop is not None and shop.county is not None else sel.region
        require_view(user, region)
        codes = [c for c in peers(region, self.cities, self.counties) if can_view(user, c)]
        version, values = read_indicators(self.r, window, [region, *codes])
        ranked = ranking(values, codes, indicator)
        mine = values.get(region, {})
        return View(
            region=region, window=window, indicator=indicator,
            crumbs=breadcrumb(region, user.scope) if user else [region],
            kpis={k: mine.get(k) for k in KPIS},
            peers=ranked, colours=colours(dict(ranked)),
            warnings=list_open(self.r, region, limit=TOP_WARNINGS), version=version, shop=shop, values=values,
        )  # fmt: skip

    def trend(
        self, user: User | None, region: int, indicator: str, days: int, now: float | None = None
    ) -> tuple[str, list[int], list[float | None]]:
        """(indicator shown, days, values): the daily series of ``indicator`` in ``region`` over the
        last ``days`` days, or of :data:`FALLBACK` when it has no daily series."""
        require_view(user, region)
        if days not in TREND_DAYS:
            raise ValueError(f"trend over {days} days: choose one of {TREND_DAYS}")
        shown = indicator if indicator in DAILY else FALLBACK
        now = time.time() if now is None else now
        wanted = day_list(dt.datetime.fromtimestamp(now, dt.UTC), days)
        counters = self.days.read(self.r, source_of(shown), wanted, now)
        return shown, wanted, daily_series(counters, shown, region, wanted, self.population.get(region, 0))
