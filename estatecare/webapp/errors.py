"""The web app's refusals and error pages: a page in the reader's language, never a stack trace."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from estatecare.services.errors import ConflictError, Forbidden, NotFound, WrongState
from estatecare.services.schemas import EARLIEST_YEAR, LATEST_YEAR
from models.lifecycle import IllegalTransition

if TYPE_CHECKING:
    from estatecare.webapp.context import WebContext

log = logging.getLogger("estatecare.webapp")


#: Errors of the service layer and the page each answers with: status, title, text.
ERROR_PAGES: dict[type[Exception], tuple[int, str, str]] = {
    Forbidden: (403, "Not allowed", "You may not see or do this."),
    NotFound: (404, "Not found", "There is nothing at this address."),
    IllegalTransition: (409, "Already done", "This step is no longer open: someone has already taken it."),
    WrongState: (409, "Already done", "This step is no longer open: someone has already taken it."),
    ConflictError: (409, "Changed meanwhile", "The complaint changed while you were working. Reload and try again."),
}


#: The register's date filters a refusal names, by their labels on the form (``register.html``).
FILTER_LABELS = {"from": "Received from", "to": "Received until"}


def _page(message_page: Any, code: int, title: str, text: str) -> Any:
    async def handle(request: Request, exc: Exception) -> Response:
        # the service's own words are English and may name a rule: the log keeps them, the page says ``text``
        log.info("%s on %s %s: %s", type(exc).__name__, request.method, request.url.path, exc)
        return message_page(request, code, title, text)  # type: ignore[no-any-return]

    return handle


class LoginRequired(Exception):
    """The page needs a signed-in staff member."""


class LinkRefused(Exception):
    """An email link that cannot be used (reason: invalid, expired, wrong_page, used, other_person)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class CsrfFailed(Exception):
    """A form sent without this session's CSRF token."""

    def __init__(self, form: FormData) -> None:
        self.form = form


class BadFilter(Exception):
    """A register filter value that cannot be read (``detail`` says which)."""

    def __init__(self, values: dict[str, str], detail: str = "") -> None:
        self.values = values
        self.detail = detail


def install(web: FastAPI, ctx: WebContext) -> None:
    """Answer the refusals and errors of ``web``'s pages with pages rendered by ``ctx``."""
    message_page = ctx.message_page

    @web.exception_handler(LoginRequired)
    async def _login_required(request: Request, _: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/staff/login?{urlencode({'next': target})}", status_code=303)

    @web.exception_handler(LinkRefused)
    async def _link_refused(request: Request, exc: LinkRefused) -> Response:
        return ctx.render(
            request, "link_refused.html", 410 if exc.reason in ("used", "expired") else 403, reason=exc.reason
        )

    @web.exception_handler(CsrfFailed)
    async def _csrf(request: Request, _: CsrfFailed) -> Response:
        return message_page(
            request,
            400,
            "The form expired",
            "For your security the form must be sent from this site within the session. "
            "Go back, reload and send it again.",
        )

    @web.exception_handler(BadFilter)
    async def _bad_filter(request: Request, exc: BadFilter) -> Response:
        log.info("register filter refused: %s", exc.detail)
        name = exc.detail.split(":", 1)[0]
        detail = ""
        if name in FILTER_LABELS:  # a date: which one, and the years it may name
            words = ctx.gettext(request, "%(field)s: give a date as YYYY-MM-DD between %(first)s and %(last)s.")
            limits = {"first": f"{EARLIEST_YEAR}-01-01", "last": f"{LATEST_YEAR}-12-31"}
            detail = words % {"field": ctx.gettext(request, FILTER_LABELS[name]), **limits}
        text = "A filter value is not valid. Check the dates (YYYY-MM-DD)."
        return message_page(request, 400, "Request refused", text, detail=detail)

    for error, (code, title, text) in ERROR_PAGES.items():
        web.add_exception_handler(error, _page(message_page, code, title, text))

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
