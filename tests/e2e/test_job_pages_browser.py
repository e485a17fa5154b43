"""The technician's job page in a real browser (Debian's chromium via Playwright) on a 375 px wide
phone: opened from the job email's signed link without signing in, the arrival, a completion sent
without the resident's sign-off (refused, nothing typed lost), the resident's signature drawn with
the pointer on the signature box, and the finished job's record with that signature. Every page
passes axe-core with no critical or serious violation and nothing scrolls sideways
(``browser_support.Checker``).

With ``ESTATECARE_DOCS_SCREENSHOTS=1`` the last screenshot is also written to
docs/screenshots/job-completion-375px.png."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image
from playwright.sync_api import Browser, BrowserContext, expect
from sqlalchemy import select

from estatecare.app import App
from estatecare.demo import seed_demo
from estatecare.mailcatcher import MailCatcher
from estatecare.migrate import upgrade
from estatecare.server import create_app
from estatecare.settings import Settings
from estatecare.webapp.accounts import set_password
from models import Notification, Revisit, WorkOrder
from tests.e2e.browser_support import ARTIFACTS, PHONE_WIDTH, Checker, Site, launched_chromium
from tests.smtp_server import free_port

PASSWORD = "demo-password-1"
DOMAIN = "estatecare.localhost"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
URGENT = {
    "estate": "CH",
    "building": "1座",
    "unit": "101",
    "trade": "water",
    "urgency": "urgent",
    "description": "廚房水喉爆裂，水流不停",
    "contact_name": "黃先生",
    "contact_phone": "13900000001",
}


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with launched_chromium() as b:
        yield b


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """The web process (API and web app, no flows) on a free port over the demo estate."""
    var = tmp_path_factory.mktemp("job-pages-var")
    port = free_port()
    db_url = f"sqlite:///{var / 'estatecare.db'}"
    upgrade(db_url)
    core = App.from_settings(Settings(database_url=db_url, var_dir=var, base_url=f"http://127.0.0.1:{port}"))
    with core.transaction() as s:
        seed_demo(s, core.policy)
        set_password(s, f"manager-ch@{DOMAIN}", PASSWORD)
    server = Site(core, create_app(core), port, MailCatcher(var / "mail", port=free_port()))
    server.start()
    yield server
    server.stop()


def phone(browser: Browser) -> BrowserContext:
    return browser.new_context(viewport={"width": PHONE_WIDTH, "height": 740}, locale="zh-TW", device_scale_factor=1)


def keep_for_docs(shot: Path, name: str) -> None:
    """Copy a screenshot into docs/screenshots/ as a 256-colour PNG (small enough to commit)."""
    if os.environ.get("ESTATECARE_DOCS_SCREENSHOTS") != "1":
        return
    with Image.open(shot) as image:
        image.convert("RGB").quantize(256).save(DOCS / f"{name}.png", optimize=True)


def job_link(web: Site, reference: str) -> str:
    """The signed link of the job's email to its technician."""
    with web.core.sessions() as s:
        mails = s.scalars(select(Notification).where(Notification.template == "job_task")).all()
    [url] = [m.context["action_url"] for m in mails if m.context["reference"] == reference]
    return str(url)


def test_the_technician_records_an_urgent_job_on_a_phone_with_the_residents_signature(
    browser: Browser, site: Site
) -> None:
    web = site
    r = httpx.post(f"{web.url}/api/repairs", json=URGENT)  # the resident, on the web without signing in
    assert r.status_code == 201, r.text
    reference = r.json()["reference"]
    check = Checker(ARTIFACTS / "job-pages", failing=("critical", "serious"))
    check.directory.mkdir(parents=True, exist_ok=True)
    page = phone(browser).new_page()

    page.goto(job_link(web, reference))
    expect(page.locator("h1")).to_have_text(f"派工單 {reference}")
    expect(page.locator("#resident")).to_contain_text("黃先生")
    expect(page.locator("#on-site-by .due-badge")).to_be_visible()
    check(page, "job-dispatched")

    page.click("#arrival-form button[type=submit]")
    page.wait_for_url(re.compile(r"saved=arrive"))
    expect(page.locator("#status")).to_have_text("維修人員已到場")
    check(page, "job-arrived")

    page.fill("#work_done", "更換廚房水喉一段，已試水，沒有滲漏。")
    page.fill("#materials", "水喉 2 米、接頭 2 個")
    page.fill("#charge", "120.50")
    page.click("#completion-form button[type=submit]")  # no sign-off yet: refused, nothing typed lost
    expect(page.locator(".alert")).to_be_visible()
    expect(page.locator("#signature_png_base64-error")).to_contain_text("請住戶在框內簽名")
    expect(page.locator("#work_done")).to_have_value("更換廚房水喉一段，已試水，沒有滲漏。")
    expect(page.locator("#charge")).to_have_value("120.50")
    check(page, "job-signoff-missing")

    pad = page.locator("#signature-pad")
    pad.scroll_into_view_if_needed()
    box = pad.bounding_box()
    assert box is not None and box["width"] > 200
    x, y, w, h = box["x"], box["y"], box["width"], box["height"]
    page.mouse.move(x + 0.1 * w, y + 0.7 * h)
    page.mouse.down()
    for i in range(1, 25):  # a signature's stroke: across the box, up and down
        page.mouse.move(x + (0.1 + 0.8 * i / 24) * w, y + (0.5 + 0.25 * (-1) ** i) * h, steps=2)
    page.mouse.up()
    check(page, "job-signed")
    page.click("#completion-form button[type=submit]")
    expect(page.locator("main .notice")).to_contain_text(reference)
    check(page, "job-done")

    with web.core.sessions() as s:
        job = s.scalar(select(WorkOrder).where(WorkOrder.reference == reference))
        assert job is not None and (job.status, job.charge_cents) == ("completed", 12050)
        assert (
            job.signature_png is not None and job.signature_png.startswith(b"\x89PNG") and len(job.signature_png) > 500
        )
        revisit = s.scalar(select(Revisit).where(Revisit.work_order_id == job.id))
        assert revisit is not None and revisit.kind == "service"  # an urgent job's immediate revisit

    page.goto(job_link(web, reference))  # the link recorded the job: it is spent
    expect(page.locator("h1")).to_have_text("此連結無法使用")
    page.goto(f"{web.url}/staff/login")
    page.fill("#email", f"manager-ch@{DOMAIN}")
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{web.url}/staff")
    page.goto(f"{web.url}/staff/work-orders/{reference}")
    signature = page.locator("#signature img")
    expect(signature).to_be_visible()
    assert page.evaluate("document.querySelector('#signature img').naturalWidth") > 0
    keep_for_docs(check(page, "job-record").screenshot, "job-completion-375px")
    page.context.close()
