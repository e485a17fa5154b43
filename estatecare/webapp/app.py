"""The web app: server-rendered pages for residents and staff, mounted into the API's FastAPI app.

Residents: the online complaint form, its confirmation, a status page (reference plus phone
or email, no personal data). Staff: login (argon2, session cookie, CSRF on every form), my
tasks, the complaint page with its timeline, the action pages (also reached from signed
email links, ``estatecare.links``), the register with CSV/xlsx export. Demo: ``/mail``
shows signed-in staff the local mail catcher's messages.

Every step goes through the same service functions as the REST API (one transaction each)
and then dispatches the flow that continues it.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, TypeVar
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from markupsafe import Markup, escape
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import ClientDisconnect

from estatecare import links, mailcatcher
from estatecare.app import App
from estatecare.attachments import AttachmentStore, StorageFull, Stored, TooLarge
from estatecare.dispatch import Dispatcher
from estatecare.rate_limits import IntakeLimits, RateLimit
from estatecare.reads import complaints as views
from estatecare.reads import register as register_reads
from estatecare.reads import revisits as revisit_reads
from estatecare.reads import tasks as access
from estatecare.services import idempotency, lifecycle, steps
from estatecare.services.errors import ConflictError, Forbidden, InvalidInput, NotFound, WrongState
from estatecare.services.people import Actor, complaint_case, may, require_role
from estatecare.services.records import complaint_for, get_complaint, in_transaction
from estatecare.services.schemas import (
    EARLIEST_YEAR,
    LATEST_YEAR,
    MAX_ROW_ID,
    AssessmentIn,
    ComplaintIn,
    ConfirmationIn,
    DecisionIn,
    EscalationIn,
    ProgressIn,
    ResolutionIn,
    ReviewIn,
    RevisitIn,
    RevisitRecordIn,
    RowIdInPath,
)
from estatecare.uploads import ALLOWED, Photo, UploadError, check_photo
from estatecare.webapp import accounts, export, mailbox
from estatecare.webapp.i18n import HERE, environment, pick_locale, translations
from estatecare.webapp.lockout import Lockout, SignIns
from estatecare.webapp.security import CSRF_FIELD, csrf_ok, csrf_token
from flows._naming import complaint_tag, runs_page
from models import (
    Complaint,
    ComplaintAttachment,
    Department,
    Estate,
    Revisit,
    Staff,
    UsedLink,
)
from models.enums import (
    Category,
    ComplaintStatus,
    Locale,
    RevisitMethod,
    Role,
    Satisfaction,
    ServiceArea,
    Severity,
    Urgency,
)
from models.lifecycle import ASSIGNED_STATES, IllegalTransition
from models.permissions import Step
from notifications.catalogue import mask_phone

log = logging.getLogger("estatecare.webapp")
T = TypeVar("T")
S = ComplaintStatus
TASKS = ("assessment", "resolution", "confirmation", "revisit", "decision", "escalation")
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
_URL = re.compile(r"https?://[^\s<>\"']+")
#: The complaint form's one-time token (``form_token``): sent again, the form gets its first answer.
_FORM_TOKEN = re.compile(r"[A-Za-z0-9_-]{16,64}")


class LoginRequired(Exception):
    """The page needs a signed-in staff member."""


class LinkRefused(Exception):
    """An email link that cannot be used (reason: invalid, expired, wrong_page, used, other_person)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def _linkify(text: str) -> Markup:
    """Escape ``text`` and turn its URLs into links (the caught-mail page)."""
    out: list[str] = []
    last = 0
    for match in _URL.finditer(text):
        out.append(str(escape(text[last : match.start()])))
        url = escape(match.group(0))
        out.append(f'<a href="{url}">{url}</a>')
        last = match.end()
    out.append(str(escape(text[last:])))
    return Markup("".join(out))  # noqa: S704 - every piece is escaped above


def _local_date(value: str, tz: ZoneInfo, *, end_of_day: bool = False) -> datetime | None:
    """``YYYY-MM-DD`` in the policy's timezone as a UTC instant (the day's start, or its end)."""
    if not value:
        return None
    day = date.fromisoformat(value)
    if not EARLIEST_YEAR <= day.year <= LATEST_YEAR:
        raise ValueError(f"give a date between {EARLIEST_YEAR}-01-01 and {LATEST_YEAR}-12-31")
    at = datetime.combine(day, time(23, 59) if end_of_day else time(0, 0), tz)
    return at.astimezone(UTC)


#: pydantic error types -> the codes the templates translate (``_forms.html``).
_ERROR_CODES = {
    "missing": "required",
    "string_too_short": "required",
    "too_short": "required",
    "string_too_long": "too_long",
    "string_pattern_mismatch": "format",
    "enum": "choice",
    "literal_error": "choice",
    "bool_parsing": "choice",
    "datetime_parsing": "format",
    "datetime_from_date_parsing": "format",
    "datetime_range": "format",
    "email_address": "format",
}


