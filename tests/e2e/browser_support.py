"""A real browser for the web app's tests: Debian's chromium driven by Playwright, and a
running web process (uvicorn in a thread, with the dispatcher running lifecycle flows on
the session's Prefect server and a mail catcher keeping every email under var/mail/).

One browser and one app server per test session. Each page the tests visit is checked by
:func:`check_page`: a screenshot kept under ``var/test-artifacts/browser/``, axe-core run
in the page (no critical violation, or none of the impacts in ``failing``), and no
horizontal scrolling (at 375 px unless told another width).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy import select

from estatecare.app import App
from estatecare.mailcatcher import MailCatcher
from models import Complaint
from notifications.sender import DeliveryReport, SmtpConfig, deliver_pending

PHONE_WIDTH = 375
ARTIFACTS = Path(os.environ.get("ESTATECARE_TEST_ARTIFACTS", "var/test-artifacts")) / "browser"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def chromium_path() -> str | None:
    """Debian's chromium (installed by the Makefile's set-up step), never a Playwright download."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


@contextmanager
def launched_chromium() -> Iterator[Browser]:
    """Debian's chromium under Playwright's sync API: missing, a failure in CI and a skip elsewhere."""
    path = chromium_path()
    if path is None:
        message = "chromium is not installed (make .venv/.installed installs Debian's chromium as root)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=path, args=["--no-sandbox", "--disable-dev-shm-usage"])
        yield browser
        browser.close()


@dataclass
class PageReport:
    """What the checks found on one page."""

    name: str
    url: str
    critical: list[str]
    scroll_width: int
    screenshot: Path


@dataclass
class Checker:
    """Runs the per-page checks and remembers every page it saw."""

    directory: Path
    axe: Axe = field(default_factory=Axe)
    #: axe-core impacts that fail a page (the newer pages are held to "serious" as well)
    failing: tuple[str, ...] = ("critical",)
    #: the viewport's width: a page wider than it scrolls sideways
    width: int = PHONE_WIDTH
    reports: list[PageReport] = field(default_factory=list)

    def __call__(self, page: Page, name: str) -> PageReport:
        page.wait_for_load_state("load")
        shot = self.directory / f"{len(self.reports) + 1:02d}-{name}.png"
        page.screenshot(path=str(shot), full_page=True)
        results = self.axe.run(page)
        critical = [
            f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes)"
            for v in results.response["violations"]
            if v.get("impact") in self.failing
        ]
        width = int(page.evaluate("Math.max(document.documentElement.scrollWidth, document.body.scrollWidth)"))
        report = PageReport(name, page.url, critical, width, shot)
        self.reports.append(report)
        assert not critical, f"{name} ({page.url}) has {'/'.join(self.failing)} accessibility violations: {critical}"
        assert width <= self.width, f"{name} ({page.url}) scrolls sideways at {self.width} px: {width} px wide"
        return report


class Site:
    """The web process under test, on a free port of this machine."""

    def __init__(self, core: App, app: Any, port: int, catcher: MailCatcher) -> None:
        self.core = core
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.catcher = catcher
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
        self._thread = threading.Thread(target=self._server.run, name="webapp-under-test", daemon=True)

    def start(self) -> None:
        self.catcher.start()
        self._thread.start()
        until = time.monotonic() + 30
        while not self._server.started:
            if time.monotonic() > until or not self._thread.is_alive():
                raise RuntimeError("the web app did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=60)
        self.catcher.stop()

    def deliver_mail(self) -> int:
        """Send every due notification to the mail catcher now (what the deliver-outbox flow does)."""
        settings = self.core.settings

        def send() -> DeliveryReport:
            config = SmtpConfig.from_settings(settings)
            return asyncio.run(deliver_pending(self.core.sessions, config, self.core.policy.company.timezone))

        # Playwright's sync API keeps an event loop in this thread: send from another one.
        with ThreadPoolExecutor(1) as pool:
            report = pool.submit(send).result()
        assert not report.failed, report.failures
        return len(report.sent)

    def status(self, reference: str) -> str:
        with self.core.sessions() as s:
            return str(s.scalar(select(Complaint.status).where(Complaint.reference == reference)))

    def wait_for_status(self, reference: str, status: str, timeout: float = 60.0) -> None:
        """Wait until the flows dispatched by the web process moved the complaint to ``status``."""
        wait_for(lambda: self.status(reference) == status, timeout, f"{reference} never became {status}")


def wait_for(check: Callable[[], Any], timeout: float = 60.0, what: str = "condition") -> Any:
    """Poll ``check`` (the flows run in the web process's own thread) until it is truthy."""
    until = time.monotonic() + timeout
    while time.monotonic() < until:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what} not met within {timeout:.0f} s")
