"""Every answer the REST API gives is in its OpenAPI schema.

:func:`declare_errors` adds the error answers to each operation's ``responses``, keeping
what a route declares itself; :func:`api_or_web` sends what no API route takes to the web
app, except unknown ``/api/`` paths, which get a JSON 404; :func:`allow_all_methods` makes a 405
name every method of its path.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

R = TypeVar("R", FastAPI, APIRouter)
_MESSAGE = {
    "application/json": {
        "schema": {"type": "object", "properties": {"detail": {"type": "string"}}, "required": ["detail"]}
    }
}
_STATE = {
    "application/json": {
        "schema": {
            "type": "object",
            "properties": {"detail": {"type": "string"}, "state": {"type": "string"}},
            "required": ["detail"],
        }
    }
}
_FIELDS = {"application/json": {"schema": {"$ref": "#/components/schemas/HTTPValidationError"}}}
_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
_RETRY_AFTER = {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}}

ERRORS: dict[int, dict[str, Any]] = {
    400: {"description": "The body cannot be read (not UTF-8 JSON)", "content": _MESSAGE},
    401: {
        "description": "No valid staff token: missing, unknown, expired or revoked, or of an inactive staff member",
        "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
        "content": _MESSAGE,
    },
    403: {
        "description": "Not for this staff member: another estate's record, or a step of another role",
        "content": _MESSAGE,
    },
    404: {
        "description": "No such complaint, revisit or estate (or one this staff member may not see)",
        "content": _MESSAGE,
    },
    409: {
        "description": "The lifecycle does not allow this now (`state` names the current state), or the record "
        "changed meanwhile (a stale `version`), or the same request is being handled",
        "content": _STATE,
    },
    413: {
        "description": "The request body is larger than accepted (`ESTATECARE_BODY_MAX_BYTES`; attachments "
        "`ESTATECARE_ATTACHMENTS_MAX_MB`); refused before it is read",
        "content": _MESSAGE,
    },
    422: {"description": "A value is not valid: `loc` names the field", "content": _FIELDS},
    429: {
        "description": "Too many requests just now: send again after Retry-After seconds",
        "headers": _RETRY_AFTER,
        "content": _MESSAGE,
    },
    503: {
        "description": "The database is unavailable right now; nothing was done: try again after Retry-After seconds",
        "headers": _RETRY_AFTER,
        "content": _MESSAGE,
    },
}

#: Public operations with a body beyond their own declarations: intake may meet a rate limit,
#: a retried Idempotency-Key still in flight, or a bad token (a token is optional there).
PUBLIC_POSTS: dict[str, tuple[int, ...]] = {"/api/complaints": (401, 409, 429), "/api/repairs": (401, 403, 429)}
#: Staff operations that change no versioned state: no 409.
NO_CONFLICT = {"/api/work-orders", "/api/complaints/{reference}/attachments"}


def declare_errors(routes: R, staff: Callable[..., Any]) -> R:
    """Add to every ``/api/`` operation of ``routes`` (an app, or a router before it is included) the
    errors it may answer: 401, 403 and 404 where ``staff`` (the token dependency) guards it, 409 for
    staff steps, 400, 413 and 422 for every body, 503 for all."""
    candidates: list[BaseRoute] = list(routes.routes)
    for route in candidates:
        if isinstance(route, APIRoute) and route.path.startswith("/api/"):
            _declare(route, staff)
    return routes


def _declare(route: APIRoute, staff: Callable[..., Any]) -> None:
    codes = {503}
    guarded = _depends_on(route.dependant, staff)
    if guarded:
        codes |= {401, 403, 404}
    if "POST" in (route.methods or ()):
        codes |= {400, 413, 422, *PUBLIC_POSTS.get(route.path, ())}
        if guarded and route.path not in NO_CONFLICT:
            codes.add(409)
    for code in sorted(codes):
        if code not in route.responses and str(code) not in route.responses:
            route.responses[code] = ERRORS[code]


def _depends_on(dependant: Dependant, call: Callable[..., Any]) -> bool:
    return any(d.call is call or _depends_on(d, call) for d in dependant.dependencies)


def allow_all_methods(api: FastAPI) -> None:
    """Make a 405 name in ``Allow`` every method of the path: Starlette names only those of the
    first route that matched (``GET /api/complaints`` and ``POST /api/complaints`` are two routes)."""
    paths: list[tuple[re.Pattern[str], set[str]]] = []

    async def method_not_allowed(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code != 405:
            return await http_exception_handler(request, exc)
        if not paths:
            for template, item in api.openapi().get("paths", {}).items():
                paths.append((compile_path(template)[0], {m.upper() for m in item if m in _METHODS}))
        allowed = set().union(*(methods for regex, methods in paths if regex.match(request.scope["path"])))
        return JSONResponse({"detail": exc.detail}, status_code=405, headers={"Allow": ", ".join(sorted(allowed))})

    api.add_exception_handler(StarletteHTTPException, method_not_allowed)


def api_or_web(web: ASGIApp) -> ASGIApp:
    """The app for requests no API route takes: the web app, or a JSON 404 under ``/api/``."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/api/"):
            await JSONResponse({"detail": "Not Found"}, status_code=404)(scope, receive, send)
            return
        await web(scope, receive, send)

    return app
