"""The monthly report's trend charts (R-KP-1): pure SVG from figures, readable without script,
labelled in the reader's language, with the numbers they draw."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from estatecare.services.monthly_report.charts import Series, count_ticks, render_svg, trend_charts
from estatecare.services.monthly_report.trends import MonthFigures, months_back
from models.enums import Locale

SVG = "{http://www.w3.org/2000/svg}"


def _points() -> list[MonthFigures]:
    """Twelve months; only some have anything to count."""
    out = []
    for i, (y, m) in enumerate(months_back(2026, 11, 12)):
        out.append(
            MonthFigures(
                month=f"{y}-{m:02d}",
                complaints=i,
                by_category={"facility": i, "safety": 1} if i % 2 else {"facility": i},
                by_service_area={"repairs": i, "none": 2} if i == 11 else {"repairs": i},
                response_on_time=None if i < 3 else i / 12,
                resolution_on_time=0.5,
                satisfaction=None if i == 5 else 1.0,
                on_site_signed_share=0.25 if i < 6 else 0.5,
            )
        )
    return out


def _values(svg: ET.Element, serie: int) -> dict[str, str]:
    """The value drawn at each month by one series."""
    out: dict[str, str] = {}
    for group in svg.iter(f"{SVG}g"):
        if f"serie-{serie}" in group.get("class", "").split():
            for mark in group.iter(f"{SVG}g"):
                descs = {d.get("class"): d.text for d in mark.findall(f"{SVG}desc")}
                if "value" in descs:
                    out[str(descs["x_label"])] = str(descs["value"])
    return out


def _legend(svg: ET.Element) -> list[str]:
    return [g.findtext(f"{SVG}text") or "" for g in svg.iter(f"{SVG}g") if "legend" in g.get("class", "").split()]


def test_months_back_crosses_the_year() -> None:
    assert months_back(2026, 2, 4) == [(2025, 11), (2025, 12), (2026, 1), (2026, 2)]
    assert len(months_back(2026, 11, 12)) == 12


def test_every_chart_is_plain_svg_without_script_or_outside_resources() -> None:
    charts = trend_charts(_points(), Locale.EN, on_site_target=0.4)
    assert [c.key for c in charts] == ["category", "service_area", "on_time", "satisfaction", "on_site"]
    for chart in charts:
        svg = chart.svg
        root = ET.fromstring(svg)  # well-formed, no XML declaration before it
        assert svg.startswith("<svg ") and "<?xml" not in svg
        assert "<script" not in svg and " style=" not in svg and "<!--" not in svg
        assert "googleapis" not in svg and "xml-stylesheet" not in svg and "href" not in svg
        assert root.get("role") == "img" and root.get("aria-label") == chart.title
        assert root.findtext(f"{SVG}title") == chart.title
        assert root.get("id") == f"chart-monthly-{chart.key}"
        style = root.find(f"{SVG}defs/{SVG}style")
        assert style is not None and style.get("nonce") is None
        assert "Noto Sans CJK" in (style.text or "") and "WenQuanYi Micro Hei" in (style.text or "")
        assert "activate-serie-" not in svg  # no ids repeated from one chart to the next


def test_bars_count_each_month_and_lines_leave_gaps_without_data() -> None:
    points = _points()
    category, area, on_time, satisfaction, on_site = trend_charts(points, Locale.EN, on_site_target=0.4)
    months = [p.month for p in points]

    bars = ET.fromstring(category.svg)
    assert _legend(bars) == ["Facility failure", "Safety"]  # categories with complaints, in their order
    assert list(_values(bars, 0)) == months
    assert _values(bars, 0) == {m: str(i) for i, m in enumerate(months)}
    assert _values(bars, 1) == {m: ("1" if i % 2 else "0") for i, m in enumerate(months)}
    assert category.table == [
        ("Facility failure", list(range(12))),
        ("Safety", [1 if i % 2 else 0 for i in range(12)]),
    ]
    assert _legend(ET.fromstring(area.svg)) == ["Repairs", "(none)"]  # unset last

    lines = ET.fromstring(on_time.svg)
    assert _legend(lines) == ["First response on time", "Resolved on time"]
    response = _values(lines, 0)
    assert list(response) == months[3:]  # no point where nothing was due
    assert response[months[6]] == "50%" and response[months[3]] == "25%"
    assert set(_values(lines, 1).values()) == {"50%"}
    assert on_time.percent and on_time.table[0][1][:4] == [None, None, None, 25.0]

    assert months[5] not in _values(ET.fromstring(satisfaction.svg), 0)
    target = ET.fromstring(on_site.svg)
    assert _legend(target) == ["On-site signed revisits (month)", "Target ≥ 40%"]
    assert on_site.table[1] == ("Target ≥ 40%", [40.0] * 12)


@pytest.mark.parametrize(
    ("locale", "title", "category"),
    [
        (Locale.ZH_HANT, "投訴件數（按投訴性質）", "設施故障"),
        (Locale.ZH_HANS, "投诉件数（按投诉性质）", "设施故障"),
        (Locale.EN, "Complaints by category", "Facility failure"),
    ],
)
def test_charts_speak_the_readers_language(locale: Locale, title: str, category: str) -> None:
    chart = trend_charts(_points(), locale)[0]
    root = ET.fromstring(chart.svg)
    assert chart.title == title and root.get("aria-label") == title
    assert _legend(root)[0] == category
    fonts = re.search(r"font-family:([^;}]+)", chart.svg)
    assert fonts is not None
    first = "Noto Sans CJK SC" if locale is Locale.ZH_HANS else ("Arial" if locale is Locale.EN else "Noto Sans CJK TC")
    assert fonts.group(1).lstrip('"').startswith(first) and fonts.group(1).endswith("sans-serif")


def test_a_nonce_lets_a_page_allow_the_style_sheet_and_text_is_escaped() -> None:
    svg = render_svg(
        "line",
        'A & B <"x">',
        ["2026-10", "2026-11"],
        [Series("<b>", [0.5, None])],
        Locale.EN,
        percent=True,
        nonce="n0nce",
    )
    root = ET.fromstring(svg)
    assert root.get("aria-label") == 'A & B <"x">' and root.findtext(f"{SVG}title") == 'A & B <"x">'
    style = root.find(f"{SVG}defs/{SVG}style")
    assert style is not None and style.get("nonce") == "n0nce"
    assert "<b>" not in svg and _legend(root) == ["<b>"]
    assert _values(root, 0) == {"2026-10": "50%"}


def test_the_same_figures_draw_the_same_svg() -> None:
    assert [c.svg for c in trend_charts(_points(), Locale.ZH_HANT)] == [
        c.svg for c in trend_charts(_points(), Locale.ZH_HANT)
    ]


def test_no_complaints_at_all_draws_an_empty_chart_saying_so() -> None:
    empty = [MonthFigures(f"2026-{m:02d}", 0, {}, {}, None, None, None, None) for m in range(1, 13)]
    charts = trend_charts(empty, Locale.ZH_HANT)
    assert "沒有數據" in charts[0].svg and charts[0].table == []
    assert "沒有數據" in charts[3].svg


def _colours(svg: str) -> dict[int, str]:
    return {int(i): c for i, c in re.findall(r"\.color-(\d+) a:visited\{stroke:[^;]+;fill:([^}]+)\}", svg)}


def test_a_category_keeps_its_colour_whichever_others_are_drawn() -> None:
    both = trend_charts(_points(), Locale.EN)[0]
    alone = trend_charts([MonthFigures("2026-11", 1, {"safety": 1}, {}, None, None, None, None)], Locale.EN)[0]
    assert _legend(ET.fromstring(both.svg)) == ["Facility failure", "Safety"]
    assert _legend(ET.fromstring(alone.svg)) == ["Safety"]
    assert _colours(alone.svg)[0] == _colours(both.svg)[1] != _colours(both.svg)[0]


@pytest.mark.parametrize(
    ("tops", "ticks"),
    [
        ([1], [0, 1]),
        ([3], [0, 1, 2, 3]),
        ([2, 5], [0, 2, 4, 6, 8]),
        ([12], [0, 5, 10, 15]),
        ([263], [0, 100, 200, 300]),
    ],
)
def test_counts_are_scaled_in_whole_numbers(tops: list[int], ticks: list[int]) -> None:
    series = [Series("a", [top]) for top in tops]  # stacked: the month's total counts
    assert count_ticks(series) == ticks
    labels = ET.fromstring(render_svg("bar", "t", ["2026-11"], series, Locale.EN))
    axis = next(g for g in labels.iter(f"{SVG}g") if g.get("class", "").startswith("axis y"))
    assert [t.text for t in axis.iter(f"{SVG}text")] == [str(n) for n in ticks]
