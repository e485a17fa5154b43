"""The front desk: staff register a complaint received by phone, at the desk, by letter, from a
superior body or on patrol, as its receiver (R-IN-1, R-IN-2); a written one gets its number
in the incoming-document log and its reply is a printable letter (R-IN-3, R-IN-4).
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from babel.dates import format_date
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from estatecare.reads import front_desk, tasks
from estatecare.services import idempotency, steps
from estatecare.services.errors import Forbidden, InvalidInput
from estatecare.services.people import Actor
from estatecare.services.records import get_complaint
from estatecare.services.schemas import ComplaintIn
from estatecare.webapp.context import WebContext
from estatecare.webapp.forms import errors as form_errors
from estatecare.webapp.forms import field_refusal, text
from estatecare.webapp.i18n import environment
from models.enums import Category, Channel, Locale
from models.permissions import VISITORS
from notifications.i18n import BABEL_LOCALES

#: The channels the front desk registers (the online form is the residents' own).
CHANNELS = (
    Channel.PHONE,
    Channel.FRONT_DESK,
    Channel.LETTER,
    Channel.SUPERIOR_BODY,
    Channel.PATROL,
    Channel.EMAIL,
)
WRITTEN = (Channel.LETTER.value, Channel.SUPERIOR_BODY.value)
#: Who registers complaints here: the service centre, the supervisors and leaders.
REGISTRARS = VISITORS
FIELDS = (
    "channel",
    "estate",
    "building",
    "unit",
    "complainant_name",
    "contact_phone",
    "contact_email",
    "locale",
    "category",
    "content",
    "incoming_doc_number",
    "reply_only",
)
_FORM_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")


def _registrar(actor: Actor) -> Actor:
    if actor.role not in REGISTRARS:
        raise Forbidden("complaints are registered by the service centre and the supervisors")
    return actor


def _checked(values: dict[str, str], estates: list[tuple[str, str]]) -> tuple[ComplaintIn | None, dict[str, str]]:
    """The complaint as typed, and what is wrong with it (field -> code or message)."""
    errors: dict[str, str] = {}
    if values["channel"] not in {c.value for c in CHANNELS}:
        errors["channel"] = "choice"
    if values["reply_only"] and values["channel"] != Channel.SUPERIOR_BODY.value:
        errors["reply_only"] = "reply_only"
    codes = [code for code, _ in estates]
    estate = values["estate"] if len(codes) > 1 else (codes[0] if codes else "")
    if estate not in codes:
        errors["estate"] = "choice"
    try:
        data = ComplaintIn.model_validate(
            {
                **{k: v for k, v in values.items() if k not in ("category", "reply_only", "estate", "channel")},
                "estate": estate,
                "channel": values["channel"] or None,
                "category": values["category"] or None,
                "reply_only": values["reply_only"] == "yes",
            }
        )
    except ValidationError as exc:
        return None, {**form_errors(exc), **errors}
    return (data if not errors else None), errors


def _register(
    ctx: WebContext, session: Session, actor: Actor, key: str | None, data: ComplaintIn
) -> tuple[str, steps.FollowUp | None]:
    """Register the complaint with ``actor`` as its receiver (or find the one this form already sent)."""
    if key is not None and (first := idempotency.recall(session, key)) is not None:
        return first.body, None
    taken = steps.intake(ctx.core, session, data, actor, ctx.now())
    reference = taken.complaint.reference
    if key is not None:
        digest = idempotency.request_hash(data.model_dump(mode="json"))
        idempotency.keep(session, key, digest, idempotency.Kept(303, reference), ctx.now())
    return reference, taken.follow_up


def _code(exc: InvalidInput) -> str:
    """The code of a refusal the page words itself, else the form's (``forms.field_refusal``)."""
    if exc.field == "incoming_doc_number":
        return "taken" if "already used" in str(exc) else "not_written"
    return field_refusal(exc)


def _letter_page(ctx: WebContext, session: Session, actor: Actor, reference: str) -> dict[str, Any]:
    """The letter's context; showing it shows the complainant's name: logged (R-IN-6)."""
    letter = front_desk.letter(session, actor, reference)
    if letter.reply is not None and letter.addressee:
        tasks.log_contact_view(session, actor, get_complaint(session, reference), "letter", ctx.now())
    return {"letter": letter}


