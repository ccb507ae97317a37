"""``complaint.received``: reports to the 12313 line and its web / WeChat / letter / visit channels.

About :data:`PER_DAY` complaints a day over the province, split over counties by population, mostly
in the daytime. The text is assembled from :data:`TEMPLATES`; now and then it quotes a shop sign or a
chat group with ``< > & "`` in it, so every screen that shows upstream text must escape it.
Most complaints carry a point near a shop (the caller's location), the rest only an address.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np

from streams.sims import clock
from streams.sims.world import DailyPlans, Plan, World, concat, entry, event_id, take
from streams.simulator import CRS_MIX, ROADS, SURNAMES

SOURCE = "complaint"
PER_DAY = 120.0
CHANNELS = (["hotline_12313", "wechat", "web", "visit", "letter"], [0.55, 0.20, 0.15, 0.06, 0.04])
CATEGORIES = (
    ["counterfeit", "unlicensed_trade", "sale_to_minors", "price", "smuggled", "other"],
    [0.25, 0.20, 0.15, 0.15, 0.10, 0.15],
)
HOURLY = np.array(
    [0.1] * 7 + [0.6, 1.2, 1.5, 1.5, 1.3, 1.0, 1.2, 1.4, 1.4, 1.3, 1.1, 0.9, 0.8, 0.6, 0.4, 0.2, 0.1]
)
HOURLY = HOURLY / HOURLY.sum()
POINT_SHARE = 0.7
QUOTE_SHARE = 0.06
SHOPS = ["小卖部", "便利店", "烟酒店", "超市", "食杂店"]
#: category -> (templates, details); a template may use {road}, {house}, {shop} and {d} (a detail).
TEMPLATES = {
    "counterfeit": (
        [
            "{road}{house}号附近的{shop}疑似销售假冒卷烟，{d}。",
            "举报{road}一家{shop}卖假烟，{d}，请尽快查处。",
        ],
        ["包装印刷模糊", "价格明显低于市场价", "烟丝颜色发黑、味道刺鼻", "条盒封口有二次粘贴痕迹"],
    ),
    "unlicensed_trade": (
        [
            "{road}{house}号有一家{shop}没有办理烟草专卖零售许可证却在卖烟，{d}。",
            "{road}夜市摊位无证销售卷烟，{d}。",
        ],
        ["已经卖了好几个月", "晚上八点以后才摆出来", "店里看不到许可证"],
    ),
    "sale_to_minors": (
        ["{road}附近的{shop}向穿校服的学生卖烟，{d}看到好几次。", "{shop}经常把烟卖给中学生，{d}。"],
        ["放学时间", "最近一周", "店里也没有张贴不向未成年人售烟的标识"],
    ),
    "price": (
        ["{road}{house}号{shop}卷烟标价与实际收费不一致，{d}。", "{shop}卖烟不明码标价，{d}。"],
        ["一条多收了三十元", "要求搭售白酒", "熟客和外地人价格不一样"],
    ),
    "smuggled": (
        ["{road}的{shop}在卖没有中文标识的外烟，{d}。", "{shop}仓库里整箱存放走私烟，{d}。"],
        ["据说是从境外带进来的", "只卖给熟客", "晚上有面包车来送货"],
    ),
    "other": (
        ["{road}{house}号{shop}通过微信接单送烟上门，{d}。", "{shop}疑似违规销售电子烟，{d}。"],
        ["朋友圈天天发广告", "口味很多", "不看身份证"],
    ),
}
QUOTES = [
    '店门口贴着"<特价> 中华&玉溪 买二送一"的广告。',
    '微信群名叫"烟酒<批发>&团购"。',
    '店主说："查不到的 <放心> & 随便买"。',
]


class Complaints(DailyPlans):
    """The complaint stream, one :class:`Plan` per day (cached)."""

    def __init__(self, world: World, inject: Callable[[dt.date], dict[str, np.ndarray]]) -> None:
        self.w = world
        self.inject = inject
        self.rate = PER_DAY * world.pop / world.pop.sum()
        super().__init__()

    def _baseline(self, day: dt.date, rng: np.random.Generator) -> dict[str, np.ndarray]:
        w = self.w
        cpos = np.repeat(
            np.arange(len(w.codes)), rng.poisson(self.rate * (0.8 if day.weekday() >= 5 else 1.0))
        )
        m = cpos.size
        t = clock.midnight(day) + rng.choice(24, size=m, p=HOURLY) * 3600 + rng.integers(3600, size=m)
        lon, lat = w.places(cpos, 80.0, rng)
        return {
            "t": t,
            "cpos": cpos,
            "lon": lon,
            "lat": lat,
            "cat": rng.choice(len(CATEGORIES[0]), size=m, p=CATEGORIES[1]),
            "key": np.array([f"TS{day:%Y%m%d}{i:05d}" for i in range(m)], dtype=object),
        }

    def _plan(self, day: dt.date) -> Plan:
        w = self.w
        rng = w.rng(40, day.toordinal())
        cols = concat([self._baseline(day, rng), dict(self.inject(day))])
        if not cols:
            return Plan.empty(SOURCE)
        cols = take(cols, np.argsort(cols["t"], kind="stable"))
        m = cols["t"].size
        r2 = w.rng(41, day.toordinal())
        channel = r2.choice(len(CHANNELS[0]), size=m, p=CHANNELS[1])
        hour = (cols["t"] + 8 * 3600) % clock.DAY // 3600
        night = (hour < 8) | (hour >= 20)
        channel = np.where(night & (channel != 1) & (channel != 2), r2.choice([1, 2], size=m), channel)
        has_point = r2.random(m) < POINT_SHARE
        crs = r2.choice(3, size=m, p=CRS_MIX[1])
        x, y = w.sent(cols["lon"], cols["lat"], crs)
        pick = r2.integers(1 << 20, size=(m, 6))
        quote = r2.random(m) < QUOTE_SHARE

        def make(i: int) -> dict:
            cat = CATEGORIES[0][int(cols["cat"][i])]
            road, house, tpl, shop, det, q = (int(v) for v in pick[i])
            options, details = TEMPLATES[cat]
            text = options[tpl % len(options)].format(
                road=ROADS[road % len(ROADS)],
                house=house % 300 + 1,
                shop=f"{SURNAMES[shop % len(SURNAMES)]}记{SHOPS[shop % len(SHOPS)]}",
                d=details[det % len(details)],
            )
            if quote[i]:
                text += QUOTES[q % len(QUOTES)]
            data: dict = {
                "complaint_id": cols["key"][i],
                "channel": CHANNELS[0][channel[i]],
                "category": cat,
                "text": text,
            }
            if has_point[i]:
                data["point"] = w.point(x[i], y[i], crs[i])
            else:
                county = int(w.codes[cols["cpos"][i]])
                data["address"] = w.address(county, road, house % 300 + 1, "号附近")
            return entry(
                event_id(SOURCE, w.seed, cols["key"][i]), "complaint.received", clock.iso(cols["t"][i]), data
            )

        return Plan(SOURCE, cols["t"].astype(np.float64), make)
