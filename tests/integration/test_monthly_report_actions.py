"""The monthly report's open and overdue items as at a stated moment, its corrective actions (R-KP-1)
and its late revisit records (R-RV-13), on real SQLite and PostgreSQL.

The data is small enough to count by hand; each comment says how a row counts.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from estatecare.services import lifecycle, monthly_report
from estatecare.services.records import in_transaction
from estatecare.services.schemas import RevisitIn, RevisitRecordIn
from estatecare.services.steps import apply_step
from models import Department, Estate, Revisit, Staff, WorkOrder
from models.enums import (
    Category,
    ComplaintStatus,
    Locale,
    RevisitKind,
    RevisitMethod,
    Satisfaction,
    WorkOrderKind,
)
from notifications.render import render
from tests.integration.test_monthly import _complaint, local
from tests.lifecycle_support import World

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)  # 20:00 on 7 December in Shanghai
S = ComplaintStatus


def _ch(s: Session) -> Estate:
    ch = s.scalar(select(Estate).where(Estate.code == "CH"))
    assert ch is not None
    return ch


def _departments(s: Session, estate: Estate) -> dict[str, int]:
    return {d.code: d.id for d in s.scalars(select(Department).where(Department.estate_id == estate.id))}


def test_the_current_months_overdue_is_as_at_now_and_agrees_with_the_register(client: TestClient, world: World) -> None:
    world.clock.now = NOW
    with world.core.sessions() as s, s.begin():
        ch = _ch(s)
        answered = local(2026, 12, 1, 11)
        # 1, 2: due later this month, not overdue at 20:00 on the 7th
        _complaint(s, ch, 1, received_at=local(2026, 12, 3, 10), valid=True, first_response_at=answered,
                   resolution_due_at=local(2026, 12, 20, 10), status=S.ASSIGNED)  # fmt: skip
        _complaint(s, ch, 2, received_at=local(2026, 12, 7, 9), response_due_at=local(2026, 12, 8, 9),
                   status=S.RECEIVED)  # fmt: skip
        # 3, 4: past their deadline now (resolution, revisit)
        _complaint(s, ch, 3, received_at=local(2026, 12, 1, 10), valid=True, first_response_at=answered,
                   resolution_due_at=local(2026, 12, 5, 10), status=S.ASSIGNED)  # fmt: skip
        _complaint(s, ch, 4, received_at=local(2026, 11, 20, 10), valid=True, first_response_at=answered,
                   resolved_at=local(2026, 11, 25, 10), revisit_due_at=local(2026, 12, 6, 10),
                   status=S.REVISIT_DUE)  # fmt: skip
        # 5: resolved late, waiting for its department head: not overdue (R-HD-6)
        _complaint(s, ch, 5, received_at=local(2026, 12, 2, 10), valid=True, first_response_at=answered,
                   resolution_due_at=local(2026, 12, 4, 10), resolved_at=local(2026, 12, 6, 10),
                   status=S.RESOLVED)  # fmt: skip

    register = client.get("/api/complaints?overdue=true&limit=500", headers=world.auth("gm"))
    assert register.status_code == 200, register.text
    assert {i["reference"] for i in register.json()["items"]} == {"T-CH-3", "T-CH-4"}
    r = client.get("/api/reports/monthly?month=2026-12", headers=world.auth("gm"))
    assert r.status_code == 200, r.text
    body = r.json()
    [ch_counts] = [e["counts"] for e in body["estates"] if e["code"] == "CH"]
    assert ch_counts["overdue"] == body["company"]["counts"]["overdue"] == register.json()["total"] == 2
    assert ch_counts["open"] == 5
    assert body["overdue_basis"] == "now"
    assert datetime.fromisoformat(body["overdue_as_at"]) == NOW
    assert body["overdue_label"] == "逾期（截至 2026-12-07 20:00）"

    # every presentation states the moment
    with world.core.sessions() as s:
        report = monthly_report.build_report(world.core, s, 2026, 12, generated_at=NOW)
    assert report.company is not None
    en = monthly_report.email_context(report, report.company, Locale.EN)
    hans = monthly_report.email_context(report, report.company, Locale.ZH_HANS)
    overview = {row[0]: row[1] for row in en["tables"][0]["rows"]}
    assert overview["Overdue as at 2026-12-07 20:00 (Asia/Shanghai)"] == 2
    assert overview["Open as at 2026-12-07 20:00 (Asia/Shanghai)"] == 5
    assert ["逾期（截至 2026-12-07 20:00）", 2] in hans["tables"][0]["rows"]
    for locale, text in (
        ("en", "Overdue as at 2026-12-07 20:00 (Asia/Shanghai)"),
        ("zh-Hans", "逾期（截至 2026-12-07 20:00）"),
    ):
        message = render("monthly_summary", en if locale == "en" else hans, locale, "Asia/Shanghai")
        assert text in message.html and text in message.text
    assert "逾期（截至 2026-12-07 20:00）" in monthly_report.markdown(report)
    stats = load_workbook(io.BytesIO(monthly_report.workbook(report)))["投訴統計"]
    assert ("全公司", "投訴概況", "逾期（截至 2026-12-07 20:00）", 2, None) in set(stats.iter_rows(values_only=True))


def test_a_finished_month_counts_what_was_past_its_deadline_and_open_at_its_end(world: World) -> None:
    core = world.core
    with core.sessions() as s, s.begin():
        ch = _ch(s)
        answered = local(2026, 11, 1, 11)
        # 1: resolution due on the 20th, still not resolved: overdue
        _complaint(s, ch, 1, received_at=local(2026, 11, 10, 10), valid=True, first_response_at=answered,
                   resolution_due_at=local(2026, 11, 20, 10), status=S.ASSIGNED)  # fmt: skip
        # 2: resolved on 1 December, after its deadline, closed since: open and overdue at month end
        _complaint(s, ch, 2, received_at=local(2026, 11, 10, 10), valid=True, first_response_at=answered,
                   resolution_due_at=local(2026, 11, 20, 10), resolved_at=local(2026, 12, 1, 10),
                   revisit_due_at=local(2026, 12, 3, 10), closed_at=local(2026, 12, 3, 12),
                   status=S.CLOSED)  # fmt: skip
        # 3: resolved on 5 November, reopened after an unsatisfied revisit and reassigned, due again on
        # the 15th and not resolved since: overdue at month end (its stored result is the earlier round's)
        _complaint(s, ch, 3, received_at=local(2026, 11, 1, 10), valid=True, first_response_at=answered,
                   resolved_at=local(2026, 11, 5, 10), resolution_due_at=local(2026, 11, 15, 10),
                   status=S.ASSIGNED)  # fmt: skip
        # 4: due on 3 December: overdue now, not at November's end
        _complaint(s, ch, 4, received_at=local(2026, 11, 25, 10), valid=True, first_response_at=answered,
                   resolution_due_at=local(2026, 12, 3, 10), status=S.ASSIGNED)  # fmt: skip
        # 5: resolved late on the 28th, waiting for the revisit due on 5 December: not overdue then
        _complaint(s, ch, 5, received_at=local(2026, 11, 10, 10), valid=True, first_response_at=answered,
                   resolution_due_at=local(2026, 11, 20, 10), resolved_at=local(2026, 11, 28, 10),
                   revisit_due_at=local(2026, 12, 5, 10), status=S.REVISIT_DUE)  # fmt: skip
        # 6: closed in the month: not open at its end
        _complaint(s, ch, 6, received_at=local(2026, 11, 2, 10), valid=True, first_response_at=answered,
                   resolution_due_at=local(2026, 11, 4, 10), resolved_at=local(2026, 11, 10, 10),
                   closed_at=local(2026, 11, 20, 10), status=S.CLOSED)  # fmt: skip
    with core.sessions() as s:
        report = monthly_report.build_report(core, s, 2026, 11, "CH", generated_at=NOW)
    counts = report.estates[0].counts
    assert (counts["open"], counts["overdue"]) == (5, 3)  # open 1-5; overdue 1, 2, 3
    assert report.overdue_basis == "month_end" and report.overdue_as_at == local(2026, 12, 1, 0)
    assert report.overdue_label == "逾期（截至 2026-12-01 00:00）"
    assert "逾期（截至 2026-12-01 00:00）" in monthly_report.markdown(report)
    assert "Overdue as at 2026-12-01 00:00 (Asia/Shanghai)" in monthly_report.markdown(report, Locale.EN)


def _actions_data(world: World) -> dict[str, int]:
    """November 2026: two corrective actions of each kind, and revisits recorded on time or late."""
    core = world.core
    with core.sessions() as s, s.begin():
        ch = _ch(s)
        nb = Estate(code="NB", name="南灣大廈", households=100)
        s.add(nb)
        s.flush()
        dept = _departments(s, ch)
        handler = s.scalar(select(Staff).where(Staff.department_id == dept["engineering"]).order_by(Staff.id))
        assert handler is not None
        result = (
            "更換了整條漏水的供水管並加裝檢修口，日後同類問題可在半天內處理完畢，並已向住戶說明原因及保養安排。" * 2
        )
        # a rectification resolved in November: listed, its result shortened
        _complaint(s, ch, 1, received_at=local(2026, 11, 2, 10), category=Category.FACILITY, valid=True,
                   department_id=dept["engineering"], assignee_id=handler.id, resolution_text=result,
                   rectification=True, resolved_at=local(2026, 11, 6, 15), status=S.REVISIT_DUE)  # fmt: skip
        # resolved in November without a rectification, and a rectification of October: not listed
        _complaint(s, ch, 2, received_at=local(2026, 11, 2, 10), category=Category.FACILITY, valid=True,
                   resolution_text="已解釋", resolved_at=local(2026, 11, 6, 15), status=S.CLOSED)  # fmt: skip
        _complaint(s, ch, 3, received_at=local(2026, 10, 2, 10), category=Category.FACILITY, valid=True,
                   rectification=True, resolved_at=local(2026, 10, 30, 15), status=S.CLOSED)  # fmt: skip
        # a complaint waiting for its revisit: recorded unsatisfied below, through the step table
        c4 = _complaint(s, ch, 4, received_at=local(2026, 11, 3, 10), category=Category.FACILITY, valid=True,
                        complainant_name="黃先生", contact_phone="13900000001", department_id=dept["engineering"],
                        assignee_id=handler.id, first_response_at=local(2026, 11, 3, 11),
                        resolution_due_at=local(2026, 11, 6, 10), resolved_at=local(2026, 11, 5, 10),
                        revisit_due_at=local(2026, 11, 12, 10), status=S.REVISIT_DUE)  # fmt: skip
        s.add(Revisit(estate_id=ch.id, complaint_id=c4.id, kind=RevisitKind.COMPLAINT, method=RevisitMethod.ON_SITE,
                      due_at=local(2026, 11, 12, 10)))  # fmt: skip
        order = WorkOrder(reference="WO-CH-1", estate_id=ch.id, kind=WorkOrderKind.REPAIR,
                          department_id=dept["engineering"], completed_at=local(2026, 11, 10, 10))  # fmt: skip
        s.add(order)
        s.flush()
        order_revisit = Revisit(estate_id=ch.id, work_order_id=order.id, kind=RevisitKind.SERVICE,
                                method=RevisitMethod.PHONE, sequence=2, due_at=local(2026, 11, 14, 10))  # fmt: skip
        s.add(order_revisit)

        def rv(estate: Estate, done: datetime, recorded: datetime, sat: Satisfaction = Satisfaction.SATISFIED) -> None:
            s.add(Revisit(estate_id=estate.id, kind=RevisitKind.SERVICE, method=RevisitMethod.PHONE, due_at=done,
                          done_at=done, recorded_at=recorded, satisfaction=sat))  # fmt: skip

        rv(ch, local(2026, 11, 20, 10), local(2026, 11, 21, 23, 59))  # the next day: on time
        rv(ch, local(2026, 11, 20, 10), local(2026, 11, 22, 0, 30))  # the day after: late
        rv(nb, local(2026, 11, 30, 23, 30), local(2026, 12, 1, 23, 59))  # the next day, in December: on time
        rv(nb, local(2026, 11, 30, 23, 30), local(2026, 12, 2, 0, 1), Satisfaction.UNSATISFIED)  # late
        rv(ch, local(2026, 10, 20, 10), local(2026, 10, 29, 10))  # October: not this month's
        s.flush()
        ids = {"order_revisit": order_revisit.id, "handler": handler.id}

    # the complaint's revisit, done on the 12th and recorded on the 16th (late): unsatisfied,
    # so it is reopened and reassigned (R-RV-11)
    recorded_at = local(2026, 11, 16, 10)
    revisit = RevisitIn(method=RevisitMethod.ON_SITE, satisfaction=Satisfaction.UNSATISFIED,
                        refusal_note="不願簽名", shortcomings="師傅遲到，天花仍有水漬",
                        next_reply_at=local(2026, 11, 25, 10), done_at=local(2026, 11, 12, 10))  # fmt: skip
    in_transaction(core.sessions, lambda s: apply_step(core, s, "revisit", "T-CH-4", revisit, None, recorded_at))
    cid = world.complaint("T-CH-4").id
    assert in_transaction(core.sessions, lambda s: lifecycle.after_revisit(core, s, cid, recorded_at)) == "reopened"
    # the work order's revisit, recorded on the day: unsatisfied, next revisit on the 21st
    order_record = RevisitRecordIn(method=RevisitMethod.PHONE, satisfaction=Satisfaction.UNSATISFIED,
                                   shortcomings="地漏仍然淤塞", next_reply_at=local(2026, 11, 21, 10),
                                   done_at=local(2026, 11, 14, 10))  # fmt: skip
    at = local(2026, 11, 14, 18)
    in_transaction(
        core.sessions, lambda s: apply_step(core, s, "order-revisit", ids["order_revisit"], order_record, None, at)
    )
    return ids


def test_corrective_actions_are_listed_from_rectifications_and_unsatisfied_revisits(world: World) -> None:
    core = world.core
    ids = _actions_data(world)
    with core.sessions() as s:
        report = monthly_report.build_report(core, s, 2026, 11, generated_at=NOW)
        handler = s.get(Staff, ids["handler"])
        assert handler is not None
        reassigned = world.complaint("T-CH-4")
        now_handling = s.get(Staff, reassigned.assignee_id)
        assert now_handling is not None
    actions = {a.reference: a for a in report.corrective_actions}
    assert set(actions) == {"T-CH-1", "T-CH-4", "WO-CH-1"}  # not T-CH-2, T-CH-3, nor NB's service revisit
    fix, reopened, order = actions["T-CH-1"], actions["T-CH-4"], actions["WO-CH-1"]
    assert (fix.kind, fix.estate, fix.category, fix.department) == ("rectification", "CH", "facility", "engineering")
    assert fix.at == local(2026, 11, 6, 15)
    assert fix.text.startswith("更換了整條漏水的供水管") and fix.text.endswith("…") and len(fix.text) == 60
    assert (reopened.kind, reopened.category, reopened.department) == ("unsatisfied_revisit", "facility", "engineering")
    assert reopened.at == local(2026, 11, 12, 10) and reopened.text == "師傅遲到，天花仍有水漬"
    assert reopened.status == "assigned" and reopened.assignee == now_handling.name
    assert reopened.next_revisit_at == local(2026, 11, 25, 10)
    assert (order.kind, order.category, order.department) == ("unsatisfied_revisit", "repair", "engineering")
    assert order.next_revisit_at == local(2026, 11, 21, 10) and order.status is None
    [ch] = [e for e in report.estates if e.code == "CH"]
    assert (ch.counts["corrective_actions"], ch.counts["actions_rectification"], ch.counts["actions_revisit"]) == (
        3,
        1,
        2,
    )
    assert report.company is not None and report.company.counts["corrective_actions"] == 3

    # every presentation lists them, in three languages
    tables = {
        loc: {t["title"]: t for t in monthly_report.email_context(report, report.company, loc)["tables"]}
        for loc in Locale
    }
    assert [r[:2] for r in tables[Locale.ZH_HANT]["整改措施（3）"]["rows"]] == [
        ["整改結果", "T-CH-1"],
        ["不滿意回訪", "T-CH-4"],
        ["不滿意回訪", "WO-CH-1"],
    ]
    assert tables[Locale.ZH_HANS]["整改措施（3）"]["rows"][1][0] == "不满意回访"
    en_rows = tables[Locale.EN]["Corrective actions (3)"]["rows"]
    assert en_rows[1][2:4] == ["Facility failure", "工程部"]
    assert en_rows[1][6] == f"being handled · {now_handling.name} · next revisit 2026-11-25"
    assert en_rows[2][6] == "next revisit 2026-11-21"
    html = render("monthly_summary", monthly_report.email_context(report, report.company, Locale.EN), "en",
                  "Asia/Shanghai").html  # fmt: skip
    assert "WO-CH-1" in html and "next revisit 2026-11-21" in html
    md = monthly_report.markdown(report)
    assert "## 整改措施：3" in md and "| 翠湖花園 | 不滿意回訪 | WO-CH-1 | 一般維修 |" in md
    assert "## Corrective actions: 3" in monthly_report.markdown(report, Locale.EN)
    sheet = load_workbook(io.BytesIO(monthly_report.workbook(report)))["整改措施"]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("翠湖花園", "整改結果", "T-CH-1"),
        ("翠湖花園", "不滿意回訪", "T-CH-4"),
        ("翠湖花園", "不滿意回訪", "WO-CH-1"),
    ]
    assert rows[1][8] == now_handling.name and rows[1][9] == "2026-11-25 10:00"


def test_late_revisit_records_are_counted_per_estate(world: World) -> None:
    core = world.core
    _actions_data(world)
    with core.sessions() as s:
        report = monthly_report.build_report(core, s, 2026, 11, generated_at=NOW)
    by_code = {e.code: e for e in report.scopes}
    # CH: the complaint's revisit (recorded 4 days after) and one of the 20th's; NB: the one recorded on the 2nd
    assert (by_code["CH"].counts["revisits_done"], by_code["CH"].counts["late_records"]) == (4, 2)
    assert by_code["CH"].rates["late_record_share"] == 0.5
    assert (by_code["NB"].counts["revisits_done"], by_code["NB"].counts["late_records"]) == (2, 1)
    assert (by_code["*"].counts["late_records"], by_code["*"].rates["late_record_share"]) == (3, 0.5)
    assert "| 南灣大廈 |" in monthly_report.markdown(report)
    [late_table] = [
        t
        for t in monthly_report.email_context(report, by_code["*"], Locale.EN)["tables"]
        if t["title"].startswith("Revisit records completed late")
    ]
    assert {r[0]: r[1:] for r in late_table["rows"]} == {"翠湖花園": [4, 2, 50.0], "南灣大廈": [2, 1, 50.0]}
    form = load_workbook(io.BytesIO(monthly_report.workbook(report)))["回訪用戶月統計表"]
    assert form.cell(row=2, column=16).value == "遲錄回訪記錄"
    rows = {r[0]: r for r in form.iter_rows(min_row=3, values_only=True)}
    assert rows["南灣大廈"][15:17] == (1, 50.0) and rows["全公司"][15:17] == (3, 50.0)
