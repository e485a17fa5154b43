"""The front desk's repair requests: staff register a resident's repair or service request taken by
phone or at the desk (R-IN-1); it is dispatched at once to its trade's least busy technician (R-HD-2)
and the page confirms the job's reference, technician and on-site deadline."""

from __future__ import annotations

import re
import secrets
import unicodedata
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from estatecare.reads import front_desk
from estatecare.reads import repairs as repair_reads
from estatecare.services import idempotency, steps
from estatecare.services.errors import Forbidden, InvalidInput
from estatecare.services.people import Actor
from estatecare.services.repair_schemas import JobAccepted, RepairIn
from estatecare.services.schemas import EARLIEST_YEAR, LATEST_YEAR
from estatecare.webapp.context import WebContext
from estatecare.webapp.forms import errors as form_errors
from estatecare.webapp.forms import field_refusal, text, typed_date
from estatecare.webapp.front_desk_pages import REGISTRARS, desk_choices
from models.enums import Channel, Locale, Trade, Urgency

#: The channels the desk takes a request by: a call, or the resident at the desk (walk-in).
CHANNELS = (Channel.PHONE, Channel.FRONT_DESK)
FIELDS = (
    "channel",
    "estate",
    "building",
    "unit",
    "contact_name",
    "contact_phone",
    "contact_email",
    "locale",
    "trade",
    "urgency",
    "preferred_at",
    "description",
)
#: The code ``repair_desk.html`` words as "give the resident's phone or email".
CONTACT_NEEDED = "contact_needed"
_FORM_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")
_TYPED_AT = re.compile(r"(?P<day>\S+)\s+(?P<h>\d{1,2}):(?P<m>\d{2})", re.ASCII)


def _registrar(actor: Actor) -> Actor:
    if actor.role not in REGISTRARS:
        raise Forbidden("requests are registered by the service centre and the supervisors")
    return actor


def local_datetime(value: str, tz: ZoneInfo) -> datetime | None:
    """A typed time ``YYYY-MM-DD HH:MM`` (the day as ``forms.typed_date`` reads it) in the policy's
    timezone as a UTC instant; None when empty, ValueError when it is not such a time."""
    typed = unicodedata.normalize("NFKC", value).strip()
    if not typed:
        return None
    m = _TYPED_AT.fullmatch(typed)
    if m is None:
        raise ValueError(f"not a time YYYY-MM-DD HH:MM: {value!r}")
    day = typed_date(m["day"])
    if not EARLIEST_YEAR <= day.year <= LATEST_YEAR:
        raise ValueError(f"give a date between {EARLIEST_YEAR}-01-01 and {LATEST_YEAR}-12-31")
    return datetime.combine(day, time(int(m["h"]), int(m["m"])), tz).astimezone(UTC)


def checked(
    values: dict[str, str], estates: list[tuple[str, str]], tz: ZoneInfo
) -> tuple[RepairIn | None, dict[str, str]]:
    """The request as typed, and what is wrong with it (field -> code)."""
    errors: dict[str, str] = {}
    if values["channel"] not in {c.value for c in CHANNELS}:
        errors["channel"] = "choice"
    codes = [code for code, _ in estates]
    estate = values["estate"] if len(codes) > 1 else (codes[0] if codes else "")
    if estate not in codes:
        errors["estate"] = "choice"
    preferred_at = None
    try:
        preferred_at = local_datetime(values["preferred_at"], tz)
    except ValueError:
        errors["preferred_at"] = "format"
    raw = {k: v for k, v in values.items() if k not in ("estate", "preferred_at") and v}
    try:
        data = RepairIn.model_validate({**raw, "estate": estate, "preferred_at": preferred_at})
    except ValidationError as exc:
        found = form_errors(exc)
        if found.pop("form", None) is not None and not values["contact_phone"] and not values["contact_email"]:
            found.setdefault("contact_phone", CONTACT_NEEDED)  # the schema's check of the form as a whole
        return None, {**(found or {"form": "refused"}), **errors}
    return (data if not errors else None), errors


def _request(
    ctx: WebContext, session: Session, actor: Actor, key: str | None, data: RepairIn
) -> tuple[str, tuple[steps.FollowUp, ...]]:
    """Take the request step with ``actor`` as its receiver (or find the job this form already sent)."""
    if key is not None and (first := idempotency.recall(session, key)) is not None:
        return first.body, ()
    done = steps.apply_step(ctx.core, session, "repair-request", 0, data, actor, ctx.now())
    accepted: JobAccepted = done.answer
    if key is not None:
        digest = idempotency.request_hash(data.model_dump(mode="json"))
        idempotency.keep(session, key, digest, idempotency.Kept(303, accepted.reference), ctx.now())
    return accepted.reference, done.follow_ups


def router(ctx: WebContext) -> APIRouter:
    """The front desk's repair request pages."""
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
            "repair_desk.html",
            status_code,
            actor=actor,
            values=values,
            errors=errors,
            estates=estates,
            buildings=names,
            channels=[c.value for c in CHANNELS],
            trades=[t.value for t in Trade],
            urgencies=[u.value for u in Urgency],
            locales=[loc.value for loc in Locale],
            form_token=form_token if _FORM_TOKEN.fullmatch(form_token) else secrets.token_urlsafe(24),
        )

    @web.get("/staff/front-desk/repairs", response_class=HTMLResponse)
    async def repair_form(request: Request) -> Response:
        actor = _registrar(await ctx.require_staff(request))
        channel = request.query_params.get("channel", "")
        values = {
            "channel": channel if channel in {c.value for c in CHANNELS} else Channel.PHONE.value,
            "urgency": Urgency.NORMAL.value,
            "locale": policy.company.default_locale.value,
        }
        return await form_page(request, actor, values, {})

    @web.post("/staff/front-desk/repairs", response_class=HTMLResponse)
    async def repair_post(request: Request) -> Response:
        actor = _registrar(await ctx.require_staff(request))
        form: FormData = await ctx.read_form(request)
        values = {name: text(form, name) for name in FIELDS}
        token = text(form, "form_token")
        key = f"web:repair-desk:{actor.id}:{token}" if _FORM_TOKEN.fullmatch(token) else None
        estates = await ctx.core.run(lambda s: front_desk.estates_for(s, actor))
        data, errors = checked(values, estates, ctx.zone)
        if data is None:
            return await form_page(request, actor, values, errors, 422, token)
        valid = data
        try:
            reference, follow_ups = await ctx.core.run(lambda s: _request(ctx, s, actor, key, valid))
        except InvalidInput as exc:
            return await form_page(request, actor, values, {exc.field: field_refusal(exc)}, 422, token)
        except IntegrityError:
            first = await ctx.core.run(lambda s: idempotency.recall(s, key)) if key is not None else None
            if first is None:
                raise
            reference, follow_ups = first.body, ()  # sent twice at once: the first one stands
        ctx.follow(follow_ups)
        return RedirectResponse(f"/staff/front-desk/repairs/registered/{reference}", status_code=303)

    @web.get("/staff/front-desk/repairs/registered/{reference}", response_class=HTMLResponse)
    async def registered(request: Request, reference: str) -> Response:
        actor = _registrar(await ctx.require_staff(request))
        job = await ctx.core.run(lambda s: repair_reads.job(s, actor, reference))
        return ctx.render(request, "repair_desk.html", actor=actor, done=job)

    return web
