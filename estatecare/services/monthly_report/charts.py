"""The monthly report's trend charts as inline SVG (pygal), for the report page and the summary email.

Pure: figures in, SVG text out. No JavaScript, no external style sheet or font: each chart
carries its own ``<style>`` (``nonce`` for a page under a Content-Security-Policy), a
``<title>`` and an ``aria-label`` in the reader's language, and a font list with CJK fonts.
Each :class:`Chart` also holds the numbers it draws, for a table beside it on the page.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING, Literal

from estatecare.services.monthly_report.labels import label
from estatecare.services.monthly_report.trends import MonthFigures
from models.enums import Category, Locale, ServiceArea

if TYPE_CHECKING:  # pygal is imported when a chart is drawn: the web process starts without it
    import pygal
    from pygal.style import Style

_T = tuple[str, str, str]  # zh-Hant, zh-Hans, en
_INDEX = {Locale.ZH_HANT: 0, Locale.ZH_HANS: 1, Locale.EN: 2}

#: The names of the charts and their parts (the figures' names are the report's, ``labels``).
NAMES: dict[str, _T] = {
    "category": ("投訴件數（按投訴性質）", "投诉件数（按投诉性质）", "Complaints by category"),
    "service_area": ("投訴件數（按服務範疇）", "投诉件数（按服务范畴）", "Complaints by service area"),
    "on_time": ("及時響應率及及時處理率", "及时响应率及及时处理率", "First response and resolution on time"),
    "satisfaction": ("回訪滿意率", "回访满意率", "Revisit satisfaction"),
    "on_site": ("上門簽名回訪比例", "上门签名回访比例", "On-site signed revisits"),
    "target": ("目標", "目标", "Target"),
    "no_data": ("沒有數據", "没有数据", "No data"),
}

#: Fonts that hold the Chinese glyphs first, per language, then the usual sans-serif.
_FONTS = {
    Locale.ZH_HANT: '"Noto Sans CJK TC", "Noto Sans CJK SC", "PingFang TC", "Microsoft JhengHei"',
    Locale.ZH_HANS: '"Noto Sans CJK SC", "Noto Sans CJK TC", "PingFang SC", "Microsoft YaHei"',
    Locale.EN: 'Arial, "Noto Sans CJK TC", "Noto Sans CJK SC"',
}
_COLOURS = ("#1f6fb2", "#e07b00", "#2e7d32", "#8e24aa", "#c62828", "#00838f", "#6d4c41", "#ad1457", "#827717")
_TARGET = "#4a5560"
#: The drawing's size: the width of the summary email's text (it shrinks to a narrower column).
WIDTH, HEIGHT = 600, 330


def name(key: str, locale: Locale) -> str:
    """The name of a chart or of one of its parts in ``locale``."""
    return NAMES[key][_INDEX[locale]]


@dataclass(frozen=True)
class Series:
    """One line or one stack of bars: a value per month (None: nothing to count that month)."""

    name: str
    values: list[float | None]
    dashed: bool = False
    colour: str | None = None  # default: the next of the palette


@dataclass(frozen=True)
class Chart:
    """A chart's SVG and the numbers it shows: per series, a value per month (shares in %)."""

    key: str
    title: str
    svg: str
    percent: bool
    months: list[str]
    table: list[tuple[str, list[float | None]]]


def _style(locale: Locale, colours: Sequence[str]) -> Style:
    fonts = f'{_FONTS[locale]}, "WenQuanYi Micro Hei", sans-serif'
    from pygal.style import Style

    return Style(
        font_family=fonts,
        background="#ffffff",
        plot_background="#ffffff",
        foreground="#1b1f24",
        foreground_strong="#1b1f24",
        foreground_subtle="#5f6b76",
        guide_stroke_color="#d0d7de",
        major_guide_stroke_color="#9aa5b1",
        guide_stroke_dasharray="3,3",
        major_guide_stroke_dasharray="3,3",
        opacity=".85",
        stroke_width="2.5",
        colors=tuple(colours),
        title_font_size=15,
        legend_font_size=12,
        label_font_size=11,
        major_label_font_size=11,
        tooltip_font_size=12,
        no_data_font_size=20,
    )


#: Left out of pygal's output: comments, the configuration it writes for its script (even
#: without one), the positions that script places tooltips at, the ids it finds legends by (the
#: same in every chart of a page), the inline style hiding its tooltip (nothing shows it), and
#: the digits of coordinates past the first decimal.
_DROP = re.compile(
    r'<!--.*?-->|<script\b.*?</script>|<desc class="[xy](?: [^"]*)?">[^<]*</desc>| id="activate-serie-\d+"'
    r'| style="opacity: 0"',
    re.S,
)
_DIGITS = re.compile(r"(\d\.\d)\d+")


def count_ticks(series: Sequence[Series]) -> list[int]:
    """Whole-number steps (1, 2 or 5 times a power of ten) from 0 past the highest stack, at most six."""
    top = max((sum(v or 0 for v in month) for month in zip(*(s.values for s in series), strict=True)), default=0)
    raw = max(top, 1) / 5
    power = 10 ** math.floor(math.log10(raw))
    step = max(1, int(next(m * power for m in (1, 2, 5, 10) if m * power >= raw)))
    return list(range(0, math.ceil(top / step) * step + 1, step))


