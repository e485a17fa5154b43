"""The web app in a real browser (Debian's chromium via Playwright) against the real web
process: lifecycle flows on the session's Prefect server, emails through a real SMTP
mail catcher. A resident complains online; the handler, the department head and the
service-centre manager each act from the link in their caught email; the complaint
closes with its whole timeline. Every page passes axe-core with no critical violation
and fits a 375 px wide phone screen; screenshots are kept as artifacts.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect, sync_playwright
from sqlalchemy import select
from sqlalchemy.orm import Session

from estatecare import runtime
from estatecare.app import App
from estatecare.demo import seed_demo
from estatecare.mailcatcher import MailCatcher
from estatecare.migrate import upgrade
from estatecare.services import lifecycle
from estatecare.services.errors import ConflictError
from estatecare.services.people import Actor
from estatecare.services.records import in_transaction
from estatecare.services.schemas import EscalationIn
from estatecare.settings import Settings
from estatecare.web import build
from estatecare.webapp.accounts import set_password
from models import Complaint, ComplaintEvent, ContactView, Revisit, Staff
from tests.e2e.browser_support import ARTIFACTS, IN_CI, PHONE_WIDTH, Checker, Site, chromium_path, wait_for
from tests.smtp_server import free_port

pytestmark = pytest.mark.prefect

PASSWORD = "demo-password-1"
DOMAIN = "estatecare.localhost"


# Module scope: this module is the only user, so it is still one browser and one app server per
# session; and Playwright's sync API, which keeps an event loop in the main thread while it is
# open, is closed before other modules' tests (which call asyncio.run) run.
@pytest.fixture(scope="module")
def playwright_driver() -> Iterator[Playwright]:
    if chromium_path() is None:
        message = "chromium is not installed (make .venv/.installed installs Debian's chromium as root)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    """One chromium for the whole session."""
    path = chromium_path()
    assert path is not None
    b = playwright_driver.chromium.launch(executable_path=path, args=["--no-sandbox", "--disable-dev-shm-usage"])
    yield b
    b.close()


@pytest.fixture(scope="module")
def checker() -> Iterator[Checker]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("*.png"):
        old.unlink()
    c = Checker(ARTIFACTS)
    yield c
    print(f"\nbrowser screenshots of {len(c.reports)} pages kept in {ARTIFACTS.resolve()}")


@pytest.fixture(scope="module")
def site(prefect_api: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The web process (API, web app, dispatcher) on a free port; one for the session."""
    var = tmp_path_factory.mktemp("webapp-var")
    port, smtp_port = free_port(), free_port()
    db_url = f"sqlite:///{var / 'estatecare.db'}"
    upgrade(db_url)
    settings = Settings(
        database_url=db_url,
        var_dir=var,
        base_url=f"http://127.0.0.1:{port}",
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        mail_catcher=True,
        public_form_rate="100/minute",
    )
    core = App.from_settings(settings)
    with core.transaction() as s:
        seed_demo(s, core.policy)
        for who in ("manager", "supervisor", "engineering-1", "head-engineering"):
            set_password(s, f"{who}-ch@{DOMAIN}", PASSWORD)
    app = build(core, sweep_every=3600)
    server = Site(core, app, port, MailCatcher(var / "mail", port=smtp_port))
    server.start()
    yield server
    server.stop()
    runtime.use_app(None)


def phone(browser: Browser) -> BrowserContext:
    """A fresh phone-sized browser (its own cookies: one person)."""
    return browser.new_context(viewport={"width": PHONE_WIDTH, "height": 740}, locale="zh-TW", device_scale_factor=1)


def open_link_from_mail(page: Page, site: Site, check: Checker, to: str, reference: str, task: str) -> str:
    """Find the email to ``to`` about ``reference`` on the caught-mail page (which only signed-in
    staff see: the supervisor, in a browser of their own), then open its action link in ``page``
    (not signed in: the link alone lets its person act)."""
    site.deliver_mail()
    browser = page.context.browser
    assert browser is not None
    reader_context = phone(browser)
    reader = reader_context.new_page()
    sign_in(reader, site, check, "supervisor")
    reader.goto(f"{site.url}/mail")
    item = reader.locator("ul.mail li").filter(has_text=to).filter(has_text=reference).first
    expect(item).to_be_visible()
    item.locator("a").click()
    link = reader.locator(f"pre.mailbody a[href*='/staff/complaints/{reference}/{task}?t=']").first
    expect(link).to_be_visible()
    href = str(link.get_attribute("href"))
    check(reader, f"mail-{task}")
    reader_context.close()
    page.goto(href)
    page.wait_for_url(re.compile(f"/staff/complaints/{reference}/{task}"))
    return href


