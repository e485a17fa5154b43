"""The front desk in a real browser (Debian's chromium via Playwright) on a 375 px wide phone:
the receptionist registers a letter (R-IN-1..3), sees the form's errors without losing what
was typed, and prints the reply letter; every page passes axe-core with no critical violation
and nothing scrolls sideways (``browser_support.Checker``)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, expect

from estatecare.app import App
from estatecare.demo import seed_demo
from estatecare.mailcatcher import MailCatcher
from estatecare.migrate import upgrade
from estatecare.server import create_app
from estatecare.settings import Settings
from estatecare.webapp.accounts import set_password
from tests.e2e.browser_support import ARTIFACTS, PHONE_WIDTH, Checker, Site, launched_chromium
from tests.smtp_server import free_port

PASSWORD = "demo-password-1"
DOMAIN = "estatecare.localhost"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One chromium for this module (Playwright's sync API is closed before other modules run)."""
    with launched_chromium() as b:
        yield b


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Site, dict[str, str]]]:
    """The web process (API and web app, no flows) on a free port, and the demo staff's API tokens."""
    var = tmp_path_factory.mktemp("front-desk-var")
    port = free_port()
    db_url = f"sqlite:///{var / 'estatecare.db'}"
    upgrade(db_url)
    core = App.from_settings(Settings(database_url=db_url, var_dir=var, base_url=f"http://127.0.0.1:{port}"))
    with core.transaction() as s:
        tokens = {m.email.split("@")[0]: m.token for m in seed_demo(s, core.policy)}
        set_password(s, f"reception-ch@{DOMAIN}", PASSWORD)
    server = Site(core, create_app(core), port, MailCatcher(var / "mail", port=free_port()))
    server.start()
    yield server, tokens
    server.stop()


def phone(browser: Browser) -> BrowserContext:
    return browser.new_context(viewport={"width": PHONE_WIDTH, "height": 740}, locale="zh-TW", device_scale_factor=1)


def test_the_receptionist_registers_a_letter_on_a_phone_and_prints_its_reply(
    browser: Browser, site: tuple[Site, dict[str, str]]
) -> None:
    web, tokens = site
    shots = ARTIFACTS / "front-desk"
    shots.mkdir(parents=True, exist_ok=True)
    check = Checker(shots)
    page = phone(browser).new_page()
    page.goto(f"{web.url}/staff/login")
    page.fill("#email", f"reception-ch@{DOMAIN}")
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{web.url}/staff")
    page.goto(f"{web.url}/")
    page.click("a.card[href='/staff/front-desk']")
    expect(page.locator("main .notice")).to_contain_text("請先致歉")
    check(page, "front-desk")

    page.check("#channel-letter")
    page.select_option("#building", "2座")
    page.fill("#unit", "302")
    page.fill("#complainant_name", "林太太")
    page.fill("#contact_phone", "13900000004")
    page.select_option("#locale", "en")
    page.click("main button[type=submit]")  # no content yet: the errors, and nothing typed is lost
    expect(page.locator(".alert")).to_be_visible()
    expect(page.locator("#unit")).to_have_value("302")
    expect(page.locator("#complainant_name")).to_have_value("林太太")
    expect(page.locator("#channel-letter")).to_be_checked()
    check(page, "front-desk-errors")

    page.fill("#content", "來信反映：二座地下停車場照明長期不足，晚上非常危險，請盡快處理。" * 3)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile("/staff/front-desk/registered/"))
    reference = page.inner_text("#reference").strip()
    expect(page.locator("#incoming-doc-number")).to_have_text(re.compile(r"CH-收文-\d{4}-0001"))
    check(page, "front-desk-registered")

    page.click(f"a[href='/staff/complaints/{reference}/letter']")
    expect(page.locator("h1")).to_have_text("尚無可回覆的內容")
    check(page, "letter-nothing-yet")

    steps = (
        ("assessment", "supervisor-ch", {"valid": True, "category": "safety"}),
        ("assignment", "supervisor-ch", {"department": "engineering", "staff_email": f"engineering-1-ch@{DOMAIN}"}),
        ("resolution", "engineering-1-ch", {"result": "Replaced the car park lights of building 2."}),
        ("resolution/confirmation", "head-engineering-ch", {"confirmed": True}),
    )
    for step, who, body in steps:
        r = httpx.post(
            f"{web.url}/api/complaints/{reference}/{step}",
            json=body,
            headers={"Authorization": f"Bearer {tokens[who]}"},
        )
        assert r.status_code == 200, r.text
    page.reload()
    expect(page.locator("h1")).to_have_text("Reply to your complaint")  # the complainant's language
    expect(page.locator("#reply-text")).to_have_text("Replaced the car park lights of building 2.")
    expect(page.locator("#print-letter")).to_be_visible()
    check(page, "letter")
    page.emulate_media(media="print")
    expect(page.locator("#print-letter")).to_be_hidden()
    expect(page.locator("#our-reference")).to_have_text(reference)
    width = int(page.evaluate("document.documentElement.scrollWidth"))
    assert width <= PHONE_WIDTH, width
