"""Staff pages of a complaint: the complaint with its timeline, its photos and revisit
signatures, and the action pages (also reached from signed email links, ``estatecare.links``).

Every step goes through the step table (``estatecare.services.steps``, one transaction each,
an email link spent in the same one) and then dispatches the flow that continues it.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from estatecare import links
from estatecare.reads import assessment, complaint_pages, complaints, tasks
from estatecare.services import lifecycle, steps
from estatecare.services.errors import InvalidInput, NotFound
from estatecare.services.people import Actor, complaint_case, may
from estatecare.services.records import get_complaint
from estatecare.services.schemas import MAX_ROW_ID, RowIdInPath
from estatecare.uploads import ALLOWED
from estatecare.webapp.context import WebContext
from estatecare.webapp.forms import errors as form_errors
from estatecare.webapp.forms import field_refusal, step_input, text
from estatecare.webapp.security import CSRF_FIELD
from flows._naming import complaint_tag, runs_page
from models import UsedLink
from models.enums import Category, ComplaintStatus, RevisitMethod, Satisfaction, ServiceArea, Severity, Urgency
from models.lifecycle import ASSIGNED_STATES, DECIDABLE_STATES
from models.permissions import Step
from models.revisit import must_be_on_site
from notifications.catalogue import mask_phone

S = ComplaintStatus
#: Action page -> the steps its form may send (``escalation``: the decision page's other address).
ALLOWED_OPS = {**steps.steps_by_task(), "escalation": {"decide"}}
TASKS = tuple(ALLOWED_OPS)


def detail(ctx: WebContext, session: Session, actor: Actor, reference: str, page: str) -> dict[str, Any]:
    """The complaint as the actor may see it; a shown contact is logged (R-IN-6)."""
    info = complaints.complaint_detail(session, actor, reference, ctx.now())
    complaint = get_complaint(session, reference)
    visible = complaint.contact_visible_to(actor)
    if visible and (complaint.complainant_name or complaint.contact_phone or complaint.contact_email):
        tasks.log_contact_view(session, actor, complaint, page, ctx.now())
    photos = (
        [
            (aid, name, content_type in ALLOWED.values())
            for aid, name, content_type in complaint_pages.attachments(session, complaint.id)
        ]
        if may(actor, Step.ATTACHMENTS, complaint_case(session, complaint, Step.ATTACHMENTS))
        else []
    )
    contact = {"name": complaint.complainant_name, "phone": complaint.contact_phone, "email": complaint.contact_email}
    return {
        "d": info,
        "contact": contact if visible else None,
        "masked_phone": mask_phone(complaint.contact_phone),
        "photos": photos,
        "may_resolve": may(actor, Step.RESOLVE, complaint_case(session, complaint, Step.RESOLVE)),
        "may_assess": may(actor, Step.ASSESS, complaint_case(session, complaint, Step.ASSESS)),
        "escalated_to": complaint_pages.escalated_to(ctx.core.policy.escalation.chain, complaint.escalation_level),
        "prefect_url": runs_page(ctx.prefect_ui, reference),
        "tag": complaint_tag(reference),
    }


def task_context(ctx: WebContext, session: Session, actor: Actor, reference: str, task: str) -> dict[str, Any]:
    """An action page's context: the complaint's detail, and whether and how its task is open."""
    page = detail(ctx, session, actor, reference, task)
    complaint = get_complaint(session, reference)
    status = S(complaint.status)
    open_for = {
        "assessment": status is S.RECEIVED,
        "resolution": status in ASSIGNED_STATES,
        "confirmation": status is S.RESOLVED,
        "revisit": status is S.REVISIT_DUE,
        "duplicate": status in (S.RECEIVED, S.ASSIGNED) or status is S.ASSESSED,
    }
    escalation = lifecycle.open_transfer(session, complaint.id)
    decidable = escalation is not None and status in DECIDABLE_STATES
    open_for["decision"] = open_for["escalation"] = decidable
    revisit = complaint_pages.open_revisit(session, complaint.id)
    on_site = revisit is not None and must_be_on_site(revisit.sequence, complaint_valid=bool(complaint.valid))
    page.update(
        task=task,
        is_open=open_for[task],
        version=complaint.version,
        escalation=escalation,
        departments=complaint_pages.departments(session, complaint.estate_id)
        if task in ("decision", "escalation")
        else [],
        revisit_sequence=revisit.sequence if revisit else 0,
        first_revisit_of_valid=on_site,
        suggestion=assessment.suggestion_for(session, actor, complaint, ctx.core.policy)
        if task == "assessment"
        else None,
    )
    return page


def spend_link(session: Session, claim: links.LinkClaim | None, at: datetime) -> None:
    """Mark the email link ``claim`` used, in the transaction of the step it was sent for."""
    if claim is not None:
        session.add(UsedLink(jti=claim.jti, staff_id=claim.staff_id, path=claim.path[:300], used_at=at))


def router(ctx: WebContext) -> APIRouter:
    """The staff pages of complaints."""
    web = APIRouter()

    @web.get("/staff/complaints/{reference}", response_class=HTMLResponse)
    async def complaint_page(request: Request, reference: str) -> Response:
        actor = await ctx.require_staff(request)
        page = await ctx.core.run(lambda s: detail(ctx, s, actor, reference, "complaint"))
        return ctx.render(request, "complaint.html", actor=actor, **page)

    @web.get("/staff/complaints/{reference}/photos/{photo_id}")
    async def photo(request: Request, reference: str, photo_id: RowIdInPath) -> Response:
        token = request.query_params.get(links.QUERY_KEY, "")
        actor, _ = await ctx.acting(request, token, f"/staff/complaints/{reference}/")
        found = await ctx.core.run(lambda s: complaint_pages.attachment_file(s, actor, reference, photo_id))
        content_type, filename, stored_name = found
        try:
            data = await asyncio.to_thread(ctx.store.read, stored_name)
        except FileNotFoundError as exc:
            raise NotFound("the file of this attachment is missing from the store") from exc
        if content_type in ALLOWED.values():  # checked images (the form) show in the page
            return Response(data, media_type=content_type)
        # Anything else (e.g. uploaded through the API) is only downloaded, never rendered here.
        disposition = f"attachment; filename*=UTF-8''{quote(filename)}"
        return Response(data, media_type="application/octet-stream", headers={"Content-Disposition": disposition})

    @web.get("/staff/complaints/{reference}/revisits/{sequence}/signature.png")
    async def signature(
        request: Request, reference: str, sequence: Annotated[int, Path(ge=1, le=MAX_ROW_ID)]
    ) -> Response:
        token = request.query_params.get(links.QUERY_KEY, "")
        actor, _ = await ctx.acting(request, token, f"/staff/complaints/{reference}/")
        png = await ctx.core.run(lambda s: complaint_pages.signature_png(s, actor, reference, sequence))
        return Response(png, media_type="image/png", headers={"X-Content-Type-Options": "nosniff"})

    async def action_page(
        request: Request,
        reference: str,
        task: str,
        token: str,
        values: dict[str, str],
        errors: dict[str, str],
        status_code: int = 200,
        actor: Actor | None = None,
    ) -> Response:
        if actor is None:
            actor, _ = await ctx.acting(request, token)
        who = actor
        page = await ctx.core.run(lambda s: task_context(ctx, s, who, reference, task))
        return ctx.render(
            request,
            f"task_{'decision' if task == 'escalation' else task}.html",
            status_code,
            actor=who,
            token=token,
            values=values,
            errors=errors,
            categories=[c.value for c in Category],
            service_areas=[a.value for a in ServiceArea],
            severities=[v.value for v in Severity],
            urgencies=[v.value for v in Urgency],
            methods=[m.value for m in RevisitMethod],
            satisfactions=[v.value for v in Satisfaction],
            **page,
        )

    @web.get("/staff/complaints/{reference}/{task}", response_class=HTMLResponse)
    async def task_page(request: Request, reference: str, task: str) -> Response:
        if task not in TASKS:
            raise NotFound("no such page")
        return await action_page(request, reference, task, request.query_params.get(links.QUERY_KEY, ""), {}, {})

    @web.post("/staff/complaints/{reference}/{task}", response_class=HTMLResponse)
    async def task_post(request: Request, reference: str, task: str) -> Response:
        if task not in TASKS:
            raise NotFound("no such page")
        form = await ctx.read_form(request)
        token = text(form, links.QUERY_KEY)
        actor, claim = await ctx.acting(request, token)
        op = text(form, "op")
        if op not in ALLOWED_OPS[task]:
            raise NotFound(f"no operation {op!r} on this page")
        values = {k: v for k, v in form.items() if isinstance(v, str) and k not in (CSRF_FIELD, "signature_png_base64")}
        version_text = text(form, "version")
        version = int(version_text) if version_text.isdigit() else None
        try:
            data = step_input(steps.STEPS[op].schema, form, version, ctx.zone)
        except ValidationError as exc:
            return await action_page(request, reference, task, token, values, form_errors(exc), 422, actor)
        except InvalidInput as exc:
            refused = {exc.field: field_refusal(exc)}
            return await action_page(request, reference, task, token, values, refused, 422, actor)
        at = ctx.now()
        ends_task = steps.STEPS[op].ends_task
        also = (lambda s: spend_link(s, claim, at)) if ends_task else None
        try:
            done = await steps.run_step(ctx.core, op, reference, data, actor, at, also=also)
        except InvalidInput as exc:
            refused = {exc.field: field_refusal(exc)}
            return await action_page(request, reference, task, token, values, refused, 422, actor)
        ctx.follow(done.follow_ups)
        if not ends_task:
            target = request.url.path + (f"?{urlencode({links.QUERY_KEY: token})}" if token else "")
            return RedirectResponse(target + ("&" if token else "?") + "saved=" + op, status_code=303)
        return ctx.render(request, "done.html", reference=reference, op=op, via_link=claim is not None)

    return web