def sign_in(page: Page, site: Site, check: Checker, who: str) -> None:
    page.goto(f"{site.url}/staff/login")
    check(page, "login")
    page.fill("#email", f"{who}-ch@{DOMAIN}")
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{site.url}/staff")


def test_a_resident_complains_online_staff_act_from_their_email_links_and_it_closes_with_the_full_timeline(
    browser: Browser, site: Site, checker: Checker, tmp_path: Path
) -> None:
    # The resident: the online form with a photo, then the confirmation with the reference.
    resident = phone(browser)
    page = resident.new_page()
    page.goto(site.url + "/")
    checker(page, "home")
    page.click("a.card[href='/complaints/new']")
    checker(page, "complaint-form")
    page.click("main button[type=submit]")  # nothing filled in: clear errors, nothing lost
    expect(page.locator(".alert")).to_be_visible()
    checker(page, "complaint-form-errors")
    photo = tmp_path / "leak.png"
    Image.new("RGB", (64, 48), (90, 140, 200)).save(photo)
    page.select_option("#estate", "CH")
    page.fill("#building", "1座")
    page.fill("#unit", "101")
    page.fill("#complainant_name", "黃先生")
    page.fill("#contact_phone", "13900000001")
    page.fill("#contact_email", "wong@example.test")
    page.fill("#content", "廚房天花板漏水，已經滴了兩天")
    page.set_input_files("#photos", str(photo))
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile("/complaints/submitted/"))
    reference = page.inner_text("#reference").strip()
    assert re.fullmatch(r"CH-\d{6}-[A-Z2-9]{6}", reference), reference
    checker(page, "submitted")

    # The keyword rules only suggest: the supervisor assesses from the email link (R-AS-1..4). The
    # page shows each suggested field with its evidence and the form is filled in: one submit confirms.
    wait_for(lambda: _intake_done(site, reference), 60, "intake of the leak")
    assert site.status(reference) == "received"
    supervisor = phone(browser).new_page()
    open_link_from_mail(supervisor, site, checker, "supervisor-ch@", reference, "assessment")
    expect(supervisor.locator("#suggested-category")).to_contain_text("漏水")
    expect(supervisor.locator("#category")).to_have_value("facility")
    expect(supervisor.locator("#service_area")).to_have_value("repairs")
    checker(supervisor, "assessment-suggested")
    supervisor.click("form:has(input[name=op][value=assess]) button[type=submit]")
    expect(supervisor.locator("h1")).to_have_text(re.compile("已儲存"))

    # The assessment's flow run assigns it; the handler gets the work arrangement notice.
    site.wait_for_status(reference, "assigned")
    handler = phone(browser).new_page()
    link = open_link_from_mail(handler, site, checker, "engineering-1-ch@", reference, "resolution")
    expect(handler.locator("main")).to_contain_text("13900000001")  # assigned to them: contact shown (R-IN-6)
    checker(handler, "resolution")
    handler.fill("#result", "已更換廚房天花板水管接頭，並清理水漬")
    handler.click("form:has(input[name=op][value=resolve]) button[type=submit]")
    expect(handler.locator("h1")).to_have_text(re.compile("已儲存"))
    checker(handler, "done")
    # The same link again: refused with the way to sign in.
    response = handler.goto(link)
    assert response is not None and response.status == 410
    expect(handler.locator("main")).to_contain_text("已使用過")
    expect(handler.locator("main a[href='/staff/login']")).to_be_visible()
    checker(handler, "link-used")

    # The department head confirms from their email (R-HD-6).
    site.wait_for_status(reference, "resolved")
    head = phone(browser).new_page()
    open_link_from_mail(head, site, checker, "head-engineering-ch@", reference, "confirmation")
    checker(head, "confirmation")
    head.click("form button[type=submit]")
    expect(head.locator("h1")).to_have_text(re.compile("已儲存"))

    # The service-centre manager revisits on site: the resident signs on the screen (R-RV-3, R-RV-8).
    site.wait_for_status(reference, "revisit_due")
    manager_context = phone(browser)
    manager = manager_context.new_page()
    open_link_from_mail(manager, site, checker, "manager-ch@", reference, "revisit")
    checker(manager, "revisit")
    manager.check("#satisfaction-satisfied")
    manager.fill("#quality", "水管已修好")
    pad = manager.locator("#signature-pad")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    assert box is not None
    manager.mouse.move(box["x"] + 20, box["y"] + 100)
    manager.mouse.down()
    for i in range(1, 12):
        manager.mouse.move(box["x"] + 20 + i * 20, box["y"] + 100 - (i % 3) * 25, steps=3)
    manager.mouse.up()
    manager.click("#revisit-form button[type=submit]")
    expect(manager.locator("h1")).to_have_text(re.compile("已儲存"))

    # The revisit flow closes it (R-RV-14); the manager signs in and sees the whole timeline.
    site.wait_for_status(reference, "closed")
    sign_in(manager, site, checker, "manager")
    checker(manager, "inbox")
    manager.goto(f"{site.url}/staff/complaints/{reference}")
    expect(manager.locator(".facts .status")).to_contain_text("已結案")
    timeline = manager.locator("ol.timeline")
    for step in ("已受理", "已評估", "已派單", "已記錄處理結果", "結果已確認", "已記錄回訪", "已結案"):
        expect(timeline).to_contain_text(step)
    expect(manager.locator(".facts .reply")).to_contain_text("電郵")  # the reply went by email (R-HD-4)
    expect(manager.locator("img.signature")).to_be_visible()
    expect(manager.locator("ul.photos img")).to_have_count(1)
    expect(manager.locator(f"a[href$='/v2/runs?tags=complaint%3A{reference}']")).to_be_visible()
    checker(manager, "complaint-closed")
    with site.core.sessions() as s:
        actions = [e.action.value for e in s.scalars(select(ComplaintEvent).order_by(ComplaintEvent.id))]
        png = s.scalar(select(Revisit.signature_png))
        views = s.scalars(select(ContactView.page)).all()
    assert actions == ["receive", "assess", "assign", "resolve", "confirm", "revisit", "close"]
    assert png is not None and png.startswith(b"\x89PNG") and len(png) > 500  # a drawn signature, not blank
    assert {"resolution", "revisit", "complaint"} <= set(views)  # every view of the contact was logged

    # The resident follows the progress: no names, no contact data on the page.
    page.goto(f"{site.url}/status/{reference}")
    checker(page, "status-form")
    page.fill("#contact", "139 0000 0001")
    page.click("main button[type=submit]")
    expect(page.locator("main")).to_contain_text("已結案")
    assert "黃先生" not in page.content() and "13900000001" not in page.content()
    checker(page, "status")
    resident.close()


