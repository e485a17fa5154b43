"""What every page of one web app shares: the core, the clock, rendering, and who is acting.

``create_webapp`` builds one :class:`WebContext` and hands it to each router's factory.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse
from starlette.datastructures import FormData

from estatecare import links, mailcatcher
from estatecare.app import App
from estatecare.attachments import AttachmentStore
from estatecare.dispatch import Dispatcher
from estatecare.rate_limits import IntakeLimits, RateLimit
from estatecare.reads import actors
from estatecare.services import steps
from estatecare.services.people import Actor
from estatecare.settings import Settings
from estatecare.webapp.errors import CsrfFailed, LinkRefused, LoginRequired
from estatecare.webapp.i18n import environment, pick_locale, translations
from estatecare.webapp.lockout import Lockout, SignIns
from estatecare.webapp.security import CSRF_FIELD, csrf_ok, csrf_token
from models.enums import Locale


def client_key(request: Request) -> str:
    """The client's address, the key of the per-address limits."""
    return request.client.host if request.client else "unknown"


@dataclass(frozen=True)
class WebContext:
    """Per-app state the routers share (built once by ``create_webapp``)."""

    core: App
    dispatcher: Dispatcher | None
    now: Callable[[], datetime]
    zone: ZoneInfo
    store: AttachmentStore
    intake: IntakeLimits
    login_limit: RateLimit
    sign_ins: SignIns
    catcher: mailcatcher.MailCatcher | None
    prefect_ui: str

    @classmethod
    def build(
        cls,
        core: App,
        dispatcher: Dispatcher | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
        intake_limits: IntakeLimits | None = None,
    ) -> WebContext:
        """The context of a web app over ``core``; ``intake_limits`` may be shared with the API."""
        settings = core.settings
        return cls(
            core=core,
            dispatcher=dispatcher,
            now=clock or (lambda: datetime.now(UTC)),
            zone=ZoneInfo(core.policy.company.timezone),
            store=AttachmentStore.from_settings(settings),
            intake=intake_limits or IntakeLimits(settings.public_form_rate, settings.public_total_rate),
            login_limit=RateLimit(settings.login_rate),
            sign_ins=SignIns(Lockout.from_settings(settings)),
            catcher=mailcatcher.for_settings(settings),
            prefect_ui=(settings.prefect_ui_url or f"http://127.0.0.1:{settings.prefect_port}").rstrip("/"),
        )

    @property
    def settings(self) -> Settings:
        """The core's settings."""
        return self.core.settings

    @property
    def tz(self) -> str:
        """The company's timezone name."""
        return self.core.policy.company.timezone

    # ------------------------------------------------------------------ rendering

    def locale_of(self, request: Request) -> Locale:
        """The page's language; an explicit ``?lang=`` choice is kept in the session."""
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

    def render(self, request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        """``template`` rendered in the request's language (never cached)."""
        env = environment(self.locale_of(request), self.tz)
        query = {k: v for k, v in request.query_params.items() if k != "lang"}
        lang_links = {loc.value: f"{request.url.path}?{urlencode({**query, 'lang': loc.value})}" for loc in Locale}
        html = env.get_template(template).render(
            request=request,
            csrf=csrf_token(request.session),
            csrf_field=CSRF_FIELD,
            me=request.session.get("staff_name"),
            signed_in=bool(request.session.get("staff_id")),
            lang_links=lang_links,
            demo_mail=self.catcher is not None,
            **context,
        )
        return HTMLResponse(html, status_code=status_code, headers={"Cache-Control": "no-store"})

    def gettext(self, request: Request, message: str) -> str:
        """``message`` in the request's language."""
        return str(translations(self.locale_of(request)).gettext(message))

    def message_page(self, request: Request, status_code: int, title: str, text: str, **extra: Any) -> HTMLResponse:
        """A page with one message (errors, refusals)."""
        return self.render(request, "message.html", status_code, title=title, text=text, **extra)

    # ------------------------------------------------------------------ who is acting

    async def signed_in(self, request: Request) -> Actor | None:
        """The signed-in staff member, or None (a session that ended is cleared)."""
        staff_id = request.session.get("staff_id")
        if staff_id is None:
            return None
        version = request.session.get("staff_version")
        actor = await self.core.run(lambda s: actors.signed_in(s, staff_id, version))
        if actor is None:
            request.session.clear()
        return actor

    async def require_staff(self, request: Request) -> Actor:
        """The signed-in staff member; otherwise the page answers with the login page."""
        actor = await self.signed_in(request)
        if actor is None:
            raise LoginRequired()
        return actor

    async def acting(
        self, request: Request, token: str, complaint_prefix: str | None = None
    ) -> tuple[Actor, links.LinkClaim | None]:
        """The person acting on an action page: the one an email link names, or the signed-in one.

        With ``complaint_prefix`` (a photo or signature of the link's complaint) the link may
        be for any page under that prefix.
        """
        if not token:
            return await self.require_staff(request), None
        try:
            claim = links.read_token(self.settings, token, None if complaint_prefix else request.url.path, self.now())
        except links.LinkError as exc:
            raise LinkRefused(exc.reason) from exc
        if complaint_prefix and not claim.path.startswith(complaint_prefix):
            raise LinkRefused("wrong_page")
        actor, used = await self.core.run(lambda s: actors.link_holder(s, claim.staff_id, claim.jti))
        if actor is None:
            raise LinkRefused("invalid")
        if used:
            raise LinkRefused("used")
        current = request.session.get("staff_id")
        if current is not None and current != actor.id:
            raise LinkRefused("other_person")
        return actor, claim

    # ------------------------------------------------------------------ forms and what follows them

    async def read_form(self, request: Request) -> FormData:
        """The posted form, once its CSRF token is this session's."""
        settings = self.settings
        form = await request.form(max_files=settings.upload_max_files + 1, max_fields=60, max_part_size=3_000_000)
        if not csrf_ok(request.session, form.get(CSRF_FIELD)):
            raise CsrfFailed(form)
        return form

    def follow(self, follow_ups: Sequence[steps.FollowUp]) -> None:
        """Continue the steps just taken in the background (nothing without a dispatcher)."""
        if self.dispatcher is not None:
            self.dispatcher.follow(follow_ups)
