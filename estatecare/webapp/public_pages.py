"""Residents' pages: the home page, the online complaint form, its confirmation and the status page.

The status page shows a complaint's progress to whoever gives its reference and its phone or
email, and no personal data.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile

from estatecare import links
from estatecare.attachments import StorageFull, TooLarge
from estatecare.reads import complaint_pages
from estatecare.services import idempotency, steps
from estatecare.services.errors import InvalidInput, NotFound
from estatecare.services.schemas import ComplaintIn
from estatecare.uploads import Photo, UploadError, check_photo
from estatecare.webapp.context import WebContext, client_key
from estatecare.webapp.forms import errors as form_errors
from estatecare.webapp.forms import field_refusal, retry_after, text
from estatecare.webapp.pending_photos import KeptPhoto, PendingPhotos
from estatecare.webapp.security import CSRF_FIELD, csrf_ok
from models import ComplaintAttachment
from models.enums import Category

log = logging.getLogger("estatecare.webapp")
#: The complaint form's one-time token (``form_token``): sent again, the form gets its first answer.
_FORM_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")
_FIELDS = ("estate", "building", "unit", "complainant_name", "contact_phone", "contact_email", "category", "content")


async def _complaint_form(
    ctx: WebContext,
    request: Request,
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
    form_token: str = "",
    kept: list[tuple[str, str]] | None = None,
    dropped: bool = False,
) -> Response:
    """The form; ``kept``: (signed reference, name) of the photos kept pending, ``dropped``: photos
    chosen this time that could not be kept."""
    settings = ctx.settings
    return ctx.render(
        request,
        "complaint_form.html",
        status_code,
        estates=await ctx.core.run(complaint_pages.estates),
        values=values,
        errors=errors,
        form_token=form_token if _FORM_TOKEN.fullmatch(form_token) else secrets.token_urlsafe(24),
        categories=[c.value for c in Category],
        max_files=settings.upload_max_files,
        max_mb=round(settings.upload_max_bytes / 1_000_000, 1),
        max_mp=round(settings.upload_max_pixels / 1_000_000),
        kept=kept or [],
        photos_dropped=dropped,
    )


async def _checked(
    ctx: WebContext, request: Request, form: FormData, values: dict[str, str], kept: int
) -> tuple[ComplaintIn | None, list[Photo], dict[str, str]]:
    """The complaint and its new photos as sent (``kept`` more are pending from before), and what
    is wrong with them (field -> code); a refused photo is named, the others are returned."""
    settings = ctx.settings
    errors: dict[str, str] = {}
    data: ComplaintIn | None = None
    try:
        data = ComplaintIn.model_validate(
            {
                **{k: v for k, v in values.items() if k != "category"},
                "category": values["category"] or None,
                "locale": ctx.locale_of(request).value,
            }
        )
    except ValidationError as exc:
        errors.update(form_errors(exc))
    if not values["contact_phone"].strip() and not values["contact_email"].strip():
        errors.setdefault("contact_phone", "contact")
    photos: list[Photo] = []
    uploads = [u for u in form.getlist("photos") if isinstance(u, UploadFile) and u.filename]
    if len(uploads) + kept > settings.upload_max_files:
        errors["photos"] = "count"
        return data, photos, errors
    for upload in uploads:
        raw = await upload.read(settings.upload_max_bytes + 1)
        try:
            photos.append(
                check_photo(upload.filename or "", raw, settings.upload_max_bytes, settings.upload_max_pixels)
            )
        except UploadError as exc:
            if "photos" not in errors:
                errors["photos"] = exc.code
                values["photo_name"] = exc.filename
    return data, photos, errors


def _save(
    ctx: WebContext,
    session: Session,
    key: str | None,
    values: dict[str, str],
    data: ComplaintIn,
    stored: list[KeptPhoto],
) -> tuple[str, steps.FollowUp | None]:
    """Register the complaint with its stored photos (or find the one this form already sent)."""
    if key is not None and (first := idempotency.recall(session, key)) is not None:
        return first.body, None
    taken = steps.intake(ctx.core, session, data, None, ctx.now())
    complaint = taken.complaint
    for photo in stored:
        session.add(
            ComplaintAttachment(
                complaint_id=complaint.id,
                filename=photo.filename,
                content_type=photo.content_type,
                size=photo.stored.size,
                sha256=photo.stored.sha256,
                stored_name=photo.stored.stored_name,
                uploaded_at=ctx.now(),
            )
        )
    if key is not None:
        digest = idempotency.request_hash(values)
        idempotency.keep(session, key, digest, idempotency.Kept(303, complaint.reference), ctx.now())
    return complaint.reference, taken.follow_up


async def _post_complaint(ctx: WebContext, request: Request) -> Response:
    """An online complaint sent: saved with its photos, or the form again with what was written kept."""
    settings = ctx.settings
    store = ctx.store
    form = await request.form(
        max_files=settings.upload_max_files + 1, max_fields=30, max_part_size=settings.upload_max_bytes + 1024
    )
    values = {name: text(form, name) for name in _FIELDS}
    token = text(form, "form_token")
    pending = PendingPhotos(store, links.secret_key(settings))
    # photos kept pending from an earlier try, less those the resident ticked to remove
    named = [v for v in form.getlist("kept_photo") if isinstance(v, str)]
    removed = {v for v in form.getlist("remove_photo") if isinstance(v, str)}
    kept, lost = pending.read([ref for ref in named if ref not in removed])
    chosen = any(isinstance(u, UploadFile) and u.filename for u in form.getlist("photos"))

    async def again(errors: dict[str, str], status: int, photos: list[KeptPhoto], dropped: bool = False) -> Response:
        """The form once more, what was written kept, its photos listed."""
        if lost:
            errors.setdefault("photos", "lost")
        listed = [(pending.reference(p), p.filename) for p in photos]
        return await _complaint_form(ctx, request, values, errors, status, token, listed, dropped)

    if not csrf_ok(request.session, form.get(CSRF_FIELD)):
        return await again({"form": "csrf"}, 400, kept, chosen)
    key = f"web:complaint:{token}" if _FORM_TOKEN.fullmatch(token) else None
    if key is not None and (first := await ctx.core.run(lambda s: idempotency.recall(s, key))) is not None:
        return RedirectResponse(f"/complaints/submitted/{first.body}", status_code=303)  # sent again
    refusal = ctx.intake.admit(client_key(request))
    if refusal is not None:
        code = "rate" if refusal.limit == "address" else "busy"
        return retry_after(await again({"form": code}, 429, kept, chosen), refusal.retry_after)
    for photo in pending.read([ref for ref in named if ref in removed])[0]:
        await asyncio.to_thread(pending.discard, photo)
    data, photos, errors = await _checked(ctx, request, form, values, len(kept))
    dropped = errors.get("photos") == "count"
    try:  # every new photo waits pending until the complaint is saved with it
        for new in photos:
            kept.append(await asyncio.to_thread(pending.put, new, ctx.now()))
    except (StorageFull, TooLarge) as exc:
        log.warning("photos of an online complaint not stored: %s", exc)
        errors.setdefault("photos", "storage")
        return await again(errors, 507, kept, True)
    if errors or data is None or lost:
        return await again(errors, 422, kept, dropped)
    valid = data
    claimed: list[KeptPhoto] = []

    async def release() -> None:
        """Put the photos claimed for a complaint that was not saved back to pending."""
        for photo in claimed:
            await asyncio.to_thread(pending.release, photo)

    for photo in kept:
        try:
            claimed.append(await asyncio.to_thread(pending.claim, photo))
        except FileNotFoundError:  # swept, or taken by this form sent twice at once
            await release()
            if key is not None and (first := await ctx.core.run(lambda s: idempotency.recall(s, key))):
                return RedirectResponse(f"/complaints/submitted/{first.body}", status_code=303)
            left = [p for p in kept if p is not photo]
            return await again({"photos": "lost"}, 422, left)
    try:
        reference, created = await ctx.core.run(lambda s: _save(ctx, s, key, values, valid, claimed))
    except BaseException as exc:
        if isinstance(exc, InvalidInput):
            await release()
            return await again({exc.field: field_refusal(exc)}, 422, claimed)
        for photo in claimed:  # nothing half-written: no file without its complaint
            store.delete(photo.stored.stored_name)
        if isinstance(exc, IntegrityError) and key is not None:  # sent twice at once: the first stands
            first = await ctx.core.run(lambda s: idempotency.recall(s, key))
            if first is not None:
                return RedirectResponse(f"/complaints/submitted/{first.body}", status_code=303)
        raise
    if created is not None:
        ctx.follow([created])
    else:
        for photo in claimed:
            store.delete(photo.stored.stored_name)
    return RedirectResponse(f"/complaints/submitted/{reference}", status_code=303)


def router(ctx: WebContext) -> APIRouter:
    """The residents' pages."""
    web = APIRouter()

    @web.get("/", response_class=HTMLResponse)
    async def home(request: Request) -> Response:
        return ctx.render(request, "home.html")

    @web.get("/complaints/new", response_class=HTMLResponse)
    async def new_complaint(request: Request) -> Response:
        return await _complaint_form(ctx, request, {"estate": request.query_params.get("estate", "")}, {})

    @web.post("/complaints/new", response_class=HTMLResponse)
    async def post_complaint(request: Request) -> Response:
        return await _post_complaint(ctx, request)

    @web.get("/complaints/submitted/{reference}", response_class=HTMLResponse)
    async def submitted(request: Request, reference: str) -> Response:
        if not await ctx.core.run(lambda s: complaint_pages.complaint_exists(s, reference)):
            raise NotFound(f"no complaint {reference}")
        return ctx.render(request, "submitted.html", reference=reference)

    @web.get("/status", response_class=HTMLResponse)
    @web.get("/status/{reference}", response_class=HTMLResponse)
    async def status_form(request: Request, reference: str = "") -> Response:
        return ctx.render(request, "status_form.html", values={"reference": reference}, error="")

    @web.post("/status", response_class=HTMLResponse)
    async def status_page(request: Request) -> Response:
        form = await ctx.read_form(request)
        reference = text(form, "reference").strip().upper()
        contact = text(form, "contact").strip()
        values = {"reference": reference, "contact": contact}
        limit = ctx.login_limit
        if not limit.hit("status:" + client_key(request)):
            page = ctx.render(request, "status_form.html", 429, values=values, error="rate")
            return retry_after(page, limit.retry_after("status:" + client_key(request)))
        found = await ctx.core.run(lambda s: complaint_pages.resident_status(s, reference, contact))
        if found is None:
            return ctx.render(request, "status_form.html", 404, values=values, error="nomatch")
        return ctx.render(request, "status.html", c=found)

    return web