def test_every_other_staff_page_passes_the_accessibility_and_phone_width_checks(
    browser: Browser, site: Site, checker: Checker
) -> None:
    # A complaint the keyword rules suggest nothing for waits for the supervisor (R-AS-1..3).
    context = phone(browser)
    page = context.new_page()
    page.goto(f"{site.url}/complaints/new?lang=zh-Hans")
    page.select_option("#estate", "CH")
    page.fill("#contact_phone", "13900000002")
    page.fill("#content", "想反映一下最近的一些情況")
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile("/complaints/submitted/"))
    vague = page.inner_text("#reference").strip()
    wait_for(lambda: _intake_done(site, vague), 60, "intake of the vague complaint")
    assert site.status(vague) == "received"

    sign_in(page, site, checker, "supervisor")
    page.goto(f"{site.url}/staff/complaints/{vague}/assessment")
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    checker(page, "assessment")
    page.select_option("#category", "service")
    page.click("form:has(input[name=op][value=assess]) button[type=submit]")
    expect(page.locator("h1")).to_have_text(re.compile("已保存"))
    site.wait_for_status(vague, "assigned")

    # The handler cannot settle it: a transfer sheet; the supervisor decides (R-HD-3).
    core = site.core

    def transfer(s: Session) -> None:
        assignee = s.scalar(
            select(Staff).join(Complaint, Complaint.assignee_id == Staff.id).where(Complaint.reference == vague)
        )
        assert assignee is not None
        lifecycle.request_transfer(
            core, s, vague, EscalationIn(reason="需要上級協調"), Actor.of(assignee), runtime.now()
        )

    def transferred() -> bool:
        try:
            in_transaction(core.sessions, transfer)
        except ConflictError:  # the assignment's flow run still writing the complaint: reload, try again
            return False
        return True

    wait_for(transferred, 30, "the transfer sheet")
    page.goto(f"{site.url}/staff")
    checker(page, "inbox-tasks")
    expect(page.locator("ul.tasks")).to_contain_text(vague)
    page.goto(f"{site.url}/staff/complaints/{vague}/decision")
    checker(page, "decision")
    page.goto(f"{site.url}/staff/complaints/{vague}")
    checker(page, "complaint-open")
    page.goto(f"{site.url}/staff/register?lang=en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    checker(page, "register")
    page.goto(f"{site.url}/staff/no-such-page")
    checker(page, "not-found")
    page.goto(f"{site.url}/mail")
    checker(page, "mail-list")
    context.close()


def _intake_done(site: Site, reference: str) -> bool:
    with site.core.sessions() as s:
        return bool(s.scalar(select(Complaint.intake_done).where(Complaint.reference == reference)))
