"""The REST API (FastAPI; OpenAPI at /docs). Intake is public; every staff step needs a token.

Each step runs in one database transaction (state change, history record, queued emails),
answers, and then dispatches the flow that continues the lifecycle. The routes live in one
small module per area; this module assembles them.
"""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from fastapi import FastAPI
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from estatecare.api import attachments, complaints, health, intake, repairs, reports, revisits, steps, work_orders
from estatecare.api.context import api_context
from estatecare.api.errors import add_handlers
from estatecare.api.limits import BodyLimitMiddleware, BodyLimits
from estatecare.api.responses import allow_all_methods, declare_errors
from estatecare.app import App
from estatecare.dispatch import Dispatcher
from estatecare.rate_limits import IntakeLimits


def create_api(
    core: App,
    dispatcher: Dispatcher | None = None,
    *,
    clock: Callable[[], datetime] | None = None,
    intake_limits: IntakeLimits | None = None,
) -> FastAPI:
    """The REST API over ``core``; ``dispatcher`` continues steps in Prefect flows."""
    ctx = api_context(core, dispatcher, clock or (lambda: datetime.now(UTC)))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if dispatcher is not None:
            dispatcher.start()
        yield
        if dispatcher is not None:
            await dispatcher.stop()

    api = FastAPI(
        title="Estate Care",
        description="Complaint handling and revisits (投訴處理 / 回訪) for property management.",
        version="0.1.0",
        lifespan=lifespan,
    )
    api.state.core = core
    api.add_middleware(BodyLimitMiddleware, limits=BodyLimits.from_settings(core.settings))
    if core.settings.trusted_proxies.strip():
        # the client address (rate limits) from X-Forwarded-For, only when a listed proxy sent it
        api.add_middleware(ProxyHeadersMiddleware, trusted_hosts=core.settings.trusted_proxies)
    add_handlers(api)

    limits = intake_limits or IntakeLimits(core.settings.public_form_rate, core.settings.public_total_rate)
    routers = [
        intake.router(ctx, limits),
        complaints.router(ctx),
        steps.router(ctx),
        work_orders.router(ctx),
        repairs.router(ctx, limits),
        revisits.router(ctx),
        reports.router(ctx),
        attachments.router(ctx),
        health.router(core),
    ]
    for routes in routers:
        api.include_router(declare_errors(routes, ctx.current_staff))
    allow_all_methods(api)
    return api
