"""The web app: server-rendered pages for residents and staff, mounted into the API's FastAPI app.

Residents: the online complaint form, its confirmation, a status page (``public_pages``).
Staff: login (``signin_pages``), the home with queues and my tasks (``home_pages``), the complaint
page and its action pages, also reached from signed email links (``staff_pages``), revisits by id
(``revisit_pages``), a technician's job (``job_pages``),
the register with CSV/xlsx export (``register_pages``), the front desk's registration of a call, a
walk-in, a letter, ... and the printable reply letter (``front_desk_pages``). Demo: ``/mail`` shows signed-in staff
the local mail catcher's messages (``mail_pages``).

This module assembles them: the session cookie, security headers, static files, error pages
(``errors``), and the routers, each built over one shared :class:`~estatecare.webapp.context.WebContext`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.middleware.sessions import SessionMiddleware

from estatecare import links
from estatecare.app import App
from estatecare.dispatch import Dispatcher
from estatecare.rate_limits import IntakeLimits
from estatecare.webapp import (
    errors,
    front_desk_pages,
    home_pages,
    job_pages,
    mail_pages,
    public_pages,
    register_pages,
    repair_desk_pages,
    report_pages,
    revisit_pages,
    signin_pages,
    staff_pages,
)
from estatecare.webapp.context import WebContext
from estatecare.webapp.i18n import HERE

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)


async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """Headers every page carries."""
    response = await call_next(request)
    # Action links carry their token in the URL: never send it on to another site.
    response.headers.setdefault("Referrer-Policy", "no-referrer")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Content-Security-Policy", CSP)
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
    ctx = WebContext.build(core, dispatcher, clock=clock, intake_limits=intake_limits)
    settings = core.settings
    secure = settings.session_cookie_secure
    if secure is None:
        secure = settings.base_url.startswith("https://")

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
    web.middleware("http")(security_headers)
    errors.install(web, ctx)
    # front desk before staff pages: its /staff/complaints/REF/letter is not one of their action pages
    for pages in (
        public_pages,
        signin_pages,
        home_pages,
        front_desk_pages,
        repair_desk_pages,
        staff_pages,
        revisit_pages,
        job_pages,
        register_pages,
        report_pages,
        mail_pages,
    ):
        web.include_router(pages.router(ctx))
    return web
