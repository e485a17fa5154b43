"""Staff pages and exports speak the reader's language: no rule id, no email address where a name
belongs, no stored code on a Chinese page, no time with seconds.

One complaint is walked through its whole life (received, assessed, assigned, a transfer sheet
its superior did not decide in time, decided, a missed deadline, resolved, an unsatisfied revisit,
reopened, resolved again, a satisfied revisit, closed), and others are left at each step (a major
and a written one reported to leadership) so that every action page is open for someone. Each role of the
demo estate then reads every page in each language. ``PAGES`` is the list scanned: add a page
there (name, address, who reads it).
"""

from __future__ import annotations

import csv
import io
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import update

from estatecare.server import create_app
from estatecare.services import lifecycle
from estatecare.services.records import in_transaction
from estatecare.webapp.accounts import set_password
from estatecare.webapp.i18n import translations
from models import Staff, enums
from models.enums import Locale
from models.policy import load_policy
from tests.lifecycle_support import DOMAIN, LEAK, PASSWORD, SIGNATURE_PNG, World, csrf_in, make_world, sign_in

LOCALES = ("zh-Hant", "zh-Hans", "en")
#: The roles of the demo estate, each by the address it signs in with.
ROLES = {
    "receptionist": f"reception-ch@{DOMAIN}",
    "supervisor": f"supervisor-ch@{DOMAIN}",
    "manager": f"manager-ch@{DOMAIN}",
    "handler": f"engineering-1-ch@{DOMAIN}",
    "department-head": f"head-engineering-ch@{DOMAIN}",
    "deputy-gm": f"deputy-gm@{DOMAIN}",
    "gm": f"gm@{DOMAIN}",
}
EVERYONE = tuple(ROLES)


@dataclass(frozen=True)
class Page:
    """A page to scan: ``path`` names complaints as ``{closed}``, ``{received}``... (``Life``);
    ``form`` makes it a POST of that form (the page that answers a refused form), answered with ``status``."""

    name: str
    path: str
    roles: tuple[str, ...] = EVERYONE
    form: dict[str, str] | None = None
    status: int = 200


#: Every staff page of a complaint's life, and who reads it.
PAGES = (
    Page("home", "/staff"),
    Page("register", "/staff/register?from=2026-11-01&to=2026-12-31"),
    Page("register-csv", "/staff/register/export.csv"),
    Page("front-desk", "/staff/front-desk", ("receptionist", "supervisor", "manager")),
    Page("repair-desk", "/staff/front-desk/repairs", ("receptionist", "supervisor", "manager")),
    Page(
        "repair-desk-refused",
        "/staff/front-desk/repairs",
        ("receptionist",),
        form={"channel": "phone", "unit": "999", "contact_name": "黃先生", "trade": "water", "description": "水喉爆裂"},
        status=422,
    ),
    Page("repair-desk-registered", "/staff/front-desk/repairs/registered/{job}", ("receptionist", "manager")),
    Page("complaint-closed", "/staff/complaints/{closed}"),
    Page("complaint-major", "/staff/complaints/{major}"),
    Page("complaint-letter", "/staff/complaints/{letter}", ("receptionist", "manager", "deputy-gm")),
    Page("reply-letter", "/staff/complaints/{replied_letter}/letter", ("receptionist", "manager")),
    Page("task-assessment", "/staff/complaints/{received}/assessment", ("supervisor", "manager")),
    Page("task-duplicate", "/staff/complaints/{received}/duplicate", ("supervisor",)),
    Page("task-resolution", "/staff/complaints/{transferred}/resolution", ("handler", "department-head")),
    Page("task-decision-transfer", "/staff/complaints/{transferred}/decision", ("supervisor", "manager")),
    Page("task-decision-major", "/staff/complaints/{major}/decision", ("deputy-gm", "gm")),
    Page("task-decision-written", "/staff/complaints/{letter}/decision", ("deputy-gm",)),
    Page("task-confirmation", "/staff/complaints/{resolved}/confirmation", ("department-head",)),
    Page("task-revisit", "/staff/complaints/{revisit_due}/revisit", ("manager", "supervisor")),
    Page(
        "task-revisit-refused",
        "/staff/complaints/{revisit_due}/revisit",
        ("manager",),
        form={"op": "revisit", "method": "on_site", "satisfaction": "satisfied"},
        status=422,
    ),
    Page("task-closed", "/staff/complaints/{closed}/resolution", ("handler",)),
    Page("revisit-record", "/staff/revisits/{closed_revisit}", ("manager", "supervisor")),
    Page("job", "/staff/work-orders/{job}", ("handler", "department-head", "manager")),
    Page(
        "job-completion-refused",
        "/staff/work-orders/{job_arrived}",
        ("handler",),
        form={"op": "complete", "work_done": "換了一段水喉"},
        status=422,
    ),
    Page("job-done", "/staff/work-orders/{job_done}", ("handler", "manager", "supervisor")),
    Page("report-monthly", "/staff/reports/monthly?month=2026-11", ("manager", "deputy-gm", "gm")),
)

