"""Monthly draw (R-RV-6) and monthly summary (R-KP-1, R-KP-2) on real SQLite and PostgreSQL.

The summary's data set is small enough to count by hand: the expected figures in the
test are worked out from the rows created here, not computed by the code under test.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from sqlalchemy import create_engine, func, inspect, make_url, select

from estatecare.app import App
from estatecare.migrate import alembic_config, upgrade
from estatecare.services import monthly_report, sampling
from models import (
    Complaint,
    Department,
    Escalation,
    Estate,
    Notification,
    Revisit,
    SampleItem,
    SamplingDraw,
    Unit,
    WorkOrder,
)
from models.enums import (
    Category,
    Channel,
    ComplaintStatus,
    EscalationKind,
    Locale,
    RevisitKind,
    RevisitMethod,
    Role,
    Satisfaction,
    ServiceArea,
    WorkOrderKind,
)
from models.sampling import draw_cutoff, month_of_draw
from tests.lifecycle_support import World, make_world

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # 09:00 on 1 December in Shanghai


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH).astimezone(UTC)  # type: ignore[misc]


@pytest.fixture
def world(db_url: str, tmp_path: Path) -> World:
    return make_world(db_url, tmp_path)


def _estate(core: App, code: str = "CH") -> Estate:
    with core.sessions() as s:
        e = s.scalar(select(Estate).where(Estate.code == code))
        assert e is not None
        s.expunge(e)
        return e


def _orders(core: App, estate: Estate, times: list[datetime], kind: WorkOrderKind = WorkOrderKind.REPAIR) -> list[int]:
    with core.sessions() as s, s.begin():
        unit_id = s.scalar(select(Unit.id).where(Unit.estate_id == estate.id).limit(1))
        rows = [
            WorkOrder(
                reference=f"WO-{estate.code}-{kind.value[:3]}-{i}-{t:%m%d%H%M%S}",
                estate_id=estate.id,
                unit_id=unit_id,
                kind=kind,
                created_at=t,
                completed_at=t,
            )
            for i, t in enumerate(times)
        ]
        s.add_all(rows)
        s.flush()
        return [r.id for r in rows]


# ---------------------------------------------------------------------- the draw


def test_an_order_completed_on_the_31st_is_in_the_next_months_draw(world: World) -> None:
    core, estate = world.core, _estate(world.core)
    on_30th, on_31st, in_nov = _orders(
        core, estate, [local(2026, 10, 30, 17, 59), local(2026, 10, 31, 9, 0), local(2026, 11, 3, 9, 0)]
    )
    (oct_draw,) = sampling.draw_all(core, 2026, 10, local(2026, 10, 30, 18, 0), "CH")
    (nov_draw,) = sampling.draw_all(core, 2026, 11, local(2026, 11, 30, 18, 0), "CH")
    with core.sessions() as s:
        draw_of = dict(s.execute(select(WorkOrder.id, WorkOrder.draw_id)).all())
    assert draw_of[on_30th] == oct_draw.draw_id
    assert draw_of[on_31st] == nov_draw.draw_id
    assert draw_of[in_nov] == nov_draw.draw_id
    assert (oct_draw.population, nov_draw.population) == (1, 2)
    with pytest.raises(sampling.DrawOrderError, match=r"CH \(2026-11\)"):
        sampling.draw_all(core, 2026, 9, NOW, "CH")


def test_a_draw_runs_once_per_month_and_is_reproducible_from_its_seed(world: World) -> None:
    core, estate = world.core, _estate(world.core)
    times = [local(2026, 11, 1 + i % 28, 10, i % 60) for i in range(35)]
    _orders(core, estate, times[:30])
    _orders(core, estate, times[30:], WorkOrderKind.CLEANING)
    _orders(core, estate, [local(2026, 11, 5, 10)] * 3, WorkOrderKind.URGENT_REPAIR)  # not sampled (R-RV-4)

    (first,) = sampling.draw_all(core, 2026, 11, NOW, "CH")
    # 35 general orders: 30 % rounded up = 11, of which 6 on site (R-RV-6)
    assert (first.created, first.population, first.size, first.on_site) == (True, 35, 11, 6)
    assert [i.method for i in first.items].count(RevisitMethod.ON_SITE) == 6
    assert first.revisits_due_at == local(2026, 12, 5, 0, 0)
    # three urgent jobs get their own revisits outside the draw (R-RV-4), once
    with core.sessions() as s, s.begin():
        assert sampling.ensure_job_revisits(core, s, NOW) == 3
    with core.sessions() as s, s.begin():
        assert sampling.ensure_job_revisits(core, s, NOW) == 0

    (again,) = sampling.draw_all(core, 2026, 11, NOW + timedelta(hours=1), "CH")
    assert again.created is False
    assert (again.draw_id, again.seed) == (first.draw_id, first.seed)
    assert [(i.work_order_id, i.method) for i in again.items] == [(i.work_order_id, i.method) for i in first.items]

    with core.sessions() as s:
        assert sampling.reproduce(s, first.draw_id, core) is True
        assert s.scalar(select(func.count()).select_from(SamplingDraw)) == 1
        revisits = list(s.scalars(select(Revisit).where(Revisit.sample_item_id.is_not(None))))
        assert len(revisits) == 11
        assert {r.due_at for r in revisits} == {local(2026, 12, 5, 0, 0)}
        assert {r.kind for r in revisits} == {RevisitKind.SERVICE}
        # the list went to the service centre and its manager, once each
        mails = list(s.scalars(select(Notification).where(Notification.template == "sample_list")))
        assert sorted(m.recipient_email for m in mails) == [
            "manager-ch@estatecare.localhost",
            "service-ch@estatecare.localhost",
        ]
        assert len(mails[0].context["items"]) == 11
        assert "complainant_name" not in mails[0].context


def test_a_small_population_is_sampled_whole(world: World) -> None:
    core, estate = world.core, _estate(world.core)
    _orders(core, estate, [local(2026, 11, 2, 9), local(2026, 11, 9, 9), local(2026, 11, 16, 9)])
    (result,) = sampling.draw_all(core, 2026, 11, NOW, "CH", email=False)
    assert (result.population, result.size, result.on_site) == (3, 3, 2)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    orders=st.lists(
        st.tuples(st.integers(min_value=1, max_value=int(timedelta(days=89).total_seconds())), st.integers(0, 2)),
        max_size=40,
    )
)
def test_random_completion_times_put_every_order_in_exactly_one_draw(
    world: World, orders: list[tuple[int, int]]
) -> None:
    """Orders complete at random times; some are registered only one or two draws late."""
    core, policy = world.core, world.core.policy
    with core.sessions() as s, s.begin():
        estate = Estate(code=f"H{s.scalar(select(func.count()).select_from(Estate))}", name="假設花園")
        s.add(estate)
        s.flush()
        s.expunge(estate)
    start = local(2026, 12, 30, 18, 0)  # the first draw (January) starts after December's cutoff
    months = [(2027, 1), (2027, 2), (2027, 3), (2027, 4), (2027, 5)]
    due = [
        (
            start + timedelta(seconds=off),
            months.index(month_of_draw(start + timedelta(seconds=off), policy.sampling, SH)),
            late,
        )
        for off, late in orders
    ]
    on_time: dict[int, int] = {}
    for index, (y, m) in enumerate(months):
        now = draw_cutoff(y, m, policy.sampling, SH) + timedelta(hours=1)
        batch = [(t, first) for t, first, late in due if first + late == index]
        ids = _orders(core, estate, [t for t, _ in batch]) if batch else []
        on_time.update({wid: index for wid, (_, first) in zip(ids, batch, strict=True) if first == index})
        sampling.draw_all(core, y, m, now, estate.code, email=False)
    with core.sessions() as s:
        rows = s.execute(select(WorkOrder.id, WorkOrder.draw_id).where(WorkOrder.estate_id == estate.id)).all()
        draw_month = dict(s.execute(select(SamplingDraw.id, SamplingDraw.month)).all())
        in_items = s.scalars(
            select(SampleItem.work_order_id).join(SamplingDraw).where(SamplingDraw.estate_id == estate.id)
        ).all()
        populations = s.scalar(
            select(func.coalesce(func.sum(SamplingDraw.population_count), 0)).where(SamplingDraw.estate_id == estate.id)
        )
    assert len(rows) == len(orders)
    assert all(draw_id is not None for _, draw_id in rows)  # in a draw
    assert populations == len(rows)  # and in one only: the draws' populations add up to the orders
    assert len(in_items) == len(set(in_items))
    for wid, draw_id in rows:  # registered in time: the draw of its completion month (R-RV-6)
        if wid in on_time:
            assert draw_month[draw_id] == "{:04d}-{:02d}".format(*months[on_time[wid]])


def test_the_population_index_holds_only_the_orders_in_no_draw_yet(db_url: str) -> None:
    """Migration 0007: the partial index of undrawn orders (R-RV-6), and back down to 0005."""

    def indexes() -> dict[str, dict[str, Any]]:
        engine = create_engine(db_url)
        try:
            return {str(i["name"]): dict(i) for i in inspect(engine).get_indexes("work_order")}
        finally:
            engine.dispose()

    dialect = make_url(db_url).get_backend_name()
    undrawn = indexes()["ix_work_order_undrawn"]
    assert undrawn["column_names"] == ["estate_id", "kind", "completed_at"]
    assert "draw_id is null" in str(undrawn["dialect_options"][f"{dialect}_where"]).lower()
    assert "ix_work_order_population" not in indexes()
    command.downgrade(alembic_config(db_url), "0005")
    try:
        assert "ix_work_order_undrawn" not in indexes()
        assert indexes()["ix_work_order_population"]["column_names"] == ["estate_id", "draw_id", "kind", "completed_at"]
    finally:
        upgrade(db_url)
    assert "ix_work_order_undrawn" in indexes()


# ---------------------------------------------------------------------- the summary


def _complaint(s: object, estate: Estate, n: int, **kw: object) -> Complaint:
    from sqlalchemy.orm import Session

    assert isinstance(s, Session)
    c = Complaint(
        reference=f"T-{estate.code}-{n}", estate_id=estate.id, channel=Channel.PHONE, content=f"complaint {n}", **kw
    )
    s.add(c)
    s.flush()
    return c


def _hand_data(core: App) -> None:
    """November 2026 in Asia/Shanghai; the comment on each row says how it counts."""
    with core.sessions() as s, s.begin():
        ch = s.scalar(select(Estate).where(Estate.code == "CH"))
        assert ch is not None
        nb = Estate(code="NB", name="南灣大廈", households=100)
        s.add(nb)
        s.flush()
        dept = {d.code: d.id for d in s.scalars(select(Department).where(Department.estate_id == ch.id))}
        st_, fac, env, svc = ComplaintStatus, Category.FACILITY, Category.ENVIRONMENT, Category.SERVICE
        # c1: valid, answered and resolved on time, closed in the month
        c1 = _complaint(
            s, ch, 1, received_at=local(2026, 11, 3, 10), category=fac, service_area=ServiceArea.REPAIRS,
            department_id=dept["engineering"], valid=True, response_due_at=local(2026, 11, 4, 10),
            first_response_at=local(2026, 11, 3, 11), resolution_due_at=local(2026, 11, 6, 10),
            resolved_at=local(2026, 11, 5, 10), status=st_.CLOSED, closed_at=local(2026, 11, 10, 10),
        )  # fmt: skip
        # c2: valid, answered late, not resolved: open and overdue at month end
        c2 = _complaint(
            s, ch, 2, received_at=local(2026, 11, 5, 10), category=fac, service_area=ServiceArea.REPAIRS,
            department_id=dept["engineering"], valid=True, response_due_at=local(2026, 11, 6, 10),
            first_response_at=local(2026, 11, 7, 10), resolution_due_at=local(2026, 11, 8, 10), status=st_.ASSIGNED,
        )  # fmt: skip
        # c3: invalid, answered on time
        _complaint(
            s, ch, 3, received_at=local(2026, 11, 10, 10), category=env, service_area=ServiceArea.CLEANING,
            department_id=dept["cleaning"], valid=False, response_due_at=local(2026, 11, 11, 10),
            first_response_at=local(2026, 11, 10, 12), status=st_.INVALID,
        )  # fmt: skip
        # c4: not assessed yet, response due after the month: open, not overdue, not answered (late)
        _complaint(
            s, ch, 4, received_at=local(2026, 11, 12, 10), category=svc, service_area=ServiceArea.HOUSING,
            department_id=dept["customer_service"], response_due_at=local(2026, 12, 20, 10), status=st_.RECEIVED,
        )  # fmt: skip
        # c5: a repeat of c2 (R-IN-5), answered on time, open, not overdue
        _complaint(
            s, ch, 5, received_at=local(2026, 11, 20, 10), category=fac, service_area=ServiceArea.REPAIRS,
            department_id=dept["engineering"], valid=True, response_due_at=local(2026, 11, 21, 10),
            first_response_at=local(2026, 11, 20, 11), duplicate_of_id=c2.id, status=st_.ASSESSED,
        )  # fmt: skip
        # c6: October, still open, resolution overdue -> open and overdue, not a November complaint
        c6 = _complaint(
            s, ch, 6, received_at=local(2026, 10, 20, 10), category=fac, valid=True,
            response_due_at=local(2026, 10, 21, 10), first_response_at=local(2026, 10, 20, 11),
            resolution_due_at=local(2026, 10, 25, 10), status=st_.ASSIGNED,
        )  # fmt: skip
        # c7: December: nowhere in November's report
        _complaint(s, ch, 7, received_at=local(2026, 12, 2, 10), category=fac, valid=True, status=st_.ASSIGNED)
        # c8: October, closed on 5 November: not open at month end
        _complaint(
            s, ch, 8, received_at=local(2026, 10, 1, 10), category=fac, valid=True, status=st_.CLOSED,
            closed_at=local(2026, 11, 5, 10),
        )  # fmt: skip
        # c9: October, closed only in December, revisit overdue since October: open and overdue
        _complaint(
            s, ch, 9, received_at=local(2026, 10, 2, 10), category=fac, valid=True, status=st_.CLOSED,
            resolved_at=local(2026, 10, 5, 10), resolution_due_at=local(2026, 10, 4, 10),
            revisit_due_at=local(2026, 10, 7, 10), closed_at=local(2026, 12, 3, 10),
        )  # fmt: skip
        # NB: one valid safety complaint, answered on time, no department
        _complaint(
            s, nb, 1, received_at=local(2026, 11, 15, 10), category=Category.SAFETY,
            service_area=ServiceArea.SECURITY, valid=True, response_due_at=local(2026, 11, 16, 10),
            first_response_at=local(2026, 11, 15, 11), status=st_.ASSESSED,
        )  # fmt: skip

        m_, k_ = RevisitMethod, RevisitKind
        png = b"\x89PNG\r\n\x1a\n-signature"

        def rv(kind: RevisitKind, method: RevisitMethod, due: datetime, done: datetime | None, **kw: object) -> None:
            s.add(Revisit(estate_id=ch.id, kind=kind, method=method, due_at=due, done_at=done, **kw))

        rv(k_.COMPLAINT, m_.ON_SITE, local(2026, 11, 8), local(2026, 11, 8, 10),
           complaint_id=c1.id, signature_png=png, satisfaction=Satisfaction.SATISFIED,
           reviewed_at=local(2026, 11, 9, 10))  # fmt: skip
        rv(k_.COMPLAINT, m_.ON_SITE, local(2026, 11, 25), None, complaint_id=c2.id)  # due, not done
        rv(k_.SERVICE, m_.PHONE, local(2026, 11, 15), local(2026, 11, 14, 10), satisfaction=Satisfaction.SATISFIED,
           reviewed_at=local(2026, 12, 1, 10))  # fmt: skip
        rv(k_.SERVICE, m_.PHONE, local(2026, 11, 17), local(2026, 11, 16, 10), satisfaction=Satisfaction.UNSATISFIED)
        rv(k_.SERVICE, m_.ON_SITE, local(2026, 11, 19), local(2026, 11, 18, 10),
           refusal_note="不願簽名", satisfaction=Satisfaction.BASICALLY_SATISFIED)  # fmt: skip
        # March, by letter: year to date only
        rv(k_.COMPLAINT, m_.LETTER, local(2026, 3, 5), local(2026, 3, 5, 10), satisfaction=Satisfaction.SATISFIED)
        # survey due on the 30th, done on 1 December: handled, but not a November revisit
        rv(k_.SURVEY, m_.PHONE, local(2026, 11, 30, 10), local(2026, 12, 1, 10))
        # last year: nowhere
        rv(k_.COMPLAINT, m_.PHONE, local(2025, 12, 20), local(2025, 12, 20, 10))

        s.add(Escalation(complaint_id=c2.id, kind=EscalationKind.DEADLINE_MISSED, level=1,
                         to_role=Role.SERVICE_CENTRE_MANAGER, raised_at=local(2026, 11, 7, 10)))  # fmt: skip
        s.add(Escalation(complaint_id=c6.id, kind=EscalationKind.DEADLINE_MISSED, level=1,
                         to_role=Role.SERVICE_CENTRE_MANAGER, raised_at=local(2026, 10, 26, 10)))  # fmt: skip


def test_every_kpi_matches_the_hand_count(world: World) -> None:
    core = world.core
    _hand_data(core)
    with core.sessions() as s:
        report = monthly_report.build_report(core, s, 2026, 11, generated_at=NOW)
    ch = next(e for e in report.estates if e.code == "CH")
    nb = next(e for e in report.estates if e.code == "NB")
    c = ch.counts
    assert (c["complaints"], c["valid"], c["invalid"], c["unassessed"], c["repeat"]) == (5, 3, 1, 1, 1)
    assert (c["response_due"], c["response_on_time"]) == (5, 3)  # c1, c3, c5 on time; c2 late; c4 unanswered
    assert (c["resolution_due"], c["resolution_on_time"]) == (2, 1)  # c1 on time, c2 not resolved
    assert ch.rates["response_on_time"] == pytest.approx(3 / 5)
    assert ch.rates["resolution_on_time"] == pytest.approx(1 / 2)
    assert (c["open"], c["overdue"]) == (5, 3)  # open c2 c4 c5 c6 c9; overdue c2 c6 c9
    assert c["escalations"] == 1 and ch.escalations_by_kind == {"deadline_missed": 1}
    assert {b.key: (b.count, b.valid) for b in ch.by_category} == {
        "facility": (3, 3),
        "environment": (1, 0),
        "service": (1, 0),
    }
    assert {b.key: (b.count, b.valid) for b in ch.by_service_area} == {
        "repairs": (3, 3),
        "cleaning": (1, 0),
        "housing": (1, 0),
    }
    assert {b.key: b.count for b in ch.by_department} == {"engineering": 3, "cleaning": 1, "customer_service": 1}
    assert {b.key: b.label for b in ch.by_department}["engineering"] == "工程部"
    # revisits done in November: r1 (on site, signed), r3 + r4 (phone), r5 (on site, refused to sign)
    assert (c["revisits_done"], c["on_site_signed"], c["phone_letter"]) == (4, 1, 2)
    assert (c["revisits_done_ytd"], c["on_site_signed_ytd"], c["phone_letter_ytd"]) == (5, 1, 3)
    assert c["revisits_reviewed"] == 1  # r1 reviewed in November; r3 only on 1 December (R-RV-9)
    [revisit_table] = [
        t
        for t in monthly_report.email_context(report, ch, Locale.EN)["tables"]
        if t["rows"][0][0] == "Revisits this month"
    ]
    assert revisit_table["rows"][:2] == [["Revisits this month", 4], ["of which reviewed by a supervisor", 1]]
    assert (c["on_site_done"], c["phone_done"], c["letter_done"]) == (2, 2, 0)
    assert (c["satisfied_full"], c["basically_satisfied"], c["unsatisfied"]) == (2, 1, 1)
    assert ch.rates["satisfaction"] == pytest.approx(3 / 4)

    kpi = {k.id: k for k in ch.kpis}
    expected = {
        # id: (numerator, denominator, met) against the default targets
        "revisit_handling_rate": (2, 3, False),  # r1 and the survey done, r2 not; target 100 %
        "repair_satisfaction": (2, 3, False),  # r3 satisfied, r5 basically, r4 not; target 98 %
        "on_site_signed_share": (1, 4, False),  # target >= 40 %
        "on_site_signed_share_ytd": (1, 5, False),
        "phone_letter_share": (2, 4, True),  # target <= 70 %
        "phone_letter_share_ytd": (3, 5, True),
    }
    assert {k: (v.numerator, v.denominator, v.met) for k, v in kpi.items()} == expected
    assert kpi["repair_satisfaction"].value == pytest.approx(2 / 3)
    assert (ch.targets_met, ch.targets_missed) == (2, 4)

    assert (nb.counts["complaints"], nb.counts["valid"], nb.counts["open"]) == (1, 1, 1)
    assert {k.id: k.met for k in nb.kpis} == {k: None for k in expected}  # no revisits: no data
    assert {b.key for b in nb.by_department} == {"none"}

    assert report.company is not None
    co = report.company.counts
    assert (co["complaints"], co["valid"], co["open"], co["overdue"], co["revisits_done"]) == (6, 4, 6, 3, 4)
    assert report.company.rates["response_on_time"] == pytest.approx(4 / 6)

    with core.sessions() as s:
        only = monthly_report.build_report(core, s, 2026, 11, estate_code="NB", generated_at=NOW)
    assert only.company is None and [e.code for e in only.estates] == ["NB"]
    assert only.estates[0].counts == nb.counts


def test_the_summary_is_emailed_once_with_the_spreadsheet_unless_forced(world: World) -> None:
    core = world.core
    _hand_data(core)
    with core.sessions() as s, s.begin():
        report = monthly_report.build_report(core, s, 2026, 11, generated_at=NOW)
        first = monthly_report.queue_summary(core, s, report, now=NOW)
    with core.sessions() as s, s.begin():
        again = monthly_report.queue_summary(core, s, report, now=NOW)
    assert len(first) == 2 and again == []  # deputy GM and GM, once
    with core.sessions() as s, s.begin():
        forced = monthly_report.queue_summary(core, s, report, force=True, now=NOW)
    assert len(forced) == 2
    mails = world.mails("monthly_summary")
    assert len(mails) == 4
    by_locale = {m.locale.value: m for m in mails[:2]}
    assert set(by_locale) == {"zh-Hans", "en"}
    en = by_locale["en"].context
    assert en["kpis"][0]["label"] == "Revisit handling rate" and en["kpis"][0]["met"] is False
    assert by_locale["zh-Hans"].context["kpis"][1]["label"] == "维修满意率"
    with core.sessions() as s:
        row = s.get(Notification, first[0])
        assert row is not None
        (att,) = row.attachments
        assert att.filename == "monthly-revisit-statistics-2026-11.xlsx"
        wb = load_workbook(io.BytesIO(att.data))
    form = wb["回訪用戶月統計表"]
    rows = {r[0]: r for r in form.iter_rows(min_row=3, values_only=True)}
    # estate, revisits, on site, signed, phone, letter, satisfied, basically, unsatisfied, satisfaction %, ...
    assert rows["翠湖花園"][:10] == ("翠湖花園", 4, 2, 1, 2, 0, 2, 1, 1, 75.0)
    assert rows["全公司"][1] == 4
    results = [r[4] for r in wb["目標達成"].iter_rows(min_row=2, values_only=True) if r[0] == "翠湖花園"]
    assert results.count("未達標") == 4 and results.count("達標") == 2

    from notifications.render import render

    html = render("monthly_summary", en, "en", "Asia/Shanghai").html
    assert "Revisit handling rate" in html and "MISSED" in html
    assert "| 翠湖花園 | 維修滿意率 | 66.7% | >= 98.0% | ✘ **未達標** |" in monthly_report.markdown(report)
    md = monthly_report.markdown(report, Locale.EN)
    assert "| 翠湖花園 | Repair satisfaction | 66.7% | >= 98.0% | ✘ **MISSED** |" in md
