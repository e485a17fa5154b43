"""The one ASGI application: the REST API and the web app side by side.

Neither imports the other; they share the core, the dispatcher and the public intake limits.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from fastapi import FastAPI

from estatecare.api.app import create_api
from estatecare.api.responses import api_or_web
from estatecare.app import App
from estatecare.dispatch import Dispatcher
from estatecare.rate_limits import IntakeLimits
from estatecare.webapp.app import create_webapp


def create_app(
    core: App, dispatcher: Dispatcher | None = None, *, clock: Callable[[], datetime] | None = None
) -> FastAPI:
    """The API's routes first, then the web app's pages; ``dispatcher`` continues steps in Prefect flows."""
    now = clock or (lambda: datetime.now(UTC))
    limits = IntakeLimits(core.settings.public_form_rate, core.settings.public_total_rate)
    app = create_api(core, dispatcher, clock=now, intake_limits=limits)
    # As the router's default (not a mount at "/") the web app leaves 405 to an API path asked
    # with another method; ``/api/...`` paths no route takes answer a JSON 404.
    app.router.redirect_slashes = False
    app.router.default = api_or_web(create_webapp(core, dispatcher, clock=now, intake_limits=limits))
    return app