#: Email addresses a page may show, with the reason.
ALLOWED_EMAILS = {
    LEAK["contact_email"]: "the complainant's own contact, shown to those handling the case (R-IN-6)",
    f"service-ch@{DOMAIN}": "the service centre's address the reply letter gives the resident (R-IN-3)",
}
#: Codes a page may show as they are, with the reason.
ALLOWED_CODES = (
    (re.compile(r"complaint:[A-Z]+-[0-9A-Z-]+"), "the complaint's flow-run tag, typed into the Prefect UI's filter"),
)
RULE_ID = re.compile(r"\bR-[A-Z]{2}-\d+")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
SECONDS = re.compile(r"\b\d{1,2}:\d{2}:\d{2}\b")
WORD = re.compile(r"(?<![\w@.-])[A-Za-z][A-Za-z_]*(?![\w@-])", re.ASCII)


def internal_codes() -> set[str]:
    """Stored values that are English words or snake_case: the enums' and the departments' codes."""
    codes = {
        m.value
        for enum in vars(enums).values()
        if isinstance(enum, type) and issubclass(enum, enums.StrEnum) and enum is not enums.Locale
        for m in enum
    }
    return codes | set(load_policy().departments)


CODES = internal_codes()
ESTATE_CODE = re.compile(r"(?<![\w-])CH(?![\w-])", re.ASCII)


