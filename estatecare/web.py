"""The web process: the REST API with its dispatcher and the periodic intake sweep."""

from __future__ import annotations

import asyncio
import copy
import logging
import sys
from datetime import timedelta
from typing import Any

import uvicorn
from fastapi import FastAPI
from uvicorn.config import LOGGING_CONFIG

from estatecare import runtime
from estatecare.app import App
from estatecare.dispatch import Dispatcher, deployment_flows, start_sweep_deployment
from estatecare.runtime import use_app
from estatecare.server import create_app
from estatecare.services import lifecycle
from notifications import render_pool
from notifications.sender import SmtpConfig

#: GIL switch interval of the web process (seconds); see serve().
SWITCH_INTERVAL = 0.0005


def build(core: App, *, sweep_every: float = 30.0) -> FastAPI:
    """The API with a dispatcher that runs lifecycle flows in this process."""
    use_app(core)

    def has_pending() -> bool:
        with core.sessions() as s:
            now = runtime.now()
            cutoff = now - timedelta(seconds=core.settings.sweep_age_seconds)
            follow = lifecycle.pending_follow_ups(s, limit=1)
            return bool(lifecycle.pending_intake(s, cutoff, limit=1, now=now) or any(follow.values()))

    distributed = core.settings.dispatch == "deployments"

    async def sweep() -> None:
        if await asyncio.to_thread(has_pending):
            if distributed:
                await start_sweep_deployment(core.settings.sweep_age_seconds)
                return
            from flows.intake_sweep import intake_sweep_flow

            await intake_sweep_flow(older_than_seconds=core.settings.sweep_age_seconds)

    linger = core.settings.dispatch_linger_seconds
    if linger is None:
        linger = 2.0 if distributed else 0.1  # a worker starts a new process per run: batch more
    flows = deployment_flows() if distributed else None
    dispatcher = Dispatcher(flows, linger=linger, sweep=sweep, sweep_every=sweep_every, share_prefect_client=True)
    return create_app(core, dispatcher)


class DropQueryString(logging.Filter):
    """Log requests by path only: action links carry their token in the query string, and
    searches may carry a resident's name or phone."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5:  # uvicorn: client, method, path?query, version, status
            record.args = (args[0], args[1], str(args[2]).split("?", 1)[0], *args[3:])
        return True


def log_config() -> dict[str, Any]:
    """uvicorn's logging set-up with :class:`DropQueryString` on the access log."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"drop_query_string": {"()": DropQueryString}}
    # on the logger, not its handler: it stays when another set-up (Prefect's) replaces the handlers
    config["loggers"]["uvicorn.access"]["filters"] = ["drop_query_string"]
    return config


def serve(core: App | None = None) -> None:
    """Run the web process until interrupted."""
    core = core or App.from_settings()
    s = core.settings
    # The event loop (HTTP) and the database thread (lifecycle steps) share the GIL. With the
    # default 5 ms switch interval every wake-up of the loop waited up to 5 ms behind a busy
    # step, and a request needs many: intake fell to ~10 requests/s during a burst.
    sys.setswitchinterval(SWITCH_INTERVAL)
    if SmtpConfig.from_settings(s).render_helper:
        render_pool.HELPER.start()  # email bytes are built there, not on this process's one core
    # Keep idle connections longer than clients and proxies do (they commonly keep 60 s):
    # uvicorn's 5 s default closes a connection just as a client reuses it for a POST,
    # which the client cannot safely retry.
    uvicorn.run(
        build(core, sweep_every=s.sweep_every_seconds),
        host=s.web_host,
        port=s.web_port,
        log_level="info",
        log_config=log_config(),
        timeout_keep_alive=75,
        # uvicorn would believe X-Forwarded-For from 127.0.0.1; the app itself believes it
        # only from ESTATECARE_TRUSTED_PROXIES (see estatecare.api.app.create_api)
        proxy_headers=False,
    )
