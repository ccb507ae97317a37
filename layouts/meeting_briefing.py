# ruff: noqa: E501  (the HTML/CSS template reads better unwrapped)
"""The one-page briefing of a meeting view as a self-contained HTML page (inline SVG map, no network),
which ``web/export.py`` prints to PDF or PNG in headless Chromium.

Pure: a :class:`indicators.briefing.View`, the regions and ``now`` in, a string out. Every piece of
text is escaped (``html.escape``); nothing upstream is ever markup. Sizes are in px derived from the
page height, so the same page renders at A4 (PDF) and at any PNG size.
"""

from __future__ import annotations

import datetime as dt
import html
import math

import numpy as np
import shapely

from geo.boundaries import Regions
from indicators.briefing import View
from indicators.compare import KPIS, RAMP, format_value, level_of
from layouts.i18n import CATALOGUES, t
from layouts.meeting_parts import CST, names, warning_line

#: geometry simplification for the map image (degrees, ~300 m)
SIMPLIFY = 0.003
TOP_RANKED = 13


def _frames(regions: Regions) -> dict[str, object]:
    return {"province": regions.province, "city": regions.cities, "county": regions.counties}


def map_svg(
    view: View, regions: Regions, width: float, height: float, labels: dict[int, str] | None = None
) -> str:
    """An SVG choropleth of the compared regions (the selected one outlined), fitted to ``width`` × ``height``."""
    frames = _frames(regions)
    shapes: list[tuple[int, shapely.Geometry]] = []
    for code, _ in view.peers or [(view.region, None)]:
        frame = frames[level_of(code)]
        hit = frame.loc[frame["adcode"] == code, "geometry"]
        if len(hit):
            shapes.append((code, shapely.simplify(hit.iloc[0], SIMPLIFY, preserve_topology=True)))
    if not shapes:
        return f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}"></svg>'
    west, south, east, north = shapely.union_all([g for _, g in shapes]).bounds
    kx = math.cos(math.radians((south + north) / 2))  # degrees of longitude are shorter
    pad = 0.03
    span_x, span_y = max((east - west) * kx, 1e-6), max(north - south, 1e-6)
    scale = min(width * (1 - 2 * pad) / span_x, height * (1 - 2 * pad) / span_y)
    ox = (width - span_x * scale) / 2
    oy = (height - span_y * scale) / 2

    def path(geom: shapely.Geometry) -> str:
        parts = []
        for poly in shapely.get_parts(geom):
            for ring in [poly.exterior, *poly.interiors]:
                xy = np.asarray(ring.coords)
                px = ox + (xy[:, 0] - west) * kx * scale
                py = oy + (north - xy[:, 1]) * scale
                pts = " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(px, py, strict=True))
                parts.append(f"M{pts}Z")
        return "".join(parts)

    body = []
    for code, geom in sorted(shapes, key=lambda s: s[0] == view.region):  # the selected one on top
        fill = view.colours.get(code, "#334155")
        sel = code == view.region
        stroke, w = ("#b45309", 3) if sel else ("#ffffff", 1)
        body.append(
            f'<path d="{path(geom)}" fill="{fill}" fill-opacity="0.85" stroke="{stroke}" stroke-width="{w}"/>'
        )
    size = height / 34
    for code, geom in shapes:  # region names on top of every shape
        name = (labels or {}).get(code)
        x0, _, x1, _ = geom.bounds
        if name and (x1 - x0) * kx * scale >= len(name) * size:  # only where the name fits
            p = geom.representative_point()
            x, y = ox + (p.x - west) * kx * scale, oy + (north - p.y) * scale
            body.append(
                f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size:.1f}" text-anchor="middle" fill="#0f172a" '
                f'stroke="#ffffff" stroke-width="{size / 5:.1f}" paint-order="stroke">{html.escape(name)}</text>'
            )
    shop = view.shop
    if shop is not None and shop.lon is not None:
        x, y = ox + (shop.lon - west) * kx * scale, oy + (north - shop.lat) * scale
        body.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{height / 60:.1f}" fill="#dc2626" stroke="#fff"/>')
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}">{"".join(body)}</svg>'
    )


