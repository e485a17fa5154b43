"""The monthly report page (R-KP-1, R-KP-2) over HTTP: figures against targets, the twelve-month
trend charts as inline SVG with their numbers in tables, who may read which estate, bad input,
the .xlsx download, and the charts in the summary email.

The data set spans several months and is small enough to count by hand: the expected figures
are worked out from the rows created here, not computed by the code under test.
"""

from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import event, select

from estatecare.server import create_app
from estatecare.services import monthly_report
from estatecare.services.monthly_report.trends import monthly_trend
from estatecare.webapp.accounts import set_password
from models import Complaint, Estate, Revisit, Staff, Unit, WorkOrder
from models.enums import (
    Category,
    Channel,
    ComplaintStatus,
    Locale,
    RevisitKind,
    RevisitMethod,
    Role,
    Satisfaction,
    ServiceArea,
    WorkOrderKind,
)
from notifications.render import render
from tests.lifecycle_support import DOMAIN, PASSWORD, Clock, World, make_world

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # 09:00 on 1 December in Shanghai: November is the last month
SVG = "{http://www.w3.org/2000/svg}"
PNG = b"\x89PNG\r\n\x1a\n-signature"


def local(year: int, month: int, day: int, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=SH).astimezone(UTC)


def _data(world: World) -> None:
    """Complaints and revisits of CH from September to November 2026 (and one a year before), and
    one complaint of a second estate, NB, with its own manager."""
    with world.core.transaction() as s:
        ch = s.scalar(select(Estate).where(Estate.code == "CH"))
        assert ch is not None
        nb = Estate(code="NB", name="南灣大廈", households=100)
        s.add(nb)
        s.flush()
        s.add(Staff(estate_id=nb.id, name="南灣經理", email=f"manager-nb@{DOMAIN}", role=Role.SERVICE_CENTRE_MANAGER))
        s.flush()
        n = 0

        def complaint(estate: Estate, received: datetime, category: Category, area: ServiceArea, **kw: Any) -> int:
            nonlocal n
            n += 1
            row = Complaint(
                reference=f"T-{estate.code}-{n}", estate_id=estate.id, channel=Channel.PHONE,
                content=f"complaint {n}", received_at=received, category=category, service_area=area,
                valid=True, status=ComplaintStatus.ASSIGNED, **kw,
            )  # fmt: skip
            s.add(row)
            s.flush()
            return row.id

        fac, env, saf = Category.FACILITY, Category.ENVIRONMENT, Category.SAFETY
        rep, cle, sec = ServiceArea.REPAIRS, ServiceArea.CLEANING, ServiceArea.SECURITY
        # November 2025: thirteen months back, outside the trend of December 2025 to November 2026
        complaint(ch, local(2025, 11, 20, 10), fac, rep)
        # September: two, both answered on time
        september = [
            complaint(ch, local(2026, 9, day, 10), fac, rep,
                      response_due_at=local(2026, 9, day, 20), first_response_at=local(2026, 9, day, 11))
            for day in (3, 4)
        ]  # fmt: skip
        # October: one, answered late
        complaint(ch, local(2026, 10, 10, 10), env, cle,
                  response_due_at=local(2026, 10, 11, 10), first_response_at=local(2026, 10, 12, 10))  # fmt: skip
        # November: three; answered on time 2 of 3, resolved on time 1 of 2
        first = complaint(ch, local(2026, 11, 3, 10), fac, rep,
                  response_due_at=local(2026, 11, 4, 10), first_response_at=local(2026, 11, 3, 11),
                  resolution_due_at=local(2026, 11, 6, 10), resolved_at=local(2026, 11, 5, 10))  # fmt: skip
        late = complaint(ch, local(2026, 11, 5, 10), fac, rep,
                  response_due_at=local(2026, 11, 6, 10), first_response_at=local(2026, 11, 7, 10),
                  resolution_due_at=local(2026, 11, 8, 10))  # fmt: skip
        complaint(ch, local(2026, 11, 10, 10), saf, sec,
                  response_due_at=local(2026, 11, 11, 10), first_response_at=local(2026, 11, 10, 12))  # fmt: skip
        complaint(nb, local(2026, 11, 15, 10), saf, sec)

        def revisit(kind: RevisitKind, method: RevisitMethod, due: datetime, done: datetime | None, **kw: Any) -> None:
            s.add(Revisit(estate_id=ch.id, kind=kind, method=method, due_at=due, done_at=done, **kw))

        k, m = RevisitKind, RevisitMethod
        # September: on site, signed, satisfied
        revisit(k.COMPLAINT, m.ON_SITE, local(2026, 9, 10), local(2026, 9, 10, 10), signature_png=PNG,
                satisfaction=Satisfaction.SATISFIED, complaint_id=september[0])  # fmt: skip
        # November: on site signed and satisfied; a repair revisit by phone, unsatisfied; one due, not done
        revisit(k.COMPLAINT, m.ON_SITE, local(2026, 11, 8), local(2026, 11, 8, 10), signature_png=PNG,
                satisfaction=Satisfaction.SATISFIED, complaint_id=first)  # fmt: skip
        unit_id = s.scalar(select(Unit.id).where(Unit.estate_id == ch.id).limit(1))
        order = WorkOrder(reference="WO-CH-1", estate_id=ch.id, unit_id=unit_id, kind=WorkOrderKind.REPAIR,
                          created_at=local(2026, 11, 12, 10), completed_at=local(2026, 11, 13, 10))  # fmt: skip
        s.add(order)
        s.flush()
        revisit(k.SERVICE, m.PHONE, local(2026, 11, 15), local(2026, 11, 14, 10), satisfaction=Satisfaction.UNSATISFIED,
                work_order_id=order.id)  # fmt: skip
        revisit(k.COMPLAINT, m.ON_SITE, local(2026, 11, 25), None, complaint_id=late)
        for who in ("manager-ch", "gm", "manager-nb"):
            set_password(s, f"{who}@{DOMAIN}", PASSWORD)


