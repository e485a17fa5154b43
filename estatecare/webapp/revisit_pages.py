"""Revisits by id: a work order's revisit record (R-RV-4..6; a complaint's is recorded on the
complaint's action page), the whole record of any done one with its signature (R-RV-8), and a
supervisor's review of it (R-RV-9)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from estatecare import links
from estatecare.reads import revisits
from estatecare.services import lifecycle, steps
from estatecare.services.errors import InvalidInput
from estatecare.services.people import Actor, require_role
from estatecare.services.schemas import ReviewIn, RowIdInPath
from estatecare.webapp.context import WebContext
from estatecare.webapp.forms import errors as form_errors
from estatecare.webapp.forms import field_refusal, step_input, text
from estatecare.webapp.security import CSRF_FIELD
from estatecare.webapp.staff_pages import spend_link
from models.enums import RevisitMethod, Satisfaction


async def _revisit_page(
    ctx: WebContext,
    request: Request,
    actor: Actor,
    revisit_id: int,
    values: dict[str, str],
    errors: dict[str, str],
    code: int,
    token: str = "",
) -> Response:
    def load(session: Session) -> revisits.RevisitItem:
        item = revisits.revisit_item(session, actor, revisit_id, ctx.now())
        require_role(actor, lifecycle.VISITORS, "a revisit record")
        return item

    r = await ctx.core.run(load)
    own_record = r.visitor == actor.email  # ``review_revisit`` refuses a review of one's own record
    return ctx.render(
        request,
        "order_revisit.html",
        code,
        r=r,
        values=values,
        errors=errors,
        methods=[m.value for m in RevisitMethod],
        satisfactions=[v.value for v in Satisfaction],
        own_record=own_record,
        token=token,
        may_review=actor.role in lifecycle.SUPERVISORS and not own_record,
    )


def router(ctx: WebContext) -> APIRouter:
    """The pages of revisits by id."""
    web = APIRouter()

    @web.get("/staff/revisits/{revisit_id}", response_class=HTMLResponse)
    async def order_revisit_form(request: Request, revisit_id: RowIdInPath) -> Response:
        token = request.query_params.get(links.QUERY_KEY, "")
        actor, _ = await ctx.acting(request, token)  # the visitor's task email links here, signed
        return await _revisit_page(ctx, request, actor, revisit_id, {}, {}, 200, token)

    @web.get("/staff/revisits/{revisit_id}/signature.png")
    async def revisit_signature(request: Request, revisit_id: RowIdInPath) -> Response:
        actor = await ctx.require_staff(request)
        png = await ctx.core.run(lambda s: revisits.signature_png(s, actor, revisit_id))
        return Response(png, media_type="image/png", headers={"X-Content-Type-Options": "nosniff"})

    @web.post("/staff/revisits/{revisit_id}", response_class=HTMLResponse)
    async def order_revisit_post(request: Request, revisit_id: RowIdInPath) -> Response:
        form = await ctx.read_form(request)
        token = text(form, links.QUERY_KEY)
        actor, claim = await ctx.acting(request, token)
        f = {k: v for k, v in form.items() if isinstance(v, str)}
        values = {k: v for k, v in f.items() if k not in (CSRF_FIELD, "signature_png_base64", links.QUERY_KEY)}
        at = ctx.now()
        try:
            data = step_input(steps.STEPS["order-revisit"].schema, form, None, ctx.zone)
            done = await steps.run_step(
                ctx.core, "order-revisit", revisit_id, data, actor, at, also=lambda s: spend_link(s, claim, at)
            )
        except ValidationError as exc:
            return await _revisit_page(ctx, request, actor, revisit_id, values, form_errors(exc), 422, token)
        except InvalidInput as exc:
            refused = {exc.field: field_refusal(exc)}
            return await _revisit_page(ctx, request, actor, revisit_id, values, refused, 422, token)
        ctx.follow(done.follow_ups)
        reference = done.answer.work_order or ctx.gettext(request, "suggestion revisit no. %(id)s") % {"id": revisit_id}
        return ctx.render(
            request, "done.html", reference=reference, op="revisit", work_order=True, via_link=claim is not None
        )

    @web.post("/staff/revisits/{revisit_id}/review", response_class=HTMLResponse)
    async def revisit_review_post(request: Request, revisit_id: RowIdInPath) -> Response:
        actor = await ctx.require_staff(request)
        form = await ctx.read_form(request)
        values = {"opinion": text(form, "opinion")}
        try:
            data = ReviewIn(**values)
        except ValidationError as exc:
            return await _revisit_page(ctx, request, actor, revisit_id, values, form_errors(exc), 422)
        await steps.run_step(ctx.core, "review", revisit_id, data, actor, ctx.now())
        return RedirectResponse(f"/staff/revisits/{revisit_id}#review", status_code=303)

    return web