class _Text(HTMLParser):
    """The text a reader sees: no tags, attributes, scripts or styles."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "template"):
            self._hidden += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "template") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden and data.strip():
            self.parts.append(data.strip())


def visible_lines(body: str, content_type: str) -> list[str]:
    """A page's visible text, or a CSV's cells, one per line."""
    if content_type.startswith("text/csv"):
        return [cell for row in csv.reader(io.StringIO(body.lstrip("\ufeff"))) for cell in row if cell]
    parser = _Text()
    parser.feed(body)
    return parser.parts


def findings(lines: list[str], locale: str, csv_cells: bool = False) -> list[str]:
    """What a page shows that the reader should not see, each with its line."""
    out: list[str] = []
    chinese = locale.startswith("zh")
    for line in lines:
        for allowed, _reason in ALLOWED_CODES:
            line = allowed.sub("…", line)
        out += [f"rule id {m!r}: {line!r}" for m in RULE_ID.findall(line)]
        out += [f"email {m!r}: {line!r}" for m in EMAIL.findall(line) if m not in ALLOWED_EMAILS]
        out += [f"time with seconds {m!r}: {line!r}" for m in SECONDS.findall(line)]
        out += [f"estate code: {line!r}" for _ in ESTATE_CODE.findall(line)]
        words = [w for w in WORD.findall(line) if w in CODES and (chinese or "_" in w)]
        out += [f"code {w!r}: {line!r}" for w in words]
        if csv_cells and line in CODES:
            out.append(f"code cell {line!r}")
    return out


@dataclass
class Life:
    """The complaints of the walk, by the step each was left at, and a signed-in client per role."""

    refs: dict[str, str]
    clients: dict[str, TestClient] = field(default_factory=dict)


def _submit(client: TestClient, headers: dict[str, str] | None = None, **overrides: Any) -> str:
    r = client.post("/api/complaints", json={**LEAK, **overrides}, headers=headers)
    assert r.status_code == 201, r.text
    return str(r.json()["reference"])


def _step(client: TestClient, world: World, ref: str, path: str, who: str, **body: Any) -> None:
    r = client.post(f"/api/complaints/{ref}/{path}", json=body, headers=world.auth(who))
    assert r.status_code == 200, (path, r.text)


def _sweep(world: World) -> None:
    core = world.core
    assert in_transaction(core.sessions, lambda s: lifecycle.sweep_deadlines(core, s, world.clock()))


def _revisit(client: TestClient, world: World, ref: str, satisfied: bool) -> None:
    body: dict[str, Any] = {"method": "on_site", "quality": "好"}
    if satisfied:
        body |= {"satisfaction": "satisfied", "signature_png_base64": SIGNATURE_PNG}
    else:
        body |= {"satisfaction": "unsatisfied", "shortcomings": "仍然滴水", "refusal_note": "住戶拒絕簽名"}
    _step(client, world, ref, "revisits", "manager", **body)
    assert world.after_revisit(ref) == ("closed" if satisfied else "reopened")


def walk(client: TestClient, world: World) -> dict[str, str]:
    """Complaints left at each step of a complaint's life; ``closed`` went through all of them."""
    refs: dict[str, str] = {}
    handler = f"engineering-1-ch@{DOMAIN}"
    # the whole life: a transfer sheet its superior does not decide in time, a decision, a missed
    # deadline, an unsatisfied revisit, and closed after a satisfied one
    refs["closed"] = ref = _submit(client)
    world.intake(ref)
    world.clock.advance(hours=1)
    _step(client, world, ref, "escalation", "engineering-1", reason="需要更換整條水管，費用超出部門權限")
    world.clock.advance(hours=25)
    _sweep(world)  # the supervisor did not decide in time: the manager decides
    _step(client, world, ref, "escalation/decision", "manager", department="engineering", staff_email=handler)
    world.clock.advance(days=3)
    _sweep(world)  # the resolution deadline passed
    _step(client, world, ref, "resolution", "engineering-1", result="已更換水管")
    _step(client, world, ref, "resolution/confirmation", "head-engineering", confirmed=True)
    _revisit(client, world, ref, satisfied=False)
    _step(client, world, ref, "resolution", "engineering-1", result="再次檢查並加固接頭")
    _step(client, world, ref, "resolution/confirmation", "head-engineering", confirmed=True)
    _revisit(client, world, ref, satisfied=True)
    # received: waits for the supervisor's assessment
    refs["received"] = ref = _submit(client, unit="102")
    world.run_intake(ref)
    # assigned, and its handler sent a transfer sheet: the supervisor decides
    refs["transferred"] = ref = _submit(client, unit="201")
    world.intake(ref)
    _step(client, world, ref, "escalation", "engineering-1", reason="需要保安部協助")
    # resolved: waits for the department head
    refs["resolved"] = ref = _submit(client, unit="202")
    world.intake(ref)
    _step(client, world, ref, "resolution", "engineering-1", result="已修好")
    # revisit due
    refs["revisit_due"] = ref = _submit(client, unit="301")
    world.intake(ref)
    _step(client, world, ref, "resolution", "engineering-1", result="已修好")
    _step(client, world, ref, "resolution/confirmation", "head-engineering", confirmed=True)
    # major: reported to leadership at once, waits for the deputy GM's decision
    refs["major"] = ref = _submit(client, unit="302")
    world.intake(ref, severity="major")
    # a letter registered by the front desk: reported to leadership
    refs["letter"] = ref = _submit(client, unit="401", channel="letter", headers=world.auth("reception"))
    world.intake(ref)
    # a letter answered: its reply letter is printed
    refs["replied_letter"] = ref = _submit(client, unit="402", channel="letter", headers=world.auth("reception"))
    world.intake(ref)
    _step(client, world, ref, "resolution", "engineering-1", result="已修好")
    _step(client, world, ref, "resolution/confirmation", "head-engineering", confirmed=True, reply_by="letter")
    # repair jobs of the engineering handler: dispatched, on site, and done with the resident's signature
    work = {"work_done": "換了一段水喉", "charge": "120.50", "signature_png_base64": SIGNATURE_PNG}
    job = {k: LEAK[k] for k in ("estate", "building", "contact_phone", "contact_email")}
    job |= {"trade": "water", "description": "廚房水喉漏水", "contact_name": LEAK["complainant_name"]}
    for name, unit, recorded in (
        ("job", "101", ()),
        ("job_arrived", "102", ("arrival",)),
        ("job_done", "201", ("arrival", "completion")),
    ):
        r = client.post("/api/repairs", json={**job, "unit": unit})
        assert r.status_code == 201, r.text
        refs[name] = r.json()["reference"]
        for path in recorded:
            body = work if path == "completion" else {}
            r = client.post(f"/api/work-orders/{refs[name]}/{path}", json=body, headers=world.auth("engineering-1"))
            assert r.status_code == 200, (path, r.text)
    closed = client.get(f"/api/complaints/{refs['closed']}", headers=world.auth("manager")).json()
    refs["closed_revisit"] = str(closed["revisits"][-1]["id"])
    return refs


