"""What each role sees first, in a real browser (Debian's chromium via Playwright), on the demo
world (three estates with a year of history): every role's home, the register and the monthly
report page, at 1280 px and on a 375 px phone. Each page passes axe-core with no critical or
serious violation and does not scroll sideways (``browser_support.Checker``).

With ``ESTATECARE_DOCS_SCREENSHOTS=1`` the screenshots are also written to docs/screenshots/
(those the README shows)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page

from estatecare.app import App
from estatecare.demo.history import seed_demo_world
from estatecare.mailcatcher import MailCatcher
from estatecare.migrate import upgrade
from estatecare.server import create_app
from estatecare.settings import Settings
from estatecare.webapp.accounts import set_password
from tests.e2e.browser_support import ARTIFACTS, PHONE_WIDTH, Checker, Site, launched_chromium
from tests.smtp_server import free_port

PASSWORD = "demo-password-1"
DOMAIN = "estatecare.localhost"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
WIDTHS = {"1280": 1280, "375": PHONE_WIDTH}
#: role -> the demo staff member who plays it (the CH estate's own staff; leaders are company-wide)
ROLES = {
    "receptionist": f"reception-ch@{DOMAIN}",
    "supervisor": f"supervisor-ch@{DOMAIN}",
    "manager": f"manager-ch@{DOMAIN}",
    "handler": f"engineering-1-ch@{DOMAIN}",
    "deputy-gm": f"deputy-gm@{DOMAIN}",
    "gm": f"gm@{DOMAIN}",
}
#: who is shown the register and the monthly report page (an estate's manager, a company-wide leader)
READERS = ("manager", "gm")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launched_chromium() as b:
        yield b


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The web process over the demo world, every role's password set."""
    var = tmp_path_factory.mktemp("people-view-var")
    port = free_port()
    db_url = f"sqlite:///{var / 'estatecare.db'}"
    upgrade(db_url)
    core = App.from_settings(Settings(database_url=db_url, var_dir=var, base_url=f"http://127.0.0.1:{port}"))
    with core.transaction() as s:
        seed_demo_world(s, core, datetime.now(UTC))
        for email in ROLES.values():
            set_password(s, email, PASSWORD)
    server = Site(core, create_app(core), port, MailCatcher(var / "mail", port=free_port()))
    server.start()
    yield server
    server.stop()


def signed_in(browser: Browser, web: Site, role: str) -> Page:
    """A new browser context signed in as ``role`` (once: sign-ins from one address are rate limited)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-TW", device_scale_factor=1)
    page = context.new_page()
    page.goto(f"{web.url}/staff/login")
    page.fill("#email", ROLES[role])
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{web.url}/staff")
    return page


def keep_for_docs(shot: Path, name: str) -> None:
    """Copy a screenshot into docs/screenshots/ as a 256-colour PNG (small enough to commit)."""
    if os.environ.get("ESTATECARE_DOCS_SCREENSHOTS") != "1":
        return
    with Image.open(shot) as image:
        image.convert("RGB").quantize(256).save(DOCS / f"{name}.png", optimize=True)


@pytest.mark.parametrize("role", list(ROLES))
def test_each_roles_home_register_and_monthly_report_at_1280_and_375_px(
    browser: Browser, site: Site, role: str
) -> None:
    page = signed_in(browser, site, role)
    for width, pixels in WIDTHS.items():
        page.set_viewport_size({"width": pixels, "height": 900})
        check = Checker(ARTIFACTS / "people-view" / role, failing=("critical", "serious"), width=pixels)
        check.directory.mkdir(parents=True, exist_ok=True)
        page.goto(f"{site.url}/staff")
        queues = page.locator("main a[href^='/staff/register?']")
        if role != "handler":  # a handler's queues count only their own work, which may be none
            assert queues.count() > 0, f"the {role}'s home shows no queue"
        keep_for_docs(check(page, f"home-{width}px").screenshot, f"home-{role}-{width}px")
        if role not in READERS:
            continue
        page.goto(f"{site.url}/staff/register?queue=open&sort=deadline")
        rows = page.locator("main table tbody tr")
        assert rows.count() > 0, "the demo world's register is empty"
        assert "@" not in rows.first.inner_text(), "an email address where the handler's name belongs"
        keep_for_docs(check(page, f"register-{width}px").screenshot, f"register-{role}-{width}px")
        page.goto(f"{site.url}/staff/reports/monthly")
        assert page.locator("main svg").count() >= 5, "the trend charts are missing"
        keep_for_docs(check(page, f"report-{width}px").screenshot, f"report-{role}-{width}px")
        assert len(check.reports) == (3 if role in READERS else 1)
    page.context.close()
