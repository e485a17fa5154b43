"""The register page on real SQLite and PostgreSQL: a table naming each complaint's handler (never
an email address) and escalation level, sorted on the server by a whitelisted ``sort=``, filtered
by the staff home's queues with the export following the same filters, the deadline badge in the
reader's language, and on a 375 px phone no sideways scrolling (chromium, when installed)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from playwright.sync_api import Browser

from estatecare.mailcatcher import MailCatcher
from estatecare.server import create_app
from estatecare.webapp.i18n import time_left, translations
from models.enums import Locale
from tests.e2e.browser_support import PHONE_WIDTH, Checker, Site, launched_chromium
from tests.integration import test_staff_home as home
from tests.integration.test_staff_home import PEOPLE, REGISTER_ROW, as_person, keys, register_refs
from tests.lifecycle_support import PASSWORD, World
from tests.smtp_server import free_port

#: The staff home's tests' scene: CH and HK complaints left where each queue finds them.
world, scene, no_prefect = home.world, home.scene, home.no_prefect
ROW = re.compile(r"<tr[^>]*>\s*(<td.*?)</tr>", re.S)
CELL = re.compile(r'<td data-label="([^"]*)">(.*?)</td>', re.S)


def table(page: str) -> dict[str, dict[str, str]]:
    """The register's rows by reference: column label -> the cell's text."""
    rows: dict[str, dict[str, str]] = {}
    for row in ROW.findall(page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]):
        cells = {label: re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", text)).strip() for label, text in CELL.findall(row)}
        ref = REGISTER_ROW.findall(row)[0]
        rows[ref] = cells
    return rows


def test_the_register_names_the_handler_and_the_escalation_level_never_an_email(
    client: TestClient, scene: dict[str, str]
) -> None:
    page = as_person(client, "manager").get("/staff/register?lang=zh-Hant").text
    assert "<table" in page and 'class="register"' not in page
    rows = table(page)
    assert set(rows) == {ref for key, ref in scene.items() if key != "H"}
    _ = translations(Locale.ZH_HANT).gettext
    names = ("Reference", "Received at", "Category", "Status", "Escalated to", "Assignee", "Deadline", "Time left")
    columns = [_(name) for name in names]
    assert [list(cells) for cells in rows.values()] == [columns] * len(rows)
    b, d, a = ({columns[i]: v for i, v in enumerate(rows[scene[k]].values())} for k in "BDA")
    handler, level, status = _("Assignee"), _("Escalated to"), _("Status")
    assert (b[handler], b[level], b[status]) == ("工程部師傅甲", _("Property supervisor"), _("Being handled"))
    assert (d[handler], d[level]) == ("王麗華", _("Deputy general manager")) and d[_("Reference")].endswith(_("Major"))
    assert (a[level], a[_("Deadline")], a[_("Time left")]) == ("—", "2026/11/4 上午9:00", "逾期 1 小時")
    assert rows[scene["R"]][handler] == "—"
    assert "@" not in page.split("<table", 1)[1].split("</table>", 1)[0]
    english = table(client.get("/staff/register?lang=en").text)
    assert english[scene["B"]]["Escalated to"] == "Property supervisor"
    assert english[scene["D"]]["Escalated to"] == "Deputy general manager"
    assert english[scene["A"]]["Time left"] == "Overdue by 1 hour"
    assert english[scene["C"]]["Time left"] == "Due in 10 hours"


@pytest.mark.parametrize(
    ("sort", "order"),
    [
        ("deadline", ["A", "C", "V", "B", "R", "D", "W"]),  # W is closed: no deadline, last
        ("-deadline", ["D", "R", "B", "V", "C", "A", "W"]),
        ("-received", ["R", "D", "B", "W", "V", "C", "A"]),  # the default
        ("received", ["A", "C", "V", "W", "B", "D", "R"]),
        ("status", ["R", "D", "B", "C", "A", "V", "W"]),  # the lifecycle's order, newest first within
    ],
)
def test_the_register_sorts_on_the_server(
    client: TestClient, scene: dict[str, str], sort: str, order: list[str]
) -> None:
    as_person(client, "manager")
    listed = register_refs(client, f"/staff/register?sort={sort}")
    assert [key for ref in listed for key in keys(scene, [ref])] == order
    if sort == "-received":
        assert register_refs(client, "/staff/register") == listed


def test_the_highest_escalation_level_comes_first_and_the_headings_sort(
    client: TestClient, scene: dict[str, str]
) -> None:
    as_person(client, "manager")
    page = client.get("/staff/register?sort=-level&queue=open").text
    assert [key for ref in REGISTER_ROW.findall(page) for key in keys(scene, [ref])][:2] == ["D", "B"]
    assert '<th scope="col" aria-sort="descending"><a href="/staff/register?queue=open&amp;sort=level">' in page
    assert 'href="/staff/register?queue=open&amp;sort=deadline"' in page  # another column: its first order
    assert '<option value="open" selected>' in page  # the form shows the queue it lists


def test_a_sort_or_a_queue_outside_the_whitelist_is_refused(client: TestClient, scene: dict[str, str]) -> None:
    as_person(client, "manager")
    for query in ("sort=content", "sort=-id", "sort=received;drop", "queue=everything", "queue=mine%20"):
        assert client.get(f"/staff/register?{query}").status_code == 400, query
        assert client.get(f"/staff/register/export.csv?{query}").status_code == 400, query


def test_the_export_follows_the_queue_and_the_order(client: TestClient, scene: dict[str, str]) -> None:
    as_person(client, "manager")
    text = client.get("/staff/register/export.csv?queue=escalated").content.decode("utf-8-sig")
    refs = [row[0] for row in csv.reader(io.StringIO(text))][1:]
    assert keys(scene, refs) == {"B"}
    xlsx = client.get("/staff/register/export.xlsx?sort=deadline&queue=open")
    sheet = load_workbook(BytesIO(xlsx.content)).active
    assert sheet is not None
    listed = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert [key for ref in listed for key in keys(scene, [str(ref)])] == ["A", "C", "V", "B", "R", "D"]


def test_the_deadline_badge_in_each_language() -> None:
    now = datetime(2026, 11, 4, 2, 0, tzinfo=UTC)
    cases = {
        timedelta(days=2, hours=3, minutes=20): ("剩 2 天 3 小時", "剩 2天 3小时", "2 days 3 hours left"),
        timedelta(days=1): ("剩 1 天", "剩 1天", "1 day left"),
        timedelta(hours=5): ("還有 5 小時", "还有 5小时", "Due in 5 hours"),
        timedelta(hours=5, minutes=10, seconds=40): (
            "還有 5 小時 10 分鐘",
            "还有 5小时 10分钟",
            "Due in 5 hours 10 minutes",
        ),
        timedelta(seconds=20): ("還有 1 分鐘", "还有 1分钟", "Due in 1 minute"),
        -timedelta(days=1, minutes=30): ("逾期 1 天", "逾期 1天", "Overdue by 1 day"),
        -timedelta(hours=2, minutes=5): ("逾期 2 小時 5 分鐘", "逾期 2小时 5分钟", "Overdue by 2 hours 5 minutes"),
    }
    for delta, texts in cases.items():
        got = tuple(time_left(now + delta, now, loc) for loc in (Locale.ZH_HANT, Locale.ZH_HANS, Locale.EN))
        assert got == texts, delta
    assert time_left(None, now, Locale.EN) == ""


# --------------------------------------------------------------------------- on a phone


@pytest.fixture
def browser() -> Iterator[Browser]:
    """Debian's chromium (never a Playwright download); skipped where it is not installed."""
    with launched_chromium() as b:
        yield b