@pytest.fixture(scope="module")
def life(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Life]:
    """The walked complaints and one signed-in client per role, shared by every scan of this module."""
    directory = tmp_path_factory.mktemp("untranslated")
    shutil.copy(sqlite_template, directory / "estatecare.db")
    world = make_world(f"sqlite:///{directory / 'estatecare.db'}", directory)
    with world.core.transaction() as s:
        for email in ROLES.values():
            set_password(s, email, PASSWORD)
        # one engineering handler: every complaint of the walk is theirs
        s.execute(
            update(Staff).where(Staff.email.like("engineering-%"), Staff.email != ROLES["handler"]).values(active=False)
        )
    app = create_app(world.core, clock=world.clock)
    with TestClient(app) as api:
        found = Life(walk(api, world))
    for role, email in ROLES.items():
        client = TestClient(app)
        client.__enter__()
        sign_in(client, email)
        found.clients[role] = client
    yield found
    for client in found.clients.values():
        client.__exit__(None, None, None)


SCANS = [(page, role, locale) for page in PAGES for role in page.roles for locale in LOCALES]


def _fetch(client: TestClient, page: Page, refs: dict[str, str], locale: str) -> tuple[int, str, str]:
    path = page.path.format(**refs)
    url = f"{path}{'&' if '?' in path else '?'}lang={locale}"
    if page.form is None:
        r = client.get(url)
    else:
        form = client.get(url)
        version = re.search(r'name="version" value="(\d+)"', form.text)
        data = {**page.form, "csrf_token": csrf_in(form.text), "version": version.group(1) if version else ""}
        r = client.post(url, data=data)
    return r.status_code, r.headers.get("content-type", ""), r.text


@pytest.mark.parametrize(
    ("page", "role", "locale"),
    SCANS,
    ids=[f"{page.name}-{locale}-{role}" for page, role, locale in SCANS],
)
def test_a_page_shows_names_in_the_readers_language(life: Life, page: Page, role: str, locale: str) -> None:
    status, content_type, body = _fetch(life.clients[role], page, life.refs, locale)
    assert status == page.status, body[:500]
    lines = visible_lines(body, content_type)
    assert lines, f"{page.name}: nothing to read"
    found = findings(lines, locale, csv_cells=content_type.startswith("text/csv"))
    print(f"{page.name} · {locale} · {role}: HTTP {status}, {len(lines)} lines, {len(found)} findings")
    assert not found, "\n".join(dict.fromkeys(found))


def test_the_scan_finds_what_it_looks_for() -> None:
    """Each kind of finding is found, and names and the allowed addresses pass."""
    bad = ["驗收 (R-RV-14)", "engineering-1-ch@estatecare.localhost", "10:02:33", "翠湖 CH", "類型 online"]
    assert len(findings(bad, "zh-Hant")) == 5
    assert findings(["online"], "en", csv_cells=True) == ["code cell 'online'"]
    fine = ["工程部師傅甲 (工程部)", LEAK["contact_email"], "CH-261102-7KQ4MZ", "10:02", "Estate Care"]
    assert findings(fine, "zh-Hant") == []


