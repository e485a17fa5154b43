"""Rendering: a pure function from (message id, context, locale, timezone) to a message.

Templates are Jinja2 with autoescape on for HTML; the plain-text part is plain. The
first line of the rendered ``<id>.txt`` is the subject. Strings are translated with
Babel catalogs through ``jinja2.ext.i18n`` (fixed strings at compile time); timestamps
(ISO-8601 UTC strings in the context) are shown in the company's timezone in the
recipient's locale format, to the minute: a deadline reads "晚上11:59", never with seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache, lru_cache
from typing import Any, cast
from zoneinfo import ZoneInfo

from babel import Locale as BabelLocale
from babel.dates import format_date, format_skeleton, format_time
from babel.lists import format_list
from babel.numbers import parse_pattern
from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, nodes, pass_context, select_autoescape
from jinja2.ext import InternationalizationExtension
from jinja2.lexer import TOKEN_LPAREN, TOKEN_NAME, TOKEN_RPAREN, TOKEN_STRING, Token, TokenStream
from jinja2.runtime import Context

from models.enums import Locale
from notifications.catalogue import CATALOGUE, CONTACT_KEYS, mask_phone
from notifications.html_blocks import BLOCKS
from notifications.i18n import BABEL_LOCALES, TEMPLATE_DIR, translations


@dataclass(frozen=True)
class RenderedMessage:
    """A rendered email: subject, plain-text part and HTML part."""

    subject: str
    text: str
    html: str


def parse_utc(value: str | datetime) -> datetime:
    """An ISO-8601 string (``Z`` or offset; naive means UTC) as an aware datetime."""
    dt = value if isinstance(value, datetime) else datetime.fromisoformat(value.replace("Z", "+00:00"))
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


@cache
def _zone(tz: str) -> ZoneInfo:
    return ZoneInfo(tz)


@cache
def _babel_locale(locale: Locale) -> BabelLocale:
    return BabelLocale.parse(BABEL_LOCALES[locale])


def _locale_of(ctx: Context) -> Locale:
    value: Locale = ctx["_locale"]
    return value


# The formatting filters are pure functions of (value, locale, time zone). Babel spends tens of
# microseconds on each call, and a message formats the same values in its text and its HTML
# part (and a sweep's messages share deadlines), so their results are memoised.
_MEMO = 4096


@lru_cache(maxsize=_MEMO)
def _datetime_text(value: str | datetime, tz: str, locale: Locale) -> str:
    """The locale's medium date and short time (hours and minutes), joined as the locale joins them."""
    loc = _babel_locale(locale)
    local = parse_utc(value).astimezone(_zone(tz))
    joined: str = loc.datetime_formats["medium"].format(
        format_time(local, "short", locale=loc), format_date(local.date(), "medium", locale=loc)
    )
    return joined


@lru_cache(maxsize=_MEMO)
def _date_text(value: str | datetime, tz: str, locale: Locale) -> str:
    if isinstance(value, str) and len(value) == 10:  # a plain date, no time zone involved
        return format_date(date.fromisoformat(value), "medium", locale=_babel_locale(locale))
    local = parse_utc(value).astimezone(_zone(tz))
    return format_date(local.date(), "medium", locale=_babel_locale(locale))


@pass_context
def _f_datetime(ctx: Context, value: str | datetime | None) -> str:
    return _datetime_text(value, ctx["_tz"], _locale_of(ctx)) if value else ""


@pass_context
def _f_date(ctx: Context, value: str | datetime | None) -> str:
    return _date_text(value, ctx["_tz"], _locale_of(ctx)) if value else ""


@pass_context
def _f_month(ctx: Context, value: str) -> str:
    """``2026-11`` as the locale's year-month (2026年11月, November 2026)."""
    year, month = (int(p) for p in str(value)[:7].split("-"))
    return format_skeleton("yMMMM", datetime(year, month, 1), locale=_babel_locale(_locale_of(ctx)))


#: Numbers: thousands separated, up to two decimals (parsed once, not per call).
_NUMBER = parse_pattern("#,##0.##")


@lru_cache(maxsize=_MEMO)
def _number_text(value: int | float, locale: Locale) -> str:
    text: str = _NUMBER.apply(value, _babel_locale(locale))
    return text