@pytest.fixture
def world(db_url: str, tmp_path: Path) -> World:
    w = make_world(db_url, tmp_path)
    w.clock = Clock(NOW)
    _data(w)
    return w


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    with TestClient(create_app(world.core, clock=world.clock), raise_server_exceptions=False) as c:
        yield c


def sign_in(client: TestClient, who: str) -> None:
    page = client.get("/staff/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    form = {"email": f"{who}@{DOMAIN}", "password": PASSWORD, "next": "/staff", "csrf_token": token.group(1)}
    assert client.post("/staff/login", data=form, follow_redirects=False).status_code == 303


class Tables(HTMLParser):
    """Every table of a page: its caption and its rows of cell texts."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tables: list[dict[str, Any]] = []
        self._cell: list[str] | None = None
        self._caption: list[str] | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.tables.append({"caption": "", "rows": []})
        elif tag == "tr" and self.tables:
            self.tables[-1]["rows"].append([])
        elif tag in ("td", "th") and self.tables:
            self._cell = []
        elif tag == "caption":
            self._caption = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1]["rows"][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "caption" and self._caption is not None:
            self.tables[-1]["caption"] = "".join(self._caption).strip()
            self._caption = None

    def handle_data(self, data: str) -> None:
        for part in (self._cell, self._caption):
            if part is not None:
                part.append(data)

    def captioned(self, caption: str) -> list[list[str]]:
        (table,) = [t for t in self.tables if t["caption"] == caption]
        rows: list[list[str]] = table["rows"]
        return rows


def svgs(html: str) -> list[ET.Element]:
    return [ET.fromstring(s) for s in re.findall(r"<svg\b.*?</svg>", html, re.S)]


def series_of(svg: ET.Element) -> dict[str, dict[str, str]]:
    """Per series (its legend's name): the value drawn at each month."""
    legends = [g for g in svg.iter(f"{SVG}g") if "legend" in g.get("class", "").split()]
    out: dict[str, dict[str, str]] = {}
    for i, legend in enumerate(legends):
        points: dict[str, str] = {}
        for group in svg.iter(f"{SVG}g"):
            if f"serie-{i}" not in group.get("class", "").split():
                continue
            for mark in group.iter(f"{SVG}g"):
                descs = {d.get("class"): d.text for d in mark.findall(f"{SVG}desc")}
                if "value" in descs:
                    points[str(descs["x_label"])] = str(descs["value"])
        out[legend.findtext(f"{SVG}text") or ""] = points
    return out


def figure(tables: Tables, name: str) -> str:
    """The value of the month's figure ``name`` (its row in the figures' tables)."""
    (value,) = [str(row[1]) for t in tables.tables for row in t["rows"] if row and row[0] == name]
    return value


MONTHS = ["2025-12", *(f"2026-{m:02d}" for m in range(1, 12))]


def test_the_page_shows_every_target_met_or_missed_and_twelve_months_of_trends(
    client: TestClient, world: World
) -> None:
    sign_in(client, "manager-ch")
    r = client.get("/staff/reports/monthly?lang=en")  # default: the last finished month, the own estate
    assert r.status_code == 200, r.text
    html = r.text
    assert "翠湖花園" in html and "November 2026" in html
    assert "4 of 6 targets met, 2 missed." in html
    tables = Tables(html)
    targets = {row[0]: row[1:] for row in tables.tables[0]["rows"][1:]}
    # met or missed (in words, not colour alone), value, target, counted
    assert targets["Revisit handling rate"] == ["✘ Target missed", "50.0%", "≥ 100.0%", "1 / 2"]
    assert targets["Repair satisfaction"] == ["✘ Target missed", "0.0%", "≥ 98.0%", "0 / 1"]
    assert targets["On-site signed revisits (month)"] == ["✔ Target met", "50.0%", "≥ 40.0%", "1 / 2"]
    assert targets["On-site signed revisits (year to date)"] == ["✔ Target met", "66.7%", "≥ 40.0%", "2 / 3"]
    assert targets["Phone + letter revisits (month)"] == ["✔ Target met", "50.0%", "≤ 70.0%", "1 / 2"]
    assert targets["Phone + letter revisits (year to date)"] == ["✔ Target met", "33.3%", "≤ 70.0%", "1 / 3"]
    assert 'class="result result-missed"' in html and 'class="result result-met"' in html
    # the month's other figures and the corrective action (the unsatisfied revisit)
    assert figure(tables, "Complaints received") == "3"
    assert "Corrective actions (1)" in html and "Unsatisfied revisit" in html
    # the links: the month before and after, the spreadsheet
    assert 'href="/staff/reports/monthly?month=2026-10"' in html
    assert 'href="/staff/reports/monthly?month=2026-12"' in html
    assert 'href="/staff/reports/monthly.xlsx?month=2026-11"' in html
    assert "not over yet" not in html
    # December is still running: counted as at now, and no month after it yet
    december = client.get("/staff/reports/monthly?month=2026-12").text
    assert "This month is not over yet" in december and "month=2027-01" not in december

    # the trend charts: SVG without script, labelled, a bar or point for each month
    assert "<script" not in html
    charts = svgs(html)
    assert [c.get("aria-label") for c in charts] == [
        "Complaints by category",
        "Complaints by service area",
        "First response and resolution on time",
        "Revisit satisfaction",
        "On-site signed revisits",
    ]
    category = series_of(charts[0])
    assert list(category) == ["Facility failure", "Environment", "Safety"]
    assert list(category["Facility failure"]) == MONTHS  # a bar per month, zeros included
    assert {m: v for m, v in category["Facility failure"].items() if v != "0"} == {"2026-09": "2", "2026-11": "2"}
    assert {m: v for m, v in category["Environment"].items() if v != "0"} == {"2026-10": "1"}
    assert {m: v for m, v in category["Safety"].items() if v != "0"} == {"2026-11": "1"}
    assert {m: v for m, v in series_of(charts[1])["Repairs"].items() if v != "0"} == {"2026-09": "2", "2026-11": "2"}
    on_time = series_of(charts[2])
    # a point only where there was something to count
    assert on_time["First response on time"] == {"2026-09": "100%", "2026-10": "0%", "2026-11": "66.7%"}
    assert on_time["Resolved on time"] == {"2026-11": "50%"}
    assert series_of(charts[3])["Revisit satisfaction"] == {"2026-09": "100%", "2026-11": "50%"}
    assert series_of(charts[4])["On-site signed revisits (month)"] == {"2026-09": "100%", "2026-11": "50%"}
    # ... and the same numbers in a table beside each chart
    rows = tables.captioned("First response and resolution on time (%)")
    assert rows[0] == ["Series", *MONTHS]
    assert rows[1] == ["First response on time", *["—"] * 9, "100.0", "0.0", "66.7"]
    assert rows[2] == ["Resolved on time", *["—"] * 11, "50.0"]
    counts = tables.captioned("Complaints by category")
    assert counts[1] == ["Facility failure", *["0"] * 9, "2", "0", "2"]
    # the chart style sheets are allowed by the page's nonce, nothing else inline
    nonce = re.search(r"'nonce-([^']+)'", r.headers["content-security-policy"])
    assert nonce and html.count(f'nonce="{nonce.group(1)}"') == 5
    assert " style=" not in html


def test_the_page_speaks_the_readers_language(client: TestClient, world: World) -> None:
    sign_in(client, "manager-ch")
    html = client.get("/staff/reports/monthly?month=2026-11&lang=zh-Hant").text
    assert "每月投訴及回訪報告" in html and "2026年11月" in html
    assert "✘ 未達標" in html and "✔ 達標" in html
    assert 'aria-label="投訴件數（按投訴性質）"' in html and "設施故障" in html
    assert "Noto Sans CJK TC" in html
    assert "R-KP" not in html
    html = client.get("/staff/reports/monthly?month=2026-11&lang=zh-Hans").text
    assert "每月投诉及回访报告" in html and 'aria-label="投诉件数（按投诉性质）"' in html and "设施故障" in html


def test_staff_of_an_estate_read_their_own_estate_only_and_leaders_any(client: TestClient, world: World) -> None:
    assert client.get("/staff/reports/monthly", follow_redirects=False).status_code == 303  # to the sign-in
    sign_in(client, "manager-ch")
    assert client.get("/staff/reports/monthly?estate=CH").status_code == 200
    assert client.get("/staff/reports/monthly?estate=NB").status_code == 403
    assert client.get("/staff/reports/monthly.xlsx?estate=NB").status_code == 403

    other = TestClient(client.app, raise_server_exceptions=False)
    sign_in(other, "manager-nb")
    page = other.get("/staff/reports/monthly?lang=en").text
    assert "南灣大廈" in page and "翠湖花園" not in page and 'id="estate"' not in page
    assert other.get("/staff/reports/monthly?estate=CH").status_code == 403

    leader = TestClient(client.app, raise_server_exceptions=False)
    sign_in(leader, "gm")
    company = leader.get("/staff/reports/monthly?month=2026-11").text  # the GM reads English
    assert "Company-wide" in company and '<option value="NB">南灣大廈</option>' in company
    assert figure(Tables(company), "Complaints received") == "4"  # CH's three and NB's one
    nb = leader.get("/staff/reports/monthly?month=2026-11&estate=NB").text
    assert '<option value="NB" selected>南灣大廈</option>' in nb
    assert figure(Tables(nb), "Complaints received") == "1"
    assert "No data" in nb  # NB has no revisits: its targets are neither met nor missed
    assert 'href="/staff/reports/monthly?month=2026-10&amp;estate=NB"' in nb
    unknown = leader.get("/staff/reports/monthly?estate=XX")
    assert unknown.status_code == 400 and "Estate: there is no estate with this code." in unknown.text


@pytest.mark.parametrize("bad", ["2026-13", "2026-1", "abc", "1999-12", "2027-01", "2026-11-01"])
def test_a_bad_month_gets_the_clear_error_page(client: TestClient, world: World, bad: str) -> None:
    sign_in(client, "gm")
    for path in ("/staff/reports/monthly", "/staff/reports/monthly.xlsx"):
        r = client.get(path, params={"month": bad})
        assert r.status_code == 400, (path, r.status_code)
        assert "Request refused" in r.text
        assert "Month: enter a month from 2000-01 to 2026-12 (YYYY-MM)." in r.text
        assert "Traceback" not in r.text


def test_the_xlsx_download_holds_the_months_figures(client: TestClient, world: World) -> None:
    sign_in(client, "manager-ch")
    r = client.get("/staff/reports/monthly.xlsx?month=2026-11")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    assert 'filename="monthly-revisit-statistics-2026-11-CH.xlsx"' in r.headers["content-disposition"]
    wb = load_workbook(io.BytesIO(r.content))
    rows = {row[0]: row for row in wb["回訪用戶月統計表"].iter_rows(min_row=3, values_only=True)}
    # estate, revisits, on site, signed, phone, letter, satisfied, basically, unsatisfied, satisfaction %
    assert rows["翠湖花園"][:10] == ("翠湖花園", 2, 1, 1, 1, 0, 1, 0, 1, 50.0)
    assert set(rows) == {"翠湖花園"}  # the manager's own estate only
    results = [str(row[4]) for row in wb["目標達成"].iter_rows(min_row=2, values_only=True)]
    assert sorted(results) == ["未達標", "未達標", "達標", "達標", "達標", "達標"]


def test_the_summary_email_carries_the_trend_charts_in_html_only(world: World) -> None:
    core = world.core
    with core.transaction() as s:
        report = monthly_report.build_report(core, s, 2026, 11, "CH", generated_at=NOW)
        assert monthly_report.queue_summary(core, s, report, now=NOW)
    mails = {m.recipient_email: m for m in world.mails("monthly_summary")}
    gm = mails[f"gm@{DOMAIN}"]
    assert gm.context["action_url"] == "http://estatecare.test/staff/reports/monthly?month=2026-11&estate=CH"
    message = render("monthly_summary", gm.context, Locale.EN, "Asia/Shanghai")
    charts = svgs(message.html)
    assert len(charts) == 5 and charts[0].get("aria-label") == "Complaints by category"
    assert series_of(charts[3])["Revisit satisfaction"] == {"2026-09": "100%", "2026-11": "50%"}
    assert message.html.index("<svg") < message.html.index("Revisit handling rate")  # above the figures
    assert "<script" not in message.html
    assert "<svg" not in message.text and "Trends" not in message.text
    deputy = render("monthly_summary", mails[f"deputy-gm@{DOMAIN}"].context, Locale.ZH_HANS, "Asia/Shanghai")
    assert 'aria-label="投诉件数（按投诉性质）"' in deputy.html and "近 12 个月趋势" in deputy.html


@pytest.mark.parametrize("code", ["CH", None])
def test_each_month_of_the_trend_is_its_reports_in_two_grouped_queries(world: World, code: str | None) -> None:
    core = world.core
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    with core.sessions() as s:
        s.connection()  # begin before counting
        event.listen(core.engine, "before_cursor_execute", count)
        try:
            trend = monthly_trend(core, s, 2026, 11, code)
        finally:
            event.remove(core.engine, "before_cursor_execute", count)
        assert len([q for q in statements if "GROUP BY" in q.upper()]) == 2
        assert len(statements) <= 3  # the estate's id, then one query for complaints, one for revisits
        assert [p.month for p in trend] == MONTHS
        for point in trend:
            year, month = (int(part) for part in point.month.split("-"))
            report = monthly_report.build_report(core, s, year, month, code, generated_at=NOW)
            scope = report.company if code is None else report.estates[0]
            assert scope is not None
            kpi = {k.id: k.value for k in scope.kpis}
            assert point.complaints == scope.counts["complaints"]
            assert point.by_category == {b.key: b.count for b in scope.by_category}
            assert point.by_service_area == {b.key: b.count for b in scope.by_service_area}
            assert point.response_on_time == scope.rates["response_on_time"]
            assert point.resolution_on_time == scope.rates["resolution_on_time"]
            assert point.satisfaction == scope.rates["satisfaction"]
            assert point.on_site_signed_share == kpi["on_site_signed_share"]
    assert sum(p.complaints for p in trend) == (6 if code else 7)  # not the one of November 2025
