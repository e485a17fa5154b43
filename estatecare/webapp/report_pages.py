"""The monthly report as a page for managers and leaders (R-KP-1, R-KP-2): every figure of the month
against its target, the corrective actions, twelve months of trend charts (inline SVG, no
script), and the statistics form (.xlsx) to download.

Who may read which estate is the API's rule (``api/reports.py``): every signed-in staff member,
staff of an estate their own estate only (403 otherwise), leaders any estate or the company.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from babel.dates import format_skeleton
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from estatecare.services.errors import Forbidden
from estatecare.services.monthly_report import MonthlyReport, ScopeReport, build_report, email_context, workbook
from estatecare.services.monthly_report.charts import trend_charts
from estatecare.services.monthly_report.labels import label
from estatecare.services.monthly_report.schema import pct
from estatecare.services.monthly_report.trends import MonthFigures, monthly_trend
from estatecare.services.monthly_report.xlsx import XLSX_TYPE
from estatecare.services.people import Actor
from estatecare.services.sampling import estates
from estatecare.services.schemas import EARLIEST_YEAR, MONTH_PATTERN
from estatecare.webapp.context import WebContext
from models import Estate
from models.enums import Locale
from models.sampling import month_key, next_month, parse_month, previous_month, summary_month
from notifications.i18n import BABEL_LOCALES

PATH = "/staff/reports/monthly"
_CODE = re.compile(r"[A-Za-z0-9_-]{1,32}")
#: The error page's messages (listed in ``_extra_msgids.html`` for the catalogues).
BAD_MONTH = "Month: enter a month from %(first)s to %(last)s (YYYY-MM)."
UNKNOWN_ESTATE = "Estate: there is no estate with this code."


class Refused(Exception):
    """A month or an estate that cannot be read: the error page (400) says which (``message``, a
    msgid of the web catalogue, filled with ``values``)."""

    def __init__(self, message: str, **values: str) -> None:
        self.message = message
        self.values = values
        super().__init__(message % values)


@dataclass(frozen=True)
class Choice:
    """The month and the estate asked for (``estate`` empty: the actor's, or the company's for leaders)."""

    year: int
    month: int
    estate: str


@dataclass(frozen=True)
class Loaded:
    """What one page shows, read in one session."""

    report: MonthlyReport
    scope: ScopeReport
    trend: list[MonthFigures]
    choices: list[tuple[str, str]]  # leaders: every estate (code, name)


def report_choice(ctx: WebContext, request: Request) -> Choice:
    """The month (default: the last finished one) and estate from the query string (Refused)."""
    q = request.query_params
    values = {k: q.get(k, "").strip() for k in ("month", "estate")}
    now = ctx.now()
    current = now.astimezone(ctx.zone)
    if values["month"]:
        try:
            if not re.fullmatch(MONTH_PATTERN, values["month"]):
                raise ValueError(values["month"])
            year, month = parse_month(values["month"])
            if (year, month) > (current.year, current.month):
                raise ValueError(values["month"])
        except ValueError as exc:
            last = month_key(current.year, current.month)
            raise Refused(BAD_MONTH, first=f"{EARLIEST_YEAR}-01", last=last) from exc
    else:
        year, month = summary_month(now, ctx.zone)
    if values["estate"] and not _CODE.fullmatch(values["estate"]):
        raise Refused(UNKNOWN_ESTATE)
    return Choice(year, month, values["estate"])


def _scope_code(session: Session, actor: Actor, choice: Choice) -> str | None:
    """The estate the actor reads (None: the whole company, for leaders who chose no estate)."""
    if actor.estate_id is not None:
        own = session.get(Estate, actor.estate_id)
        assert own is not None
        if choice.estate not in ("", own.code):
            raise Forbidden("you may read your own estate's report only")
        return own.code
    if not choice.estate:
        return None
    if session.scalar(select(Estate.id).where(Estate.code == choice.estate)) is None:
        raise Refused(UNKNOWN_ESTATE)
    return choice.estate


def _load(ctx: WebContext, session: Session, actor: Actor, choice: Choice) -> Loaded:
    code = _scope_code(session, actor, choice)
    report = build_report(ctx.core, session, choice.year, choice.month, code, generated_at=ctx.now())
    scope = report.company if report.company is not None else report.estates[0]
    trend = monthly_trend(ctx.core, session, choice.year, choice.month, code)
    choices = [(e.code, e.name) for e in estates(session)] if actor.estate_id is None else []
    return Loaded(report, scope, trend, choices)


def month_label(year: int, month: int, locale: Locale) -> str:
    """``2026年11月`` / ``November 2026``."""
    return format_skeleton("yMMMM", datetime(year, month, 1), locale=BABEL_LOCALES[locale])


def _kpi_rows(scope: ScopeReport, locale: Locale) -> list[dict[str, Any]]:
    """Each target (R-KP-2): value and target in %, how it was counted, met / missed / no data."""
    return [
        {
            "label": label(k.id, locale),
            "value": pct(k.value),
            "target": round(k.target * 100, 1),
            "comparison": "≥" if k.comparison == ">=" else "≤",
            "numerator": k.numerator,
            "denominator": k.denominator,
            "result": "none" if k.met is None else ("met" if k.met else "missed"),
        }
        for k in scope.kpis
    ]


def _csp(nonce: str) -> str:
    """The app's Content-Security-Policy with this page's chart style sheets allowed by ``nonce``."""
    from estatecare.webapp.app import CSP  # imported here: app.py includes this module's router

    return CSP.replace("style-src 'self'", f"style-src 'self' 'nonce-{nonce}'")


async def _page(ctx: WebContext, request: Request) -> Response:
    """The report page of the month and estate asked for."""
    actor = await ctx.require_staff(request)
    choice = report_choice(ctx, request)
    data = await ctx.core.run(lambda s: _load(ctx, s, actor, choice))
    locale = ctx.locale_of(request)
    nonce = secrets.token_urlsafe(16)
    target = ctx.core.policy.targets.on_site_signed_share_min
    charts = await asyncio.to_thread(trend_charts, data.trend, locale, on_site_target=target, nonce=nonce)
    figures = email_context(data.report, data.scope, locale, actions_limit=None)
    y, m = choice.year, choice.month
    current = ctx.now().astimezone(ctx.zone)
    chosen = {"estate": choice.estate} if choice.estate and actor.estate_id is None else {}

    def url(path: str, year: int, month: int) -> str:
        return f"{path}?{urlencode({'month': month_key(year, month), **chosen})}"

    before, after = previous_month(y, m), next_month(y, m)
    response = ctx.render(
        request,
        "report_monthly.html",
        month=month_key(y, m),
        month_text=month_label(y, m, locale),
        latest=month_key(current.year, current.month),
        running=data.report.overdue_basis == "now",
        scope_name=label("company", locale) if data.scope.code == "*" else data.scope.name,
        estate=choice.estate if actor.estate_id is None else data.scope.code,
        choices=data.choices,
        company_label=label("company", locale),
        estate_label=label("c_estate", locale),
        kpis=_kpi_rows(data.scope, locale),
        met=data.scope.targets_met,
        missed=data.scope.targets_missed,
        overdue_as_at=figures["overdue_as_at"],
        tables=figures["tables"],
        charts=[{"chart": c, "svg": Markup(c.svg)} for c in charts],  # noqa: S704 - pygal escapes every text
        previous_url=url(PATH, *before),
        previous_text=month_label(*before, locale),
        next_url=url(PATH, *after) if after <= (current.year, current.month) else "",
        next_text=month_label(*after, locale),
        xlsx_url=url(f"{PATH}.xlsx", y, m),
    )
    response.headers["Content-Security-Policy"] = _csp(nonce)
    return response


async def _xlsx(ctx: WebContext, request: Request) -> Response:
    """The statistics form (回訪用戶月統計表) of the month and estate asked for (leaders without an
    estate: every estate and the company)."""
    actor = await ctx.require_staff(request)
    choice = report_choice(ctx, request)

    def read(session: Session) -> MonthlyReport:
        code = _scope_code(session, actor, choice)
        return build_report(ctx.core, session, choice.year, choice.month, code, generated_at=ctx.now())

    report = await ctx.core.run(read)
    body = await asyncio.to_thread(workbook, report)
    suffix = "" if report.company is not None else f"-{report.estates[0].code}"
    return Response(
        body,
        media_type=XLSX_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="monthly-revisit-statistics-{report.month}{suffix}.xlsx"',
            "Cache-Control": "no-store",
        },
    )


def router(ctx: WebContext) -> APIRouter:
    """The monthly report page and its spreadsheet; a month or estate that cannot be read gets
    the app's error page (400) saying which."""
    web = APIRouter()

    async def refusing(request: Request, answer: Callable[[WebContext, Request], Awaitable[Response]]) -> Response:
        try:
            return await answer(ctx, request)
        except Refused as exc:
            text = ctx.gettext(request, exc.message) % exc.values
            return ctx.message_page(request, 400, "Request refused", text)

    @web.get(PATH, response_class=HTMLResponse)
    async def monthly_page(request: Request) -> Response:
        return await refusing(request, _page)

    @web.get(f"{PATH}.xlsx")
    async def monthly_xlsx(request: Request) -> Response:
        return await refusing(request, _xlsx)

    return web
