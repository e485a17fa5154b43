"""How the REST API answers a refusal: one exception handler per kind, each with its status code."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from estatecare.rate_limits import Refusal
from estatecare.services import idempotency
from estatecare.services.errors import ConflictError, Forbidden, InvalidInput, NotFound, WrongState
from models.lifecycle import IllegalTransition


class Unauthorized(Exception):
    """No valid staff token."""


class TooMany(Exception):
    """Public intake refused by a rate limit."""

    def __init__(self, refusal: Refusal) -> None:
        self.refusal = refusal
        super().__init__(refusal.limit)


async def _unauthorized(_: Request, exc: Unauthorized) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=401, headers={"WWW-Authenticate": "Bearer"})


async def _invalid(_: Request, exc: InvalidInput) -> JSONResponse:
    message = str(exc).split(": ", 1)[-1]
    return JSONResponse(
        {"detail": [{"loc": ["body", exc.field], "msg": message, "type": "value_error"}]}, status_code=422
    )


async def _illegal(_: Request, exc: IllegalTransition) -> JSONResponse:
    return JSONResponse({"detail": str(exc), "state": exc.current.value}, status_code=409)


async def _conflict(_: Request, exc: ConflictError) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=409)


async def _wrong_state(_: Request, exc: WrongState) -> JSONResponse:
    return JSONResponse({"detail": str(exc), "state": exc.state}, status_code=409)


async def _not_found(_: Request, exc: NotFound) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=404)


async def _database_unavailable(_: Request, exc: DBAPIError) -> JSONResponse:
    # The transaction rolled back (e.g. the connection was dropped): answer 503 so the
    # caller retries; the pool replaces the broken connection for the next request.
    return JSONResponse(
        {"detail": "the database is unavailable right now; the request was not carried out, try again"},
        status_code=503,
        headers={"Retry-After": "2"},
    )


async def _forbidden(_: Request, exc: Forbidden) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=403)


async def _too_many(_: Request, exc: TooMany) -> JSONResponse:
    whose = "from this address" if exc.refusal.limit == "address" else "from everyone together"
    return JSONResponse(
        {"detail": f"too many complaints {whose} just now; try again in {exc.refusal.retry_after} s"},
        status_code=429,
        headers={"Retry-After": str(exc.refusal.retry_after)},
    )


async def _key_reused(_: Request, exc: idempotency.KeyReused) -> JSONResponse:
    problem = {
        "loc": ["header", "Idempotency-Key"],
        "msg": "this key was sent before with another request body; use a new key for a new request",
        "type": "value_error",
    }
    return JSONResponse({"detail": [problem]}, status_code=422)


HANDLERS: dict[type[Exception], Callable[[Request, Any], Awaitable[JSONResponse]]] = {
    Unauthorized: _unauthorized,
    InvalidInput: _invalid,
    IllegalTransition: _illegal,
    ConflictError: _conflict,
    WrongState: _wrong_state,
    NotFound: _not_found,
    OperationalError: _database_unavailable,
    InterfaceError: _database_unavailable,
    Forbidden: _forbidden,
    TooMany: _too_many,
    idempotency.KeyReused: _key_reused,
}


def add_handlers(api: FastAPI) -> None:
    """Install the handlers on ``api``."""
    for kind, handler in HANDLERS.items():
        api.add_exception_handler(kind, handler)
