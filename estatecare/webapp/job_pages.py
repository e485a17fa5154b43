"""The technician's page of a job (``/staff/work-orders/REF``), reached from the signed link of the
job's email or signed in: the job with the resident's contact for those who may see it (R-IN-6),
the arrival, the completion with the resident's sign-off drawn on the phone or a note why there
is none, and the department head's reassignment (R-HD-2); a finished job's record read-only.

Each form is one step of the step table. The arrival keeps the email link for the completion that
follows on site; the completion and a reassignment spend it in the step's own transaction.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from estatecare import links
from estatecare.reads import repairs as repair_reads
from estatecare.services import steps
from estatecare.services.errors import InvalidInput, NotFound
from estatecare.services.people import Actor
from estatecare.webapp.context import WebContext
from estatecare.webapp.errors import LinkRefused
from estatecare.webapp.forms import errors as form_errors
from estatecare.webapp.forms import field_refusal, step_input, text
from estatecare.webapp.security import CSRF_FIELD
from estatecare.webapp.staff_pages import spend_link

#: The page's forms (``op``) -> the step each takes.
OPS = {"arrive": "job-arrive", "complete": "job-complete", "reassign": "job-reassign"}
#: The steps after which the email link is spent: the arrival keeps it for the completion on site.
SPENDS_LINK = frozenset({"complete", "reassign"})
#: The code ``job.html`` words as "sign, or write why not" (the completion's check of the form as a whole).
SIGNOFF_NEEDED = "signoff_needed"


def page_path(reference: str) -> str:
    """The job's page, the path its email link is signed for."""
    return f"/staff/work-orders/{reference}"


def refusals(op: str, form: FormData, exc: ValidationError) -> dict[str, str]:
    """The form's errors by field; a completion without the resident's sign-off names the signature."""
    found = form_errors(exc)
    found.pop("form", None)  # the schema's check of the whole form: only the sign-off has one
    if op == "complete" and not text(form, "signature_png_base64") and not text(form, "refusal_note").strip():
        found.setdefault("signature_png_base64", SIGNOFF_NEEDED)
    return found or {"form": "refused"}


def router(ctx: WebContext) -> APIRouter:
    """The technician's page of a job."""
    web = APIRouter()

    async def job_page(
        request: Request,
        actor: Actor,
        reference: str,
        token: str,
        values: dict[str, str],
        errors: dict[str, str],
        status_code: int = 200,
    ) -> Response:
        p = await ctx.core.run(lambda s: repair_reads.job_page(s, actor, reference))
        return ctx.render(
            request,
            "job.html",
            status_code,
            p=p,
            token=token,
            values=values,
            errors=errors,
            now=ctx.now(),
            saved=request.query_params.get("saved", "") if request.method == "GET" else "",
        )

    @web.get("/staff/work-orders/{reference}", response_class=HTMLResponse)
    async def job_get(request: Request, reference: str) -> Response:
        token = request.query_params.get(links.QUERY_KEY, "")
        actor, _ = await ctx.acting(request, token)  # the technician's job email links here, signed
        return await job_page(request, actor, reference, token, {}, {})

    @web.get("/staff/work-orders/{reference}/signature.png")
    async def job_signature(request: Request, reference: str) -> Response:
        token = request.query_params.get(links.QUERY_KEY, "")
        actor, claim = await ctx.acting(request, token, page_path(reference))
        if claim is not None and claim.path != page_path(reference):  # another job's page sharing the prefix
            raise LinkRefused("wrong_page")
        png = await ctx.core.run(lambda s: repair_reads.signature_png(s, actor, reference))
        return Response(png, media_type="image/png", headers={"X-Content-Type-Options": "nosniff"})

    @web.post("/staff/work-orders/{reference}", response_class=HTMLResponse)
    async def job_post(request: Request, reference: str) -> Response:
        form = await ctx.read_form(request)
        token = text(form, links.QUERY_KEY)
        actor, claim = await ctx.acting(request, token)
        op = text(form, "op")
        if op not in OPS:
            raise NotFound(f"no operation {op!r} on this page")
        name = OPS[op]
        hidden = (CSRF_FIELD, "signature_png_base64", links.QUERY_KEY, "op", "version")
        values = {k: v for k, v in form.items() if isinstance(v, str) and k not in hidden}
        version_text = text(form, "version")
        version = int(version_text) if version_text.isdigit() else None
        at = ctx.now()
        also = (lambda s: spend_link(s, claim, at)) if op in SPENDS_LINK else None
        try:
            data = step_input(steps.STEPS[name].schema, form, version, ctx.zone)
            done = await steps.run_step(ctx.core, name, reference, data, actor, at, also=also)
        except ValidationError as exc:
            return await job_page(request, actor, reference, token, values, refusals(op, form, exc), 422)
        except InvalidInput as exc:
            refused = {exc.field: field_refusal(exc)}
            return await job_page(request, actor, reference, token, values, refused, 422)
        ctx.follow(done.follow_ups)
        if op not in SPENDS_LINK:
            query = {links.QUERY_KEY: token} if token else {}
            return RedirectResponse(f"{page_path(reference)}?{urlencode({**query, 'saved': op})}", status_code=303)
        return ctx.render(
            request, "done.html", reference=reference, op=name, work_order=True, via_link=claim is not None
        )

    return web