async def desk_choices(ctx: WebContext, actor: Actor) -> tuple[list[tuple[str, str]], list[str]]:
    """The estates ``actor`` registers for and their buildings, for a front-desk form's pickers."""

    def read(session: Session) -> tuple[list[tuple[str, str]], list[str]]:
        estates = front_desk.estates_for(session, actor)
        return estates, front_desk.buildings(session, [code for code, _ in estates])

    return await ctx.core.run(read)


def router(ctx: WebContext) -> APIRouter:
    """The front desk pages."""
    web = APIRouter()
    policy = ctx.core.policy

    async def form_page(
        request: Request,
        actor: Actor,
        values: dict[str, str],
        errors: dict[str, str],
        status_code: int = 200,
        form_token: str = "",
    ) -> Response:
        estates, names = await desk_choices(ctx, actor)
        return ctx.render(
            request,
            "front_desk.html",
            status_code,
            actor=actor,
            values=values,
            errors=errors,
            estates=estates,
            buildings=names,
            channels=[c.value for c in CHANNELS],
            written=WRITTEN,
            categories=[c.value for c in Category],
            locales=[loc.value for loc in Locale],
            form_token=form_token if _FORM_TOKEN.fullmatch(form_token) else secrets.token_urlsafe(24),
        )

    @web.get("/staff/front-desk", response_class=HTMLResponse)
    async def front_desk_form(request: Request) -> Response:
        actor = _registrar(await ctx.require_staff(request))
        channel = request.query_params.get("channel", "")
        values = {"channel": channel if channel in {c.value for c in CHANNELS} else Channel.PHONE.value}
        return await form_page(request, actor, {**values, "locale": policy.company.default_locale.value}, {})

    @web.post("/staff/front-desk", response_class=HTMLResponse)
    async def front_desk_post(request: Request) -> Response:
        actor = _registrar(await ctx.require_staff(request))
        form: FormData = await ctx.read_form(request)
        values = {name: text(form, name) for name in FIELDS}
        token = text(form, "form_token")
        key = f"web:front-desk:{actor.id}:{token}" if _FORM_TOKEN.fullmatch(token) else None
        estates = await ctx.core.run(lambda s: front_desk.estates_for(s, actor))
        data, errors = _checked(values, estates)
        if data is None:
            return await form_page(request, actor, values, errors, 422, token)
        valid = data
        try:
            reference, follow_up = await ctx.core.run(lambda s: _register(ctx, s, actor, key, valid))
        except InvalidInput as exc:
            return await form_page(request, actor, values, {exc.field: _code(exc)}, 422, token)
        except IntegrityError:
            first = await ctx.core.run(lambda s: idempotency.recall(s, key)) if key is not None else None
            if first is None:
                raise
            reference, follow_up = first.body, None  # sent twice at once: the first one stands
        if follow_up is not None:
            ctx.follow([follow_up])
        return RedirectResponse(f"/staff/front-desk/registered/{reference}", status_code=303)

    @web.get("/staff/front-desk/registered/{reference}", response_class=HTMLResponse)
    async def registered(request: Request, reference: str) -> Response:
        actor = await ctx.require_staff(request)
        done = await ctx.core.run(lambda s: front_desk.registered(s, actor, reference))
        return ctx.render(request, "front_desk.html", actor=actor, done=done, written=WRITTEN)

    @web.get("/staff/complaints/{reference}/letter", response_class=HTMLResponse)
    async def reply_letter(request: Request, reference: str) -> Response:
        actor = await ctx.require_staff(request)
        page = await ctx.core.run(lambda s: _letter_page(ctx, s, actor, reference))
        letter: front_desk.Letter = page["letter"]
        # The letter speaks the complainant's language; "nothing to reply yet" the reader's.
        locale = letter.locale if letter.reply is not None else ctx.locale_of(request)
        babel_locale = BABEL_LOCALES[locale]
        dated = letter.reply.at.astimezone(ctx.zone).date() if letter.reply else None
        received = letter.received_at.astimezone(ctx.zone).date()
        html = (
            environment(locale, ctx.tz)
            .get_template("reply_letter.html")
            .render(
                company=policy.company.name,
                date=format_date(dated, format="long", locale=babel_locale) if dated else "",
                received=format_date(received, format="long", locale=babel_locale),
                **page,
            )
        )
        status = 200 if letter.reply is not None else 409
        return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})

    return web