def briefing_html(view: View, regions: Regions, lang: str, now_ms: int, width: int, height: int) -> str:
    """The briefing page, ``width`` × ``height`` CSS px (A4 landscape at 96 dpi is 1123 × 794)."""
    e = html.escape
    region_names = names(regions, lang)
    u = height / 100  # one "vh" of the page
    when = dt.datetime.fromtimestamp(now_ms / 1000, CST).strftime("%Y-%m-%d %H:%M")
    region = region_names.get(view.region, str(view.region))
    if view.shop is not None:
        region += " › " + str(view.shop.record.get("shop_name") or view.shop.licence_no)
    indicator = t(lang, f"meeting.ind.{view.indicator}")
    kpis = "".join(
        f'<div class="kpi"><div class="l">{e(t(lang, f"meeting.ind.{k}"))}</div>'
        f'<div class="v">{e(format_value(k, view.kpis.get(k), lang))}</div></div>'
        for k in KPIS
    )
    ranked = "".join(
        f"<tr{' class=sel' if c == view.region else ''}><td>{i + 1}</td><td>{e(region_names.get(c, str(c)))}</td>"
        f"<td>{e(format_value(view.indicator, v, lang))}</td></tr>"
        for i, (c, v) in enumerate(view.peers[:TOP_RANKED])
    )
    warnings = (
        "".join(
            f'<li class="w-{e(w["colour"])}">{e(region_names.get(int(w["region"]), str(w["region"])))} · '
            f"{e(warning_line(w, lang))}</li>"
            for w in view.warnings
        )
        or f"<li>{e(t(lang, 'meeting.warnings.none'))}</li>"
    )
    map_w, map_h = width * 0.56, height * 0.62
    svg = map_svg(view, regions, map_w, map_h, region_names)
    known = [v for _, v in view.peers if v is not None]
    legend = ""
    if known:
        swatches = "".join(f'<i style="background:{c}"></i>' for c in RAMP)
        lo, hi = (
            format_value(view.indicator, min(known), lang),
            format_value(view.indicator, max(known), lang),
        )
        legend = f'<div class="legend">{e(lo)} {swatches} {e(hi)}</div>'

    window = CATALOGUES[lang].get(f"meeting.window.{view.window}", str(view.window))
    return f"""<!doctype html><html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">
<style>
@page {{ size: {width}px {height}px; margin: 0; }}
* {{ box-sizing: border-box; }}
html, body {{ margin: 0; width: {width}px; height: {height}px; overflow: hidden; background: #fff; color: #0f172a;
  font-family: "Noto Sans CJK SC", "Noto Sans", sans-serif; font-size: {1.9 * u:.1f}px; }}
.page {{ width: {width}px; height: {height}px; padding: {2.4 * u:.1f}px {3 * u:.1f}px; display: flex;
  flex-direction: column; gap: {1.4 * u:.1f}px; }}
.head {{ display: flex; align-items: baseline; gap: {2 * u:.1f}px; border-bottom: {0.4 * u:.1f}px solid #1e3a8a;
  padding-bottom: {0.8 * u:.1f}px; }}
h1 {{ margin: 0; font-size: {3.8 * u:.1f}px; color: #1e3a8a; }}
.region {{ font-size: {2.8 * u:.1f}px; font-weight: 700; flex: 1; }}
.meta {{ color: #475569; font-size: {1.7 * u:.1f}px; text-align: right; }}
.kpis {{ display: grid; grid-template-columns: repeat(8, 1fr); gap: {1 * u:.1f}px; }}
.kpi {{ border: 1px solid #cbd5e1; border-radius: {0.8 * u:.1f}px; padding: {0.8 * u:.1f}px; background: #f1f5f9; }}
.kpi .l {{ font-size: {1.5 * u:.1f}px; color: #475569; white-space: nowrap; overflow: hidden; }}
.kpi .v {{ font-size: {3 * u:.1f}px; font-weight: 700; white-space: nowrap; }}
.body {{ flex: 1; min-height: 0; display: grid; grid-template-columns: 56% 1fr; gap: {2 * u:.1f}px; }}
.map h2, .side h2 {{ margin: 0 0 {0.6 * u:.1f}px; font-size: {2 * u:.1f}px; color: #1e3a8a; }}
.side {{ min-width: 0; overflow: hidden; }}
table {{ width: 100%; border-collapse: collapse; font-size: {1.7 * u:.1f}px; }}
td {{ padding: {0.25 * u:.1f}px {0.6 * u:.1f}px; border-bottom: 1px solid #e2e8f0; }}
td:last-child {{ text-align: right; }} tr.sel td {{ background: #fef3c7; font-weight: 700; }}
ul {{ margin: 0; padding-left: {2 * u:.1f}px; font-size: {1.6 * u:.1f}px; }}
li {{ margin-bottom: {0.3 * u:.1f}px; }} .w-red {{ color: #b91c1c; }} .w-orange {{ color: #c2410c; }}
.w-yellow {{ color: #a16207; }} .w-blue {{ color: #1d4ed8; }}
.legend {{ font-size: {1.5 * u:.1f}px; color: #475569; }}
.legend i {{ display: inline-block; width: {2.4 * u:.1f}px; height: {1.2 * u:.1f}px; vertical-align: middle; }}
.foot {{ color: #64748b; font-size: {1.4 * u:.1f}px; }}
</style></head><body><div class="page">
<div class="head"><h1>{e(t(lang, "meeting.briefing"))}</h1><div class="region">{e(region)}</div>
<div class="meta">{e(t(lang, "meeting.generated").format(time=when))}<br>{e(window)} · {e(indicator)}</div></div>
<div class="kpis">{kpis}</div>
<div class="body"><div class="map"><h2>{e(t(lang, "meeting.map.title").format(indicator=indicator))}</h2>{svg}{legend}</div>
<div class="side"><h2>{e(indicator)}</h2><table>{ranked}</table>
<h2 style="margin-top:{1.2 * u:.1f}px">{e(t(lang, "meeting.top"))}</h2><ul>{warnings}</ul></div></div>
<div class="foot">{e(t(lang, "meeting.credit"))} · {e(regions.credit)}</div>
</div></body></html>"""