def test_on_a_phone_the_tables_become_cards_and_nothing_scrolls_sideways(
    world: World, scene: dict[str, str], browser: Browser, tmp_path: Path
) -> None:
    site = Site(
        world.core, create_app(world.core, clock=world.clock), free_port(), MailCatcher(tmp_path, port=free_port())
    )
    site.start()
    try:
        check = Checker(tmp_path, failing=("critical", "serious"))
        for who, pages in (("manager", ("/staff", "/staff/register")), ("gm", ("/staff", "/staff/register"))):
            context = browser.new_context(viewport={"width": PHONE_WIDTH, "height": 740}, device_scale_factor=1)
            page = context.new_page()
            page.goto(f"{site.url}/staff/login")
            page.fill("#email", PEOPLE[who])
            page.fill("#password", PASSWORD)
            page.click("main button[type=submit]")
            page.wait_for_url(f"{site.url}/staff")
            for path in pages:
                for lang in ("zh-Hant", "en"):
                    page.goto(f"{site.url}{path}?lang={lang}")
                    check(page, f"{who}{path.replace('/', '-')}-{lang}")  # axe, and at most 375 px wide
            # each row is a card: its cells stacked, each under its column's name
            page.goto(f"{site.url}/staff/register?lang=en&queue=escalated")
            cell = page.locator("table.register-table td[data-label='Escalated to']").first
            assert cell.evaluate("td => getComputedStyle(td).display") == "block"
            assert cell.evaluate("td => getComputedStyle(td, '::before').content") == '"Escalated to"'
            context.close()
    finally:
        site.stop()
