"""The register: every complaint the staff member may see, filtered, and its CSV/xlsx export."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from estatecare.reads import complaint_pages, home, register
from estatecare.services.errors import NotFound
from estatecare.services.schemas import EARLIEST_YEAR, LATEST_YEAR
from estatecare.webapp import export
from estatecare.webapp.context import WebContext
from estatecare.webapp.errors import BadFilter
from estatecare.webapp.forms import local_date
from models.enums import Category, ComplaintStatus

S = ComplaintStatus


#: The query parameters the register reads (the export takes the same).
FIELDS = ("status", "category", "overdue", "mine", "from", "to", "text", "queue", "estate", "sort")
#: A column's first order when its heading is chosen: the newest, the soonest, the highest level.
FIRST_ORDER = {"received": "-received", "deadline": "deadline", "status": "status", "level": "-level"}
#: The orders the filter form offers (the column headings give the others).
SORT_CHOICES = ("-received", "received", "deadline", "-deadline", "status", "-level")


def register_filter(ctx: WebContext, request: Request) -> tuple[register.RegisterFilter, dict[str, str]]:
    """The register's filter from the query string, and its values as given (for the form)."""
    q = request.query_params
    zone = ctx.zone
    values = {k: q.get(k, "") for k in FIELDS}
    if values["queue"] and values["queue"] not in home.QUEUES:
        raise BadFilter(values, f"queue: one of {', '.join(home.QUEUES)}")
    if values["sort"] and values["sort"].removeprefix("-") not in register.SORTS:
        raise BadFilter(values, f"sort: one of {', '.join(register.SORTS)}, - first to reverse")
    for name in ("from", "to"):
        try:
            local_date(values[name], zone)
        except ValueError as exc:
            limits = f"a date YYYY-MM-DD between {EARLIEST_YEAR}-01-01 and {LATEST_YEAR}-12-31"
            raise BadFilter(values, f"{name}: {limits}") from exc
    try:
        f = register.RegisterFilter(
            status=S(values["status"]) if values["status"] else None,
            category=Category(values["category"]) if values["category"] else None,
            overdue=values["overdue"] == "1",
            mine=values["mine"] == "1",
            received_from=local_date(values["from"], zone),
            received_to=(local_date(values["to"], zone) or ctx.now()) + timedelta(days=1) if values["to"] else None,
            text=values["text"].strip()[:100],
            queue=values["queue"],
            estate=values["estate"].strip()[:32],
            sort=values["sort"] or register.DEFAULT_SORT,
            zone=zone,
        )
    except ValueError as exc:
        raise BadFilter(values) from exc
    return f, values


def heading_links(given: dict[str, str], sort: str) -> dict[str, tuple[str, str | None]]:
    """Each sortable column's heading: its link (the column's first order, or the current order
    reversed) and its ``aria-sort`` state (None unless the register is sorted by it)."""
    out: dict[str, tuple[str, str | None]] = {}
    for key, first in FIRST_ORDER.items():
        sorted_by = sort.removeprefix("-") == key
        descending = sort.startswith("-")
        target = (key if descending else f"-{key}") if sorted_by else first
        state = ("descending" if descending else "ascending") if sorted_by else None
        out[key] = (f"/staff/register?{urlencode({**given, 'sort': target})}", state)
    return out


def router(ctx: WebContext) -> APIRouter:
    """The register pages."""
    web = APIRouter()

    @web.get("/staff/register", response_class=HTMLResponse)
    async def register_page(request: Request) -> Response:
        actor = await ctx.require_staff(request)
        f, values = register_filter(ctx, request)
        now = ctx.now()
        chain = ctx.core.policy.escalation.chain
        rows, total, estates = await ctx.core.run(
            lambda s: (
                register.register_rows(s, actor, f, now, limit=200, chain=chain),
                register.register_count(s, actor, f, now),
                complaint_pages.estates(s) if actor.estate_id is None else [],
            )
        )
        given = {k: v for k, v in values.items() if v}
        return ctx.render(
            request,
            "register.html",
            rows=rows,
            total=total,
            values=values,
            query=urlencode(given),
            statuses=[v.value for v in S],
            categories=[c.value for c in Category],
            queues=home.QUEUES,
            estates=estates,
            sorting=heading_links(given, f.sort),
            sort_choices=SORT_CHOICES,
            sort=f.sort,
            now=now,
        )

    @web.get("/staff/register/export.{fmt}")
    async def register_export(request: Request, fmt: str) -> Response:
        if fmt not in ("csv", "xlsx"):
            raise NotFound("export as csv or xlsx")
        actor = await ctx.require_staff(request)
        f, _ = register_filter(ctx, request)
        chain = ctx.core.policy.escalation.chain
        rows, estates = await ctx.core.run(
            lambda s: (register.register_rows(s, actor, f, ctx.now(), chain=chain), complaint_pages.estates(s))
        )
        headers = [ctx.gettext(request, label) for _, label in export.COLUMNS]
        reader = export.Reader(ctx.locale_of(request), ctx.tz, dict(estates))  # codes as the pages name them
        stamp = ctx.now().astimezone(ctx.zone).strftime("%Y%m%d-%H%M")
        if fmt == "csv":
            body = export.to_csv(rows, headers, ctx.tz, reader)
            media = "text/csv; charset=utf-8"
        else:
            body = await asyncio.to_thread(export.to_xlsx, rows, headers, ctx.tz, reader)
            media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return Response(
            body,
            media_type=media,
            headers={
                "Content-Disposition": f'attachment; filename="register-{stamp}.{fmt}"',
                "Cache-Control": "no-store",
            },
        )

    return web