@pass_context
def _f_number(ctx: Context, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return _number_text(value, _locale_of(ctx))


@pass_context
def _f_and_list(ctx: Context, values: Any) -> str:
    """Items as the locale lists them: 漏水、滲水和滴水; leak, seeping, and dripping."""
    items = [str(v) for v in values]
    return format_list(items, locale=_babel_locale(_locale_of(ctx))) if items else ""


def _f_mask(value: str) -> str:
    return mask_phone(str(value))


def _bar_width(value: Any, scale: Any, width: int = 200) -> int:
    """Pixels of a bar of ``value`` on a ``scale`` (clamped to 0..width)."""
    try:
        v, s = float(value), float(scale)
    except (TypeError, ValueError):
        return 0
    if s <= 0:
        return 0
    return max(0, min(width, round(width * v / s)))


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _chart_column(table: dict[str, Any]) -> int | None:
    """Index of the first column after the first whose cells are all numbers (charted as bars)."""
    rows = table.get("rows") or []
    columns = table.get("columns") or []
    if not rows or table.get("chart") is False:
        return None
    for i in range(1, len(columns)):
        if all(len(r) > i and _is_number(r[i]) for r in rows):
            return i
    return None


class CompileTimeI18n(InternationalizationExtension):
    """``jinja2.ext.i18n`` that translates fixed strings when a template is compiled.

    Each language has its own environment, so the translation of a literal is known then:
    ``_("literal")`` becomes the translated string, and a ``{% trans %}`` block without a
    plural or context becomes its translated format string (variables are still filled in,
    and escaped in HTML, at render time). A message then no longer calls gettext through the
    template context for every fixed string. The output is the same (a test compares every
    message with the plain extension's); ``_()`` of anything but a literal, plural and
    context blocks are left to the standard behaviour.
    """

    def filter_stream(self, stream: TokenStream) -> Iterator[Token]:
        gettext = cast(Callable[[str], str], self.environment.globals["gettext"])
        pattern = [TOKEN_NAME, TOKEN_LPAREN, TOKEN_STRING, TOKEN_RPAREN]
        held: list[Token] = []
        for token in super().filter_stream(stream):
            held.append(token)
            if len(held) >= 4 and [t.type for t in held[-4:]] == pattern and held[-4].value == "_":
                literal = held[-2].value
                lineno = held[-4].lineno
                del held[-4:]
                held.append(Token(lineno, TOKEN_STRING, gettext(literal)))
            while len(held) > 3:
                yield held.pop(0)
        yield from held

    def _make_node(
        self,
        singular: str,
        plural: str | None,
        context: str | None,
        variables: dict[str, nodes.Expr],
        plural_expr: nodes.Expr | None,
        vars_referenced: bool,
        num_called_num: bool,
    ) -> nodes.Output:
        newstyle = getattr(self.environment, "newstyle_gettext", False)
        if plural_expr is not None or context is not None or newstyle:
            return super()._make_node(
                singular, plural, context, variables, plural_expr, vars_referenced, num_called_num
            )
        if not vars_referenced:  # as the standard extension does: "%%" only escapes with variables
            singular = singular.replace("%%", "%")
        gettext = cast(Callable[[str], str], self.environment.globals["gettext"])
        node: nodes.Expr = nodes.MarkSafeIfAutoescape(nodes.Const(gettext(singular)))
        if variables:
            node = nodes.Mod(node, nodes.Dict([nodes.Pair(nodes.Const(k), v) for k, v in variables.items()]))
        return nodes.Output([node])


@cache
def environment(locale: Locale) -> Environment:
    """The Jinja2 environment of one language (compiled templates are cached in it)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False, default=False),
        undefined=StrictUndefined,
        extensions=[CompileTimeI18n],
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
        cache_size=-1,
    )
    env.policies["ext.i18n.trimmed"] = True
    # Old-style gettext is cheaper per call; trans-block variables are still escaped in HTML.
    env.install_gettext_translations(translations(locale), newstyle=False)  # type: ignore[attr-defined]
    env.filters.update(
        datetime=_f_datetime,
        date=_f_date,
        month=_f_month,
        number=_f_number,
        and_list=_f_and_list,
        mask_phone=_f_mask,
    )
    env.globals.update(bar_width=_bar_width, is_number=_is_number, chart_column=_chart_column, m=BLOCKS)
    return env


@cache
def _templates(locale: Locale, template_id: str) -> tuple[Template, Template]:
    env = environment(locale)
    return env.get_template(f"{template_id}.txt"), env.get_template(f"{template_id}.html")


def compile_all(template_ids: list[str], locales: list[Locale]) -> None:
    """Compile the templates ahead of their first message (they are cached per process)."""
    for locale in locales:
        for template_id in template_ids:
            _templates(locale, template_id)


def render(template_id: str, context: dict[str, Any], locale: Locale | str, tz: str) -> RenderedMessage:
    """Render message ``template_id`` (a CATALOGUE id) for one recipient.

    Raises ValueError for an unknown id or missing required context keys. Messages whose
    spec has ``shows_contact=False`` never show the complainant's name or contact, even
    if the context carries them (R-IN-6); they get the masked phone instead.
    """
    spec = CATALOGUE.get(template_id)
    if spec is None:
        raise ValueError(f"unknown message template {template_id!r}")
    missing = spec.required - context.keys()
    if missing:
        raise ValueError(f"message {template_id!r} needs context keys {sorted(missing)}")
    loc = Locale(locale)
    values = dict(context)
    if not spec.shows_contact:
        phone = values.get("complainant_phone")
        for key in CONTACT_KEYS:
            values.pop(key, None)
        if phone and "masked_phone" not in values:
            values["masked_phone"] = mask_phone(str(phone))
    values["_locale"] = loc
    values["_tz"] = tz
    values["_shows_contact"] = spec.shows_contact
    text_t, html_t = _templates(loc, template_id)
    text = text_t.render(values)
    first, _, body = text.partition("\n")
    subject = " ".join(first.split())
    values["_subject"] = subject
    return RenderedMessage(subject=subject, text=body.strip("\n") + "\n", html=html_t.render(values))