def test_every_page_is_scanned_in_every_language() -> None:
    """The list of scans, printed: each page by each of its readers in each language."""
    for page in PAGES:
        print(page.name, page.path, ", ".join(page.roles))
        assert {locale for p, _, locale in SCANS if p is page} == set(LOCALES)


@pytest.mark.parametrize("locale", LOCALES)
def test_the_timeline_names_people_and_says_the_services_notes_in_the_readers_language(life: Life, locale: str) -> None:
    gettext = translations(Locale(locale)).gettext
    page = life.clients["manager"].get(f"/staff/complaints/{life.refs['closed']}?lang={locale}")
    lines = visible_lines(page.text, "")
    assert "工程部師傅甲 (工程部)" in lines  # the handler and the department, by name
    for msgid in ("Revisit satisfied: the complaint is closed", "Revisit unsatisfied: put it right and revisit again"):
        assert gettext(msgid) in lines
    missed = gettext("The resolution deadline (%(due)s) was missed").split("%(due)s")[0]
    not_decided = gettext("No decision by the %(role)s (level %(level)s) by %(due)s: passed one level up")
    not_decided = not_decided.split("%(due)s")[0] % {"role": gettext("Property supervisor"), "level": 1}
    for start in (missed, not_decided):
        assert any(line.startswith(start) for line in lines), start
    assert "需要更換整條水管，費用超出部門權限" in lines  # a person's words, as typed


@pytest.mark.parametrize("locale", LOCALES)
def test_a_refused_revisit_says_why_in_the_readers_language(life: Life, locale: str) -> None:
    page = next(p for p in PAGES if p.name == "task-revisit-refused")
    status, _, body = _fetch(life.clients["manager"], page, life.refs, locale)
    wanted = translations(Locale(locale)).gettext(
        "An on-site revisit needs the resident's signature, or a note why the resident refused."
    )
    lines = visible_lines(body, "")
    assert status == 422 and wanted in lines
    assert not [line for line in lines if "signature_png_base64" in line]


@pytest.mark.parametrize("locale", LOCALES)
def test_the_export_names_the_estate_and_the_codes_in_the_readers_language(life: Life, locale: str) -> None:
    r = life.clients["manager"].get(f"/staff/register/export.csv?lang={locale}")
    rows = list(csv.reader(io.StringIO(r.text.lstrip("\ufeff"))))
    gettext = translations(Locale(locale)).gettext
    closed = next(row for row in rows if row[0] == life.refs["closed"])
    assert closed[:2] == [life.refs["closed"], "翠湖花園"]  # the reference kept, the estate by name
    assert closed[3] == gettext("Online form") and closed[7] == gettext("Closed") and closed[12] == gettext("Satisfied")
    xlsx = life.clients["manager"].get(f"/staff/register/export.xlsx?lang={locale}")
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    [row] = [r for r in sheet.iter_rows(min_row=2, values_only=True) if r[0] == life.refs["closed"]]
    assert row[1] == "翠湖花園" and row[3] == gettext("Online form") and row[12] == gettext("Satisfied")


@pytest.mark.parametrize(
    ("start", "end"),
    [("2026-11-01", "2026-11-30"), ("2026/11/1", "20261130"), ("２０２６－１１－０１", "2026.11.30")],
)
def test_the_register_filter_reads_dates_as_typed(life: Life, start: str, end: str) -> None:
    client = life.clients["manager"]
    both = client.get("/staff/register", params={"from": start, "to": end, "lang": "en"})
    assert both.status_code == 200 and life.refs["closed"] in both.text
    later = client.get("/staff/register", params={"from": "2026-12-01", "lang": "en"})
    assert later.status_code == 200 and life.refs["closed"] not in later.text
    assert client.get("/staff/register", params={"from": "11/30/2026", "lang": "en"}).status_code == 400
