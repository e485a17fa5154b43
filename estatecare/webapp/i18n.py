"""The web app's languages: zh-Hant (default), zh-Hans and English.

Same approach as the emails (``notifications.i18n``): English msgids in the templates,
Babel .po catalogs in ``estatecare/webapp/locale/`` compiled in memory at first use.
``python -m estatecare.webapp.i18n`` merges new template strings into the catalogs.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from babel.dates import format_datetime, format_timedelta
from babel.messages.mofile import write_mo
from babel.support import Translations
from jinja2 import Environment, FileSystemLoader, select_autoescape

from estatecare.reads.notes import read_note
from models.enums import Locale
from notifications.i18n import BABEL_LOCALES, read_catalog, update_catalogs

HERE = Path(__file__).parent
TEMPLATE_DIR = HERE / "templates"
LOCALE_DIR = HERE / "locale"
LANGUAGE_NAMES = {Locale.ZH_HANT: "繁體中文", Locale.ZH_HANS: "简体中文", Locale.EN: "English"}


@cache
def translations(locale: Locale) -> Translations:
    """Gettext translations of the web app for ``locale`` (fuzzy entries left out)."""
    buf = BytesIO()
    write_mo(buf, read_catalog(locale, LOCALE_DIR), use_fuzzy=False)
    buf.seek(0)
    return Translations(fp=buf, domain="messages")


@cache
def environment(locale: Locale, tz: str) -> Environment:
    """The Jinja environment of one language (templates are compiled once per language)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(default=True),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(locale), newstyle=True)  # type: ignore[attr-defined]
    zone = ZoneInfo(tz)
    babel_locale = BABEL_LOCALES[locale]

    def when(value: datetime | None, fmt: str = "short") -> str:
        if value is None:
            return ""
        return format_datetime(value.astimezone(zone), format=fmt, locale=babel_locale)

    env.filters["when"] = when
    env.filters["time_left"] = lambda due, now: time_left(due, now, locale)
    env.globals["LANGUAGE_NAMES"] = {loc.value: name for loc, name in LANGUAGE_NAMES.items()}
    env.globals["locale"] = locale.value
    env.globals["read_note"] = read_note  # a service's note in the reader's language (_notes.html)
    return env


def time_left(due: datetime | None, now: datetime, locale: Locale) -> str:
    """A deadline's badge in ``locale``: the time left ("剩 2 天 3 小時", "還有 5 小時 10 分鐘") or
    how late it is ("逾期 1 天"), in its two largest units, to the minute; "" without a deadline."""
    if due is None:
        return ""
    minutes = max(1, int(abs((due - now).total_seconds()) // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    units: list[tuple[int, Literal["day", "hour", "minute"]]] = (
        [(days, "day"), (hours, "hour")] if days else [(hours, "hour"), (mins, "minute")]
    )
    span = " ".join(
        format_timedelta(
            timedelta(**{f"{unit}s": n}), granularity=unit, threshold=float("inf"), locale=BABEL_LOCALES[locale]
        )
        for n, unit in units
        if n
    )
    gettext = translations(locale).gettext
    if due < now:
        return gettext("Overdue by %(span)s") % {"span": span}
    return gettext("%(span)s left" if days else "Due in %(span)s") % {"span": span}


def pick_locale(requested: str | None, saved: str | None, staff_locale: str | None, accept: str) -> Locale:
    """Explicit choice, then the saved choice, then the staff member's, then the browser's, else zh-Hant."""
    for value in (requested, saved, staff_locale):
        if value in {loc.value for loc in Locale}:
            return Locale(value)
    for part in accept.split(","):
        tag = part.split(";")[0].strip().lower()
        if tag in ("zh-hans", "zh-cn", "zh-sg") or tag.startswith("zh-hans"):
            return Locale.ZH_HANS
        if tag.startswith("zh"):
            return Locale.ZH_HANT
        if tag.startswith("en"):
            return Locale.EN
    return Locale.ZH_HANT


if __name__ == "__main__":
    update_catalogs(TEMPLATE_DIR, LOCALE_DIR)
