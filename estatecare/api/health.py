"""``GET /api/health``: for monitors. Up or down for every part and every schedule's state,
no token needed, no personal data; 200 when all is well, 503 when not. ``GET /healthz``
(not in the schema) only says the process answers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from estatecare.app import App
from estatecare.health import check


def router(core: App) -> APIRouter:
    """The health routes over ``core``'s settings."""
    routes = APIRouter()

    @routes.get(
        "/api/health",
        tags=["operations"],
        responses={503: {"description": "a part is down or a schedule is late"}},
    )
    async def health() -> JSONResponse:
        """Each part (database, Prefect API, flow server, mail) up or down, and for every
        scheduled deployment its state, last completed run and next scheduled run."""
        report = await check(core.settings, web=False, engine=core.engine)
        body: dict[str, Any] = report.public()
        body["parts"] = {"web app": "up", **body["parts"]}
        return JSONResponse(body, status_code=200 if report.ok else 503)

    @routes.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, Any]:
        return {"ok": True}

    return routes
