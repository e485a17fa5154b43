"""The register: every complaint the staff member may see, filtered, and its CSV/xlsx export."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from estatecare.reads import register
from estatecare.services.errors import NotFound
from estatecare.services.schemas import EARLIEST_YEAR, LATEST_YEAR
from estatecare.webapp import export
from estatecare.webapp.context import WebContext
from estatecare.webapp.errors import BadFilter
from estatecare.webapp.forms import local_date
from models.enums import Category, ComplaintStatus

S = ComplaintStatus


def register_filter(ctx: WebContext, request: Request) -> tuple[register.RegisterFilter, dict[str, str]]:
    """The register's filter from the query string, and its values as given (for the form)."""
    q = request.query_params
    zone = ctx.zone
    values = {k: q.get(k, "") for k in ("status", "category", "overdue", "mine", "from", "to", "text")}
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
        )
    except ValueError as exc:
        raise BadFilter(values) from exc
    return f, values


def router(ctx: WebContext) -> APIRouter:
    """The register pages."""
    web = APIRouter()

    @web.get("/staff/register", response_class=HTMLResponse)
    async def register_page(request: Request) -> Response:
        actor = await ctx.require_staff(request)
        f, values = register_filter(ctx, request)
        rows, total = await ctx.core.run(
            lambda s: (
                register.register_rows(s, actor, f, ctx.now(), limit=200),
                register.register_count(s, actor, f, ctx.now()),
            )
        )
        query = urlencode({k: v for k, v in values.items() if v})
        return ctx.render(
            request,
            "register.html",
            rows=rows,
            total=total,
            values=values,
            query=query,
            statuses=[v.value for v in S],
            categories=[c.value for c in Category],
        )

    @web.get("/staff/register/export.{fmt}")
    async def register_export(request: Request, fmt: str) -> Response:
        if fmt not in ("csv", "xlsx"):
            raise NotFound("export as csv or xlsx")
        actor = await ctx.require_staff(request)
        f, _ = register_filter(ctx, request)
        rows = await ctx.core.run(lambda s: register.register_rows(s, actor, f, ctx.now()))
        headers = [ctx.gettext(request, label) for _, label in export.COLUMNS]
        stamp = ctx.now().astimezone(ctx.zone).strftime("%Y%m%d-%H%M")
        if fmt == "csv":
            body = export.to_csv(rows, headers, ctx.tz)
            media = "text/csv; charset=utf-8"
        else:
            body = await asyncio.to_thread(export.to_xlsx, rows, headers, ctx.tz)
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
