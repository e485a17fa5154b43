"""Process-wide wiring used by Prefect tasks: the application core and the clock.

Both are built from the environment unless a test (or the web process) sets them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from estatecare.app import App

_current: App | None = None
_clock: Callable[[], datetime] | None = None


def current_app() -> App:
    """The App of this process: the one set by :func:`use_app`, else built from the environment."""
    global _current
    if _current is None:
        _current = App.from_settings()
    return _current


def use_app(core: App | None) -> None:
    """Make ``core`` the App that tasks in this process use (tests, the web server)."""
    global _current
    _current = core


def now() -> datetime:
    """The current time (UTC), or the test's clock when one is set."""
    return _clock() if _clock is not None else datetime.now(UTC)


def use_clock(clock: Callable[[], datetime] | None) -> None:
    """Make ``clock`` the time source of tasks in this process (tests controlling time)."""
    global _clock
    _clock = clock
