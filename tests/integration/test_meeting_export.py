"""The meeting export: a one-page PDF briefing whose text holds the region, the KPI values and the top
warnings (Chinese included), and a PNG that decodes at the size asked for; both made offline by the
installed Chromium, both scope-checked (tests/integration/test_meeting_scope.py checks the refusals).
"""

from __future__ import annotations

import io
import struct
import zlib

from indicators.briefing import Meeting, Selection
from indicators.compare import KPIS, format_value
from layouts.meeting_briefing import briefing_html
from tests.integration.test_meeting_scope import NANJING, client_for, now, web  # noqa: F401 - fixtures
from web.export import render

_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # PNG colour type → samples per pixel


def decode_png(data: bytes) -> tuple[int, int, int]:
    """(width, height, bytes of raw scanlines) after inflating every IDAT chunk; checks the CRCs."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, header = 8, b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(kind + body) == crc, kind
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour, *_ = header
    raw = zlib.decompress(idat)
    assert len(raw) == height * (1 + width * _CHANNELS[colour] * depth // 8)
    return width, height, len(raw)


def test_pdf_briefing_is_one_page_with_region_kpis_and_warnings(web):  # noqa: F811
    from pypdf import PdfReader

    nj = client_for(web, "nj")
    resp = nj.get(f"/api/v1/meeting/export.pdf?region={NANJING}&window=30&indicator=inspections")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert "attachment" in resp.headers["Content-Disposition"]
    pdf = PdfReader(io.BytesIO(resp.data))
    assert len(pdf.pages) == 1
    text = pdf.pages[0].extract_text()
    view = Meeting(web.redis, web.regions, (1, 7, 30, 90)).view(
        _leader(), Selection(NANJING), 30, "inspections"
    )
    assert "南京市" in text and "烟草专卖市场监管简报" in text
    for k in KPIS:
        assert format_value(k, view.kpis[k]) in text, k
    assert view.kpis["inspections"] and view.kpis["inspections"] > 0
    assert "案件聚集" in text  # the red warning of 玄武区
    assert "姑苏" not in text and "苏州" not in text


def test_png_export_decodes_at_the_size_asked(web):  # noqa: F811
    nj = client_for(web, "nj")
    resp = nj.get("/api/v1/meeting/export.png?region=320102&window=7&indicator=risk&width=1600&height=900")
    assert resp.status_code == 200 and resp.mimetype == "image/png"
    assert decode_png(resp.data)[:2] == (1600, 900)
    assert nj.get("/api/v1/meeting/export.png?region=320102&width=99999").status_code == 400
    assert nj.get("/api/v1/meeting/export.gif?region=320102").status_code == 404


def test_briefing_text_is_escaped_and_renders_offline(web):  # noqa: F811
    """Upstream text (a shop name with markup) reaches the page as text; the page loads nothing."""
    no = web.scenario.shops[320102][1]
    web.redis.hset(
        "wf:lic", no, web.redis.hget("wf:lic", no).replace(b'"shop_name":"', b'"shop_name":"<b>x</b>')
    )
    view = Meeting(web.redis, web.regions, (1, 7, 30, 90)).view(_leader(), Selection(320102, no), 30, "risk")
    page = briefing_html(view, web.regions, "zh", 1_800_000_000_000, 1123, 794)
    assert "&lt;b&gt;x&lt;/b&gt;" in page and "<b>x</b>" not in page
    assert not any(x in page for x in ("src=", "href=", "url(", "@import"))  # nothing to fetch
    png = render(page, "png", 800, 450)
    assert decode_png(png)[:2] == (800, 450)


def _leader():
    from core.auth import User

    return User("nj", "leader", NANJING)