def _errors(exc: ValidationError) -> dict[str, str]:
    """Field -> an error code the page translates, or the validator's own message."""
    out: dict[str, str] = {}
    for e in exc.errors():
        field = str(e["loc"][0]) if e["loc"] else "form"
        out.setdefault(field, _ERROR_CODES.get(str(e["type"]), str(e["msg"]).removeprefix("Value error, ")))
    return out


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _retry_after(response: Response, seconds: int) -> Response:
    response.headers["Retry-After"] = str(seconds)
    return response


def create_webapp(
    core: App,
    dispatcher: Dispatcher | None = None,
    *,
    clock: Callable[[], datetime] | None = None,
    intake_limits: IntakeLimits | None = None,
) -> FastAPI:
    """The web app over ``core`` (mounted beside the API by ``estatecare.server.create_app``, which
    shares its ``intake_limits`` with the API)."""
    settings = core.settings
    now = clock or (lambda: datetime.now(UTC))
    tz = core.policy.company.timezone
    zone = ZoneInfo(tz)
    secure = settings.session_cookie_secure
    if secure is None:
        secure = settings.base_url.startswith("https://")
    store = AttachmentStore.from_settings(settings)
    intake = intake_limits or IntakeLimits(settings.public_form_rate, settings.public_total_rate)
    login_limit = RateLimit(settings.login_rate)
    sign_ins = SignIns(Lockout.from_settings(settings))
    catcher = mailcatcher.for_settings(settings)
    prefect_ui = (settings.prefect_ui_url or f"http://127.0.0.1:{settings.prefect_port}").rstrip("/")

    web = FastAPI(title="Estate Care web app", docs_url=None, redoc_url=None, openapi_url=None)
    web.add_middleware(
        SessionMiddleware,
        secret_key=links.secret_key(settings) + ":session",
        session_cookie="estatecare_session",
        max_age=int(settings.session_max_age_hours * 3600),
        same_site="lax",
        https_only=secure,
    )
    web.mount("/static", StaticFiles(directory=HERE / "static"), name="static")

    @web.middleware("http")
    async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        # Action links carry their token in the URL: never send it on to another site.
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Content-Security-Policy", CSP)
        return response

    async def db(work: Callable[[Session], T]) -> T:
        return await asyncio.to_thread(in_transaction, core.sessions, work)

    # ------------------------------------------------------------------ rendering

    def locale_of(request: Request) -> Locale:
        requested = request.query_params.get("lang")
        chosen = pick_locale(
            requested,
            request.session.get("lang"),
            request.session.get("staff_locale"),
            request.headers.get("accept-language", ""),
        )
        if requested == chosen.value:
            request.session["lang"] = chosen.value
        return chosen

    def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        locale = locale_of(request)
        env = environment(locale, tz)
        query = {k: v for k, v in request.query_params.items() if k != "lang"}
        lang_links = {loc.value: f"{request.url.path}?{urlencode({**query, 'lang': loc.value})}" for loc in Locale}
        html = env.get_template(template).render(
            request=request,
            csrf=csrf_token(request.session),
            csrf_field=CSRF_FIELD,
            me=request.session.get("staff_name"),
            signed_in=bool(request.session.get("staff_id")),
            lang_links=lang_links,
            demo_mail=catcher is not None,
            **context,
        )
        return HTMLResponse(html, status_code=status_code, headers={"Cache-Control": "no-store"})

    def gettext(request: Request, message: str) -> str:
        return str(translations(locale_of(request)).gettext(message))

    def message_page(request: Request, status_code: int, title: str, text: str, **extra: Any) -> HTMLResponse:
        return render(request, "message.html", status_code, title=title, text=text, **extra)

    # ------------------------------------------------------------------ errors (never a stack trace)

    @web.exception_handler(LoginRequired)
    async def _login_required(request: Request, _: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/staff/login?{urlencode({'next': target})}", status_code=303)

    @web.exception_handler(LinkRefused)
    async def _link_refused(request: Request, exc: LinkRefused) -> Response:
        return render(
            request, "link_refused.html", 410 if exc.reason in ("used", "expired") else 403, reason=exc.reason
        )

    @web.exception_handler(Forbidden)
    async def _forbidden(request: Request, exc: Forbidden) -> Response:
        return message_page(request, 403, "Not allowed", "You may not see or do this.", detail=str(exc))

    @web.exception_handler(NotFound)
    async def _not_found(request: Request, exc: NotFound) -> Response:
        return message_page(request, 404, "Not found", "There is nothing at this address.", detail=str(exc))

    @web.exception_handler(IllegalTransition)
    async def _illegal(request: Request, exc: IllegalTransition) -> Response:
        return message_page(
            request, 409, "Already done", "This step is no longer open: someone has already taken it.", detail=str(exc)
        )

    @web.exception_handler(WrongState)
    async def _wrong_state(request: Request, exc: WrongState) -> Response:
        return message_page(
            request, 409, "Already done", "This step is no longer open: someone has already taken it.", detail=str(exc)
        )

    @web.exception_handler(ConflictError)
    async def _conflict(request: Request, exc: ConflictError) -> Response:
        return message_page(
            request,
            409,
            "Changed meanwhile",
            "The complaint changed while you were working. Reload and try again.",
            detail=str(exc),
        )

    @web.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return message_page(request, 404, "Not found", "There is nothing at this address.")
        return message_page(request, exc.status_code, "Request refused", "The request could not be handled.")

    @web.exception_handler(ClientDisconnect)
    async def _gone(_: Request, __: ClientDisconnect) -> Response:
        # the client left mid-body, or the body limit (``api/limits.py``) already answered 413
        return Response(status_code=400)

    @web.exception_handler(RequestValidationError)
    async def _bad_request(request: Request, _: RequestValidationError) -> Response:
        return message_page(request, 400, "Request refused", "The request could not be handled.")

    @web.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        log.exception("web app error on %s %s", request.method, request.url.path, exc_info=exc)
        try:
            return message_page(
                request, 500, "Something went wrong", "Nothing you entered is lost on our side: please try again later."
            )
        except Exception:  # the error page itself failed: plain text, still no trace
            return HTMLResponse("Internal error", status_code=500)

    # ------------------------------------------------------------------ who is acting

    def _staff(session: Session, staff_id: object) -> Staff | None:
        if not isinstance(staff_id, int):
            return None
        staff = session.get(Staff, staff_id)
        return staff if staff is not None and staff.active else None

    async def signed_in(request: Request) -> Actor | None:
        staff_id = request.session.get("staff_id")
        if staff_id is None:
            return None
        version = request.session.get("staff_version")

        def load(session: Session) -> Actor | None:
            staff = _staff(session, staff_id)
            # sign-out and a password change raise the version: sessions signed in before end
            return Actor.of(staff) if staff is not None and staff.session_version == version else None

        actor = await db(load)
        if actor is None:
            request.session.clear()
        return actor

    async def require_staff(request: Request) -> Actor:
        actor = await signed_in(request)
        if actor is None:
            raise LoginRequired()
        return actor

    async def acting(
        request: Request, token: str, complaint_prefix: str | None = None
    ) -> tuple[Actor, links.LinkClaim | None]:
        """The person acting on an action page: the one an email link names, or the signed-in one.

        With ``complaint_prefix`` (a photo or signature of the link's complaint) the link may
        be for any page under that prefix.
        """
        if not token:
            return await require_staff(request), None
        try:
            claim = links.read_token(settings, token, None if complaint_prefix else request.url.path, now())
        except links.LinkError as exc:
            raise LinkRefused(exc.reason) from exc
        if complaint_prefix and not claim.path.startswith(complaint_prefix):
            raise LinkRefused("wrong_page")

        def load(session: Session) -> tuple[Actor | None, bool]:
            staff = _staff(session, claim.staff_id)
            used = session.get(UsedLink, claim.jti) is not None
            return (Actor.of(staff) if staff else None), used

        actor, used = await db(load)
        if actor is None:
            raise LinkRefused("invalid")
        if used:
            raise LinkRefused("used")
        current = request.session.get("staff_id")
        if current is not None and current != actor.id:
            raise LinkRefused("other_person")
        return actor, claim

    def spend(session: Session, claim: links.LinkClaim | None, at: datetime) -> None:
        if claim is not None:
            session.add(UsedLink(jti=claim.jti, staff_id=claim.staff_id, path=claim.path[:300], used_at=at))

    def follow(follow_ups: Sequence[steps.FollowUp]) -> None:
        if dispatcher is not None:
            dispatcher.follow(follow_ups)

    def client_key(request: Request) -> str:
        return request.client.host if request.client else "unknown"

    async def read_form(request: Request) -> FormData:
        form = await request.form(max_files=settings.upload_max_files + 1, max_fields=60, max_part_size=3_000_000)
        if not csrf_ok(request.session, form.get(CSRF_FIELD)):
            raise _CsrfFailed(form)
        return form

    class _CsrfFailed(Exception):
        def __init__(self, form: FormData) -> None:
            self.form = form

    @web.exception_handler(_CsrfFailed)
    async def _csrf(request: Request, _: _CsrfFailed) -> Response:
        return message_page(
            request,
            400,
            "The form expired",
            "For your security the form must be sent from this site within the session. "
            "Go back, reload and send it again.",
        )

    # ------------------------------------------------------------------ public pages

    @web.get("/", response_class=HTMLResponse)
    async def home(request: Request) -> Response:
        return render(request, "home.html")

    def estates(session: Session) -> list[tuple[str, str]]:
        return [(code, name) for code, name in session.execute(select(Estate.code, Estate.name).order_by(Estate.code))]

    async def complaint_form(
        request: Request, values: dict[str, str], errors: dict[str, str], status_code: int = 200, form_token: str = ""
    ) -> Response:
        return render(
            request,
            "complaint_form.html",
            status_code,
            estates=await db(estates),
            values=values,
            errors=errors,
            form_token=form_token if _FORM_TOKEN.fullmatch(form_token) else secrets.token_urlsafe(24),
            categories=[c.value for c in Category],
            max_files=settings.upload_max_files,
            max_mb=round(settings.upload_max_bytes / 1_000_000, 1),
            max_mp=round(settings.upload_max_pixels / 1_000_000),
        )

    @web.get("/complaints/new", response_class=HTMLResponse)
    async def new_complaint(request: Request) -> Response:
        return await complaint_form(request, {"estate": request.query_params.get("estate", "")}, {})

    @web.post("/complaints/new", response_class=HTMLResponse)
    async def post_complaint(request: Request) -> Response:
        form = await request.form(
            max_files=settings.upload_max_files + 1, max_fields=30, max_part_size=settings.upload_max_bytes + 1024
        )
        fields = (
            "estate",
            "building",
            "unit",
            "complainant_name",
            "contact_phone",
            "contact_email",
            "category",
            "content",
        )
        values = {name: _text(form, name) for name in fields}
        token = _text(form, "form_token")
        if not csrf_ok(request.session, form.get(CSRF_FIELD)):
            return await complaint_form(request, values, {"form": "csrf"}, 400, token)
        key = f"web:complaint:{token}" if _FORM_TOKEN.fullmatch(token) else None
        if key is not None and (first := await db(lambda s: idempotency.recall(s, key))) is not None:
            return RedirectResponse(f"/complaints/submitted/{first.body}", status_code=303)  # sent again
        refusal = intake.admit(client_key(request))
        if refusal is not None:
            code = "rate" if refusal.limit == "address" else "busy"
            return _retry_after(await complaint_form(request, values, {"form": code}, 429, token), refusal.retry_after)
        errors: dict[str, str] = {}
        data: ComplaintIn | None = None
        try:
            data = ComplaintIn.model_validate(
                {
                    **{k: v for k, v in values.items() if k != "category"},
                    "category": values["category"] or None,
                    "locale": locale_of(request).value,
                }
            )
        except ValidationError as exc:
            errors.update(_errors(exc))
        if not values["contact_phone"].strip() and not values["contact_email"].strip():
            errors.setdefault("contact_phone", "contact")
        photos: list[Photo] = []
        uploads = [u for u in form.getlist("photos") if isinstance(u, UploadFile) and u.filename]
        if len(uploads) > settings.upload_max_files:
            errors["photos"] = "count"
        else:
            for upload in uploads:
                raw = await upload.read(settings.upload_max_bytes + 1)
                try:
                    photos.append(
                        check_photo(upload.filename or "", raw, settings.upload_max_bytes, settings.upload_max_pixels)
                    )
                except UploadError as exc:
                    errors["photos"] = exc.code
                    values["photo_name"] = exc.filename
                    break
        if errors or data is None:
            return await complaint_form(request, values, errors, 422, token)
        valid = data
        stored: list[tuple[Photo, Stored]] = []
        try:
            for photo in photos:  # files first; their rows go in with the complaint, in one transaction
                stored.append((photo, await asyncio.to_thread(store.save, photo.data, photo.filename, now=now())))
        except (StorageFull, TooLarge) as exc:
            for _, item in stored:
                store.delete(item.stored_name)
            log.warning("photos of an online complaint not stored: %s", exc)
            return await complaint_form(request, values, {"photos": "storage"}, 507, token)

        def save(session: Session) -> tuple[str, steps.FollowUp | None]:
            if key is not None and (first := idempotency.recall(session, key)) is not None:
                return first.body, None
            taken = steps.intake(core, session, valid, None, now())
            complaint = taken.complaint
            for photo, item in stored:
                session.add(
                    ComplaintAttachment(
                        complaint_id=complaint.id,
                        filename=photo.filename,
                        content_type=photo.content_type,
                        size=item.size,
                        sha256=item.sha256,
                        stored_name=item.stored_name,
                        uploaded_at=now(),
                    )
                )
            if key is not None:
                digest = idempotency.request_hash(values)
                idempotency.keep(session, key, digest, idempotency.Kept(303, complaint.reference), now())
            return complaint.reference, taken.follow_up

        try:
            reference, created = await db(save)
        except BaseException as exc:
            for _, item in stored:  # nothing half-written: no file without its complaint
                store.delete(item.stored_name)
            if isinstance(exc, InvalidInput):
                return await complaint_form(request, values, {exc.field: str(exc).split(": ", 1)[-1]}, 422, token)
            if isinstance(exc, IntegrityError) and key is not None:  # sent twice at once: the first stands
                first = await db(lambda s: idempotency.recall(s, key))
                if first is not None:
                    return RedirectResponse(f"/complaints/submitted/{first.body}", status_code=303)
            raise
        if created is not None:
            follow([created])
        else:
            for _, item in stored:
                store.delete(item.stored_name)
        return RedirectResponse(f"/complaints/submitted/{reference}", status_code=303)

    @web.get("/complaints/submitted/{reference}", response_class=HTMLResponse)
    async def submitted(request: Request, reference: str) -> Response:
        exists = await db(lambda s: s.scalar(select(Complaint.id).where(Complaint.reference == reference)))
        if exists is None:
            raise NotFound(f"no complaint {reference}")
        return render(request, "submitted.html", reference=reference)

    @web.get("/status", response_class=HTMLResponse)
    @web.get("/status/{reference}", response_class=HTMLResponse)
    async def status_form(request: Request, reference: str = "") -> Response:
        return render(request, "status_form.html", values={"reference": reference}, error="")

    @web.post("/status", response_class=HTMLResponse)
    async def status_page(request: Request) -> Response:
        form = await read_form(request)
        reference = _text(form, "reference").strip().upper()
        contact = _text(form, "contact").strip()
        values = {"reference": reference, "contact": contact}
        if not login_limit.hit("status:" + client_key(request)):
            page = render(request, "status_form.html", 429, values=values, error="rate")
            return _retry_after(page, login_limit.retry_after("status:" + client_key(request)))

        def find(session: Session) -> dict[str, Any] | None:
            c = session.scalar(select(Complaint).where(Complaint.reference == reference))
            if c is None or not contact:
                return None
            digits = re.sub(r"\D", "", contact)
            by_phone = bool(digits) and re.sub(r"\D", "", c.contact_phone) == digits
            by_email = bool(c.contact_email) and c.contact_email.lower() == contact.lower()
            if not (by_phone or by_email):
                return None
            return {
                "reference": c.reference,
                "status": S(c.status).value,
                "received_at": c.received_at,
                "closed_at": c.closed_at,
                "steps": [(e.action.value, e.at) for e in c.events if e.action.value != "escalate"],
            }

        found = await db(find)
        if found is None:
            return render(request, "status_form.html", 404, values=values, error="nomatch")
        return render(request, "status.html", c=found)

    # ------------------------------------------------------------------ login

    def safe_next(target: str) -> str:
        return target if target.startswith(("/staff", "/mail")) and not target.startswith("//") else "/staff"

    @web.get("/staff/login", response_class=HTMLResponse)
    async def login_form(request: Request) -> Response:
        return render(request, "login.html", next=safe_next(request.query_params.get("next", "")), error="", email="")

    @web.post("/staff/login", response_class=HTMLResponse)
    async def login(request: Request) -> Response:
        form = await read_form(request)
        email = _text(form, "email").strip()
        password = _text(form, "password")
        target = safe_next(_text(form, "next"))
        if not login_limit.hit("login:" + client_key(request)):
            page = render(request, "login.html", 429, next=target, error="rate", email=email)
            return _retry_after(page, login_limit.retry_after("login:" + client_key(request)))
        at = now()
        outcome = await db(lambda s: sign_ins.attempt(s, email, password, at))
        if outcome.retry_after is not None:  # the same answer whether the account exists or not
            page = render(request, "login.html", 429, next=target, error="locked", email=email)
            return _retry_after(page, outcome.retry_after)
        staff = outcome.staff
        if staff is None:
            return render(request, "login.html", 401, next=target, error="bad", email=email)
        lang = request.session.get("lang")
        request.session.clear()  # a fresh session on login (the language choice stays)
        if lang:
            request.session["lang"] = lang
        request.session.update(
            {
                "staff_id": staff.id,
                "staff_version": staff.session_version,
                "staff_name": staff.name,
                "staff_locale": Locale(staff.locale).value,
            }
        )
        csrf_token(request.session)
        return RedirectResponse(target, status_code=303)

    @web.post("/staff/logout")
    async def logout(request: Request) -> Response:
        await read_form(request)
        actor = await signed_in(request)
        if actor is not None:  # ends this person's every session, a copied cookie too
            await db(lambda s: accounts.end_sessions(s, actor.id))
        request.session.clear()
        return RedirectResponse("/", status_code=303)

    # ------------------------------------------------------------------ staff pages

    @web.get("/staff", response_class=HTMLResponse)
    async def inbox(request: Request) -> Response:
        actor = await require_staff(request)
        tasks = await db(lambda s: access.my_tasks(s, actor, now()))
        return render(request, "inbox.html", tasks=tasks, actor=actor)

    def detail(session: Session, actor: Actor, reference: str, page: str) -> dict[str, Any]:
        """The complaint as the actor may see it; a shown contact is logged (R-IN-6)."""
        info = views.complaint_detail(session, actor, reference, now())
        complaint = get_complaint(session, reference)
        visible = complaint.contact_visible_to(actor)
        if visible and (complaint.complainant_name or complaint.contact_phone or complaint.contact_email):
            access.log_contact_view(session, actor, complaint, page, now())
        photos = (
            [
                (aid, name, content_type in ALLOWED.values())
                for aid, name, content_type in session.execute(
                    select(ComplaintAttachment.id, ComplaintAttachment.filename, ComplaintAttachment.content_type)
                    .where(ComplaintAttachment.complaint_id == complaint.id)
                    .order_by(ComplaintAttachment.id)
                )
            ]
            if may(actor, Step.ATTACHMENTS, complaint_case(session, complaint, Step.ATTACHMENTS))
            else []
        )
        return {
            "d": info,
            "contact": {
                "name": complaint.complainant_name,
                "phone": complaint.contact_phone,
                "email": complaint.contact_email,
            }
            if visible
            else None,
            "masked_phone": mask_phone(complaint.contact_phone),
            "photos": photos,
            "may_resolve": may(actor, Step.RESOLVE, complaint_case(session, complaint, Step.RESOLVE)),
            "prefect_url": runs_page(prefect_ui, reference),
            "tag": complaint_tag(reference),
        }

    @web.get("/staff/complaints/{reference}", response_class=HTMLResponse)
    async def complaint_page(request: Request, reference: str) -> Response:
        actor = await require_staff(request)
        ctx = await db(lambda s: detail(s, actor, reference, "complaint"))
        return render(request, "complaint.html", actor=actor, **ctx)

    @web.get("/staff/complaints/{reference}/photos/{photo_id}")
    async def photo(request: Request, reference: str, photo_id: RowIdInPath) -> Response:
        token = request.query_params.get(links.QUERY_KEY, "")
        actor, _ = await acting(request, token, f"/staff/complaints/{reference}/")

        def load(session: Session) -> tuple[str, str, str]:
            complaint = complaint_for(session, reference, actor, Step.ATTACHMENTS)
            row = session.get(ComplaintAttachment, photo_id)
            if row is None or row.complaint_id != complaint.id:
                raise NotFound("no such photo")
            return row.content_type, row.filename, row.stored_name

        content_type, filename, stored_name = await db(load)
        try:
            data = await asyncio.to_thread(store.read, stored_name)
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
        actor, _ = await acting(request, token, f"/staff/complaints/{reference}/")

        def load(session: Session) -> bytes:
            complaint = complaint_for(session, reference, actor, Step.VIEW)
            png = session.scalar(
                select(Revisit.signature_png).where(Revisit.complaint_id == complaint.id, Revisit.sequence == sequence)
            )
            if not png:
                raise NotFound("no signature")
            return png

        return Response(await db(load), media_type="image/png", headers={"X-Content-Type-Options": "nosniff"})

    # ------------------------------------------------------------------ action pages

    def departments(session: Session, complaint: Complaint) -> list[dict[str, Any]]:
        out = []
        for dept in session.scalars(
            select(Department).where(Department.estate_id == complaint.estate_id).order_by(Department.id)
        ):
            people = session.execute(
                select(Staff.email, Staff.name)
                .where(
                    Staff.department_id == dept.id,
                    Staff.active.is_(True),
                    Staff.role.in_([Role.HANDLER, Role.DEPARTMENT_HEAD]),
                )
                .order_by(Staff.id)
            ).all()
            out.append({"code": dept.code, "name": dept.name, "people": [(e, n) for e, n in people]})
        return out

    def task_context(session: Session, actor: Actor, reference: str, task: str) -> dict[str, Any]:
        ctx = detail(session, actor, reference, task)
        complaint = get_complaint(session, reference)
        status = S(complaint.status)
        open_for = {
            "assessment": status is S.RECEIVED,
            "resolution": status in ASSIGNED_STATES,
            "confirmation": status is S.RESOLVED,
            "revisit": status is S.REVISIT_DUE,
        }
        escalation = lifecycle.open_transfer(session, complaint.id)
        decidable = escalation is not None and status in (S.ASSESSED, S.ASSIGNED, S.REOPENED)
        open_for["decision"] = open_for["escalation"] = decidable
        revisit = session.scalar(
            select(Revisit).where(Revisit.complaint_id == complaint.id, Revisit.done_at.is_(None)).order_by(Revisit.id)
        )
        ctx.update(
            task=task,
            is_open=open_for[task],
            version=complaint.version,
            escalation=escalation,
            departments=departments(session, complaint) if task in ("decision", "escalation") else [],
            revisit_sequence=revisit.sequence if revisit else 0,
            first_revisit_of_valid=bool(revisit and revisit.sequence == 1 and complaint.valid),
        )
        return ctx

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
            actor, _ = await acting(request, token)
        who = actor
        ctx = await db(lambda s: task_context(s, who, reference, task))
        return render(
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
            **ctx,
        )

    @web.get("/staff/complaints/{reference}/{task}", response_class=HTMLResponse)
    async def task_page(request: Request, reference: str, task: str) -> Response:
        if task not in TASKS:
            raise NotFound("no such page")
        return await action_page(request, reference, task, request.query_params.get(links.QUERY_KEY, ""), {}, {})

    def _when(value: str, end_of_day: bool = True) -> datetime | None:
        try:
            return _local_date(value, zone, end_of_day=end_of_day)
        except ValueError as exc:
            raise InvalidInput("due_at", "use the form YYYY-MM-DD") from exc

    def build_step(op: str, form: FormData, version: int | None) -> Any:
        """The validated input of one step (a pydantic model), by operation."""
        f = {k: v for k, v in form.items() if isinstance(v, str)}
        if op == "assess":
            valid = f.get("valid") == "yes"
            return AssessmentIn(
                valid=valid,
                category=f.get("category") or None,
                service_area=f.get("service_area") or None,
                severity=f.get("severity") or Severity.GENERAL,
                urgency=f.get("urgency") or Urgency.NORMAL,
                explanation=f.get("explanation", ""),
                version=version,
            )
        if op == "resolve":
            return ResolutionIn(result=f.get("result", ""), version=version)
        if op == "progress":
            return ProgressIn(
                message=f.get("message", ""), next_reply_at=_when(f.get("next_reply_at", "")), version=version
            )
        if op == "transfer":
            return EscalationIn(reason=f.get("reason", ""), version=version)
        if op == "confirm":
            return ConfirmationIn(confirmed=f.get("confirmed") == "yes", note=f.get("note", ""), version=version)
        if op == "decide":
            return DecisionIn(
                department=f.get("department", ""),
                staff_email=f.get("staff_email", ""),
                due_at=_when(f.get("due_at", "")),
                note=f.get("note", ""),
                version=version,
            )
        if op == "revisit":
            return RevisitIn(**revisit_fields(f), version=version)
        raise NotFound(f"no operation {op!r}")

    def revisit_fields(f: dict[str, str]) -> dict[str, Any]:
        """The form fields of every revisit record, a complaint's or a work order's (R-RV-7, R-RV-8)."""
        return {
            "method": f.get("method", ""),
            "satisfaction": f.get("satisfaction", ""),
            **{k: f.get(k, "") for k in ("punctuality", "attitude", "quality", "shortcomings", "suggestions")},
            "signature_png_base64": f.get("signature_png_base64", "").removeprefix("data:image/png;base64,"),
            "refusal_note": f.get("refusal_note", ""),
            "new_issue": f.get("new_issue", ""),
        }

    allowed_ops = {
        "assessment": {"assess"},
        "resolution": {"resolve", "progress", "transfer"},
        "confirmation": {"confirm"},
        "revisit": {"revisit"},
        "decision": {"decide"},
        "escalation": {"decide"},
    }

    @web.post("/staff/complaints/{reference}/{task}", response_class=HTMLResponse)
    async def task_post(request: Request, reference: str, task: str) -> Response:
        if task not in TASKS:
            raise NotFound("no such page")
        form = await read_form(request)
        token = _text(form, links.QUERY_KEY)
        actor, claim = await acting(request, token)
        op = _text(form, "op")
        if op not in allowed_ops[task]:
            raise NotFound(f"no operation {op!r} on this page")
        values = {k: v for k, v in form.items() if isinstance(v, str) and k not in (CSRF_FIELD, "signature_png_base64")}
        version_text = _text(form, "version")
        version = int(version_text) if version_text.isdigit() else None
        try:
            data = build_step(op, form, version)
        except ValidationError as exc:
            return await action_page(request, reference, task, token, values, _errors(exc), 422, actor)
        except InvalidInput as exc:
            return await action_page(request, reference, task, token, values, {exc.field: str(exc)}, 422, actor)
        at = now()
        ends_task = steps.STEPS[op].ends_task
        try:
            done = await steps.run_step(
                core, op, reference, data, actor, at, also=(lambda s: spend(s, claim, at)) if ends_task else None
            )
        except InvalidInput as exc:
            message = str(exc).split(": ", 1)[-1]
            return await action_page(request, reference, task, token, values, {exc.field: message}, 422, actor)
        follow(done.follow_ups)
        if not ends_task:
            target = request.url.path + (f"?{urlencode({links.QUERY_KEY: token})}" if token else "")
            return RedirectResponse(target + ("&" if token else "?") + "saved=" + op, status_code=303)
        return render(request, "done.html", reference=reference, op=op, via_link=claim is not None)

    # ------------------------------------------------------------------ revisits by id: a work order's
    # record (R-RV-4..6; a complaint's is recorded on the complaint) and any done one's review (R-RV-9)

    async def order_revisit_page(
        request: Request, actor: Actor, revisit_id: int, values: dict[str, str], errors: dict[str, str], code: int
    ) -> Response:
        def load(session: Session) -> revisit_reads.RevisitItem:
            item = revisit_reads.revisit_item(session, actor, revisit_id, now())
            require_role(actor, lifecycle.VISITORS, "a revisit record")
            return item

        r = await db(load)
        own_record = r.visitor == actor.email  # ``review_revisit`` refuses a review of one's own record
        return render(
            request,
            "order_revisit.html",
            code,
            r=r,
            values=values,
            errors=errors,
            methods=[m.value for m in RevisitMethod],
            satisfactions=[v.value for v in Satisfaction],
            own_record=own_record,
            may_review=actor.role in lifecycle.SUPERVISORS and not own_record,
        )

    @web.get("/staff/revisits/{revisit_id}", response_class=HTMLResponse)
    async def order_revisit_form(request: Request, revisit_id: RowIdInPath) -> Response:
        actor = await require_staff(request)
        return await order_revisit_page(request, actor, revisit_id, {}, {}, 200)

    @web.post("/staff/revisits/{revisit_id}", response_class=HTMLResponse)
    async def order_revisit_post(request: Request, revisit_id: RowIdInPath) -> Response:
        actor = await require_staff(request)
        form = await read_form(request)
        f = {k: v for k, v in form.items() if isinstance(v, str)}
        values = {k: v for k, v in f.items() if k not in (CSRF_FIELD, "signature_png_base64")}
        at = now()
        try:
            next_at = _local_date(f.get("next_reply_at", ""), zone, end_of_day=True)
        except ValueError:
            return await order_revisit_page(
                request, actor, revisit_id, values, {"next_reply_at": "use the form YYYY-MM-DD"}, 422
            )
        try:
            data = RevisitRecordIn(**revisit_fields(f), next_reply_at=next_at)
        except ValidationError as exc:
            return await order_revisit_page(request, actor, revisit_id, values, _errors(exc), 422)
        try:
            done = await steps.run_step(core, "order-revisit", revisit_id, data, actor, at)
        except InvalidInput as exc:
            message = str(exc).split(": ", 1)[-1]
            return await order_revisit_page(request, actor, revisit_id, values, {exc.field: message}, 422)
        follow(done.follow_ups)
        return render(request, "done.html", reference=done.answer.work_order, op="revisit", work_order=True)

    @web.post("/staff/revisits/{revisit_id}/review", response_class=HTMLResponse)
    async def revisit_review_post(request: Request, revisit_id: RowIdInPath) -> Response:
        actor = await require_staff(request)
        form = await read_form(request)
        values = {"opinion": _text(form, "opinion")}
        try:
            data = ReviewIn(**values)
        except ValidationError as exc:
            return await order_revisit_page(request, actor, revisit_id, values, _errors(exc), 422)
        await steps.run_step(core, "review", revisit_id, data, actor, now())
        return RedirectResponse(f"/staff/revisits/{revisit_id}#review", status_code=303)

    # ------------------------------------------------------------------ the register

    def register_filter(request: Request) -> tuple[register_reads.RegisterFilter, dict[str, str]]:
        q = request.query_params
        values = {k: q.get(k, "") for k in ("status", "category", "overdue", "mine", "from", "to", "text")}
        for name in ("from", "to"):
            try:
                _local_date(values[name], zone)
            except ValueError as exc:
                limits = f"a date YYYY-MM-DD between {EARLIEST_YEAR}-01-01 and {LATEST_YEAR}-12-31"
                raise _BadFilter(values, f"{name}: {limits}") from exc
        try:
            f = register_reads.RegisterFilter(
                status=S(values["status"]) if values["status"] else None,
                category=Category(values["category"]) if values["category"] else None,
                overdue=values["overdue"] == "1",
                mine=values["mine"] == "1",
                received_from=_local_date(values["from"], zone),
                received_to=(_local_date(values["to"], zone) or now()) + timedelta(days=1) if values["to"] else None,
                text=values["text"].strip()[:100],
            )
        except ValueError as exc:
            raise _BadFilter(values) from exc
        return f, values

    class _BadFilter(Exception):
        def __init__(self, values: dict[str, str], detail: str = "") -> None:
            self.values = values
            self.detail = detail

    @web.exception_handler(_BadFilter)
    async def _bad_filter(request: Request, exc: _BadFilter) -> Response:
        return message_page(
            request,
            400,
            "Request refused",
            "A filter value is not valid. Check the dates (YYYY-MM-DD).",
            detail=exc.detail,
        )

    @web.get("/staff/register", response_class=HTMLResponse)
    async def register(request: Request) -> Response:
        actor = await require_staff(request)
        f, values = register_filter(request)
        rows, total = await db(
            lambda s: (
                register_reads.register_rows(s, actor, f, now(), limit=200),
                register_reads.register_count(s, actor, f, now()),
            )
        )
        query = urlencode({k: v for k, v in values.items() if v})
        return render(
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
        actor = await require_staff(request)
        f, _ = register_filter(request)
        rows = await db(lambda s: register_reads.register_rows(s, actor, f, now()))
        headers = [gettext(request, label) for _, label in export.COLUMNS]
        stamp = now().astimezone(zone).strftime("%Y%m%d-%H%M")
        if fmt == "csv":
            body = export.to_csv(rows, headers, tz)
            media = "text/csv; charset=utf-8"
        else:
            body = await asyncio.to_thread(export.to_xlsx, rows, headers, tz)
            media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return Response(
            body,
            media_type=media,
            headers={
                "Content-Disposition": f'attachment; filename="register-{stamp}.{fmt}"',
                "Cache-Control": "no-store",
            },
        )

    # ------------------------------------------------------------------ demo: caught mail

    @web.get("/mail", response_class=HTMLResponse)
    async def mail_list(request: Request) -> Response:
        if catcher is None:
            raise NotFound("no mail catcher")
        await require_staff(request)  # the messages carry contact data and signed action links
        items = await asyncio.to_thread(mailbox.messages, catcher.directory)
        return render(request, "mail_list.html", items=items)

    @web.get("/mail/{mail_id}", response_class=HTMLResponse)
    async def mail_show(request: Request, mail_id: str) -> Response:
        if catcher is None:
            raise NotFound("no mail catcher")
        await require_staff(request)
        item = await asyncio.to_thread(mailbox.message, catcher.directory, mail_id)
        if item is None:
            raise NotFound("no such message")
        return render(request, "mail_message.html", m=item, body=_linkify(item.text))

    return web