def render_svg(
    kind: Literal["bar", "line"],
    title: str,
    x_labels: Sequence[str],
    series: Sequence[Series],
    locale: Locale,
    *,
    percent: bool = False,
    chart_id: str = "chart",
    nonce: str | None = None,
) -> str:
    """One chart as an ``<svg>`` element: stacked bars of counts or lines of shares (0..1, shown in %);
    a ``dashed`` series (a target) is drawn grey."""
    palette = iter(_COLOURS * 2)
    config = {
        "js": [],
        "disable_xml_declaration": True,
        "style": _style(locale, [s.colour or (_TARGET if s.dashed else next(palette)) for s in series]),
        "width": WIDTH,
        "height": HEIGHT,
        "explicit_size": True,
        "title": title,
        "legend_at_bottom": True,
        "legend_at_bottom_columns": min(4, max(1, len(series))),
        "truncate_legend": -1,
        "truncate_label": -1,
        "x_label_rotation": 0 if len(x_labels) <= 6 else 35,
        "no_data_text": name("no_data", locale),
        "allow_interruptions": True,
        "print_values": False,
        "margin": 12,
        "margin_bottom": 34,  # pygal leaves too little room for the legend below slanted labels
        # pygal's own sheets, and the drawing shrinks to a narrower column (page or email)
        "css": ["file://style.css", "file://graph.css", f"inline:#chart-{chart_id}{{max-width:100%;height:auto}}"],
    }
    import pygal

    chart: pygal.Graph
    if kind == "bar":
        chart = pygal.StackedBar(
            **config, value_formatter=lambda v: f"{v:g}", y_labels=count_ticks(series) if series else None
        )
    else:
        chart = pygal.Line(
            **config,
            range=(0, 100),
            y_labels=[0, 20, 40, 60, 80, 100],
            value_formatter=lambda v: f"{v:g}%",
            dots_size=3.5,
        )
    chart.uuid = chart_id  # stable ids: the style sheet is scoped to this chart
    chart.x_labels = list(x_labels)
    for s in series:
        values = _shown(s.values, percent)
        options = {"stroke_style": {"width": 2.5, "dasharray": "8, 5"}, "show_dots": False} if s.dashed else {}
        chart.add(s.name, values, **options)
    svg = _DIGITS.sub(r"\1", _DROP.sub("", chart.render(is_unicode=True)))
    label_attr = f'<svg role="img" aria-label="{escape(title)}" '
    svg = svg.replace("<svg ", label_attr, 1)
    if nonce is not None:
        svg = svg.replace('<style type="text/css">', f'<style type="text/css" nonce="{escape(nonce)}">', 1)
    return svg


def _shown(values: Sequence[float | None], percent: bool) -> list[float | None]:
    """Counts as they are, shares (0..1) in percent with one decimal."""
    return [None if v is None else (round(v * 100, 1) if percent else v) for v in values]


def _counts(points: Sequence[MonthFigures], attr: str, order: Sequence[str], locale: Locale) -> list[Series]:
    """A series per key that has complaints in any of the months, in the enum's order, unset last;
    each key keeps its colour whichever others are there."""
    tables: list[dict[str, int]] = [getattr(p, attr) for p in points]
    seen = {k for t in tables for k, n in t.items() if n}
    keys = [k for k in order if k in seen] + sorted(seen - set(order))
    colour = {k: _COLOURS[i % len(_COLOURS)] for i, k in enumerate([*order, "none"])}
    return [Series(label(k, locale), [t.get(k, 0) for t in tables], colour=colour.get(k, _TARGET)) for k in keys]


def trend_charts(
    points: Sequence[MonthFigures],
    locale: Locale,
    *,
    on_site_target: float | None = None,
    nonce: str | None = None,
    id_prefix: str = "monthly",
) -> list[Chart]:
    """The report's trend charts over ``points`` (oldest month first): complaints by category and
    by service area, first response and resolution on time, satisfaction, on-site signed revisits
    (with its target, ``on_site_target``, as a dashed line)."""
    months = [p.month for p in points]
    on_site = [Series(label("on_site_signed_share", locale), [p.on_site_signed_share for p in points])]
    if on_site_target is not None:
        target = f"{name('target', locale)} ≥ {on_site_target * 100:g}%"
        on_site.append(Series(target, [on_site_target] * len(points), dashed=True))
    specs: list[tuple[str, Literal["bar", "line"], bool, list[Series]]] = [
        ("category", "bar", False, _counts(points, "by_category", [c.value for c in Category], locale)),
        ("service_area", "bar", False, _counts(points, "by_service_area", [a.value for a in ServiceArea], locale)),
        (
            "on_time",
            "line",
            True,
            [
                Series(label("response_on_time", locale), [p.response_on_time for p in points]),
                Series(label("resolution_on_time", locale), [p.resolution_on_time for p in points]),
            ],
        ),
        ("satisfaction", "line", True, [Series(label("satisfaction", locale), [p.satisfaction for p in points])]),
        ("on_site", "line", True, on_site),
    ]
    charts = []
    for key, kind, percent, series in specs:
        title = name(key, locale)
        svg = render_svg(
            kind, title, months, series, locale, percent=percent, chart_id=f"{id_prefix}-{key}", nonce=nonce
        )
        table = [(s.name, _shown(s.values, percent)) for s in series]
        charts.append(Chart(key, title, svg, percent, months, table))
    return charts
