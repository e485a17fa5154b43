"""The demo world: three estates with a year of history that the services themselves would have
recorded (every complaint's history replays through the state machine, and the deadline sweep,
the intake sweep and the reminders find nothing left to do at ``now``)."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import pairwise
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from estatecare.app import App
from estatecare.cli import app as cli
from estatecare.demo import seed_demo
from estatecare.demo.history import seed_demo_world
from estatecare.reads.register import RegisterFilter, register_rows
from estatecare.services import lifecycle, sampling
from estatecare.services.monthly_report import build_report
from estatecare.services.people import Actor
from estatecare.settings import Settings
from models import (
    Base,
    Building,
    Complaint,
    ComplaintEvent,
    Department,
    Escalation,
    Estate,
    Notification,
    Resident,
    Revisit,
    SamplingDraw,
    Staff,
    Unit,
    WorkOrder,
)
from models.enums import Channel, ComplaintStatus, NotificationStatus, RevisitMethod, Role, WorkOrderKind
from models.lifecycle import TRANSITIONS, Action
from models.sampling import month_bounds
from tests.lifecycle_support import World

NOW = datetime(2026, 11, 18, 3, 0, tzinfo=UTC)  # a Wednesday, 11:00 in Asia/Shanghai
LAST_MONTH = (2026, 10)
CODES = ["CH", "HB", "SZ"]
#: The complaint states a complaint rests in. Invalid and reopened are passed through within one
#: step (an invalid one is closed with its explanation, R-AS-2; a reopened one is reassigned at
#: once, R-RV-11), so they show in the history only.
RESTING = set(ComplaintStatus) - {ComplaintStatus.INVALID, ComplaintStatus.REOPENED}


@dataclass
class Seeded:
    core: App


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def seeded(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    """The world seeded once into an empty database, shared by the module's read-only tests."""
    var = tmp_path_factory.mktemp("demo-world")
    if request.param == "sqlite":
        shutil.copy(request.getfixturevalue("sqlite_template"), var / "estatecare.db")
        url = f"sqlite:///{var / 'estatecare.db'}"
    else:
        url = request.getfixturevalue("pg_url")
        engine = create_engine(url)
        with engine.begin() as conn:
            names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        engine.dispose()
    core = App.from_settings(Settings(database_url=url, var_dir=var, base_url="http://estatecare.test"))
    with core.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Estate)) == 0
    with core.transaction() as s:
        seed_demo_world(s, core, NOW)
    yield Seeded(core)
    core.engine.dispose()


def test_the_world_is_three_estates_with_their_own_staff_and_the_leaders_once(seeded: Seeded) -> None:
    with seeded.core.sessions() as s:
        estates = {code: name for code, name in s.execute(select(Estate.code, Estate.name))}
        assert estates == {"CH": "翠湖花園", "HB": "海濱豪庭", "SZ": "锦绣家园"}
        leaders = s.scalars(select(Staff.role).where(Staff.estate_id.is_(None))).all()
        assert sorted(leaders) == sorted([Role.DEPUTY_GM, Role.GM])
        for code in CODES:
            roles = set(
                s.scalars(select(Staff.role).join(Estate, Estate.id == Staff.estate_id).where(Estate.code == code))
            )
            assert roles == set(Role) - {Role.DEPUTY_GM, Role.GM}, code


def test_complaints_rest_in_every_state_and_passed_through_the_others(seeded: Seeded) -> None:
    with seeded.core.sessions() as s:
        for code in CODES:
            states = set(
                s.scalars(
                    select(Complaint.status).join(Estate, Estate.id == Complaint.estate_id).where(Estate.code == code)
                )
            )
            assert states == RESTING, code
        passed = set(s.scalars(select(ComplaintEvent.to_status).distinct()))
        assert passed == set(ComplaintStatus)
        actions = set(s.scalars(select(ComplaintEvent.action).distinct()))
        assert actions == set(Action) - {Action.UNLINK_DUPLICATE}  # unlinking is a person undoing a wrong link
        channels = {c.value for c in s.scalars(select(Complaint.channel).distinct())}
        assert channels == {"phone", "email", "front_desk", "online", "letter", "superior_body", "patrol", "revisit"}
        kinds = {k.value for k in s.scalars(select(Escalation.kind).distinct())}
        assert kinds == {"transfer_sheet", "major", "deadline_missed", "written"}
        levels = set(s.scalars(select(Complaint.escalation_level).where(Complaint.status == ComplaintStatus.ASSIGNED)))
        assert {0, 1, 3, 4} <= levels  # handled, sent up by a transfer sheet, major, up the whole chain


def test_every_complaint_is_one_the_services_could_have_recorded(seeded: Seeded) -> None:
    s_ = ComplaintStatus
    with seeded.core.sessions() as s:
        complaints = s.scalars(select(Complaint)).all()
        assert len(complaints) > 600
        departments = {i: estate for i, estate in s.execute(select(Department.id, Department.estate_id))}
        staff_estate = {i: estate for i, estate in s.execute(select(Staff.id, Staff.estate_id))}
        for c in complaints:
            events = c.events
            assert [e.seq for e in events] == list(range(1, len(events) + 1)), c.reference
            assert events[0].action is Action.RECEIVE and events[0].at == c.received_at, c.reference
            state = s_.RECEIVED
            for e in events[1:]:
                assert e.from_status is state and TRANSITIONS[(state, e.action)] is e.to_status, (c.reference, e.seq)
                state = e.to_status
            assert state is c.status, c.reference
            assert all(a.at <= b.at <= NOW for a, b in pairwise(events)), c.reference
            assert c.version > 1 and c.intake_done, c.reference
            if c.status is s_.CLOSED:
                assert c.closed_at == events[-1].at, c.reference
                if c.needs_revisit and c.duplicate_of_id is None:
                    assert c.satisfaction is not None and c.resolved_at is not None, c.reference
            if c.status in (s_.ASSIGNED, s_.RESOLVED, s_.REVISIT_DUE):
                assert c.assignee_id is not None and c.department_id is not None, c.reference
                assert departments[c.department_id] == c.estate_id, c.reference
                assert staff_estate[c.assignee_id] in (None, c.estate_id), c.reference
                assert c.first_response_at is not None and c.resolution_due_at is not None, c.reference
            if c.status is s_.ASSESSED:
                assert c.duplicate_of_id is not None, c.reference  # only a linked repeat waits here
            if c.channel.value in ("letter", "superior_body"):
                assert c.incoming_doc_number.startswith(c.reference[:3] + "收文-"), c.reference
            if c.status is s_.REVISIT_DUE:
                assert s.scalar(select(Revisit.id).where(Revisit.complaint_id == c.id, Revisit.done_at.is_(None)))


def test_at_now_the_sweeps_and_the_reminders_find_nothing_left_undone(seeded: Seeded) -> None:
    core = seeded.core
    with core.sessions() as s:
        assert lifecycle.sweep_deadlines(core, s, NOW) == []
        assert lifecycle.pending_follow_ups(s) == {"assign": [], "after-revisit": []}
        assert lifecycle.pending_intake(s, NOW, now=NOW) == []
        assert lifecycle.send_reminders(core, s, NOW) == lifecycle.Reminded([], [])
        s.rollback()
        unsent = s.scalar(select(func.count(Notification.id)).where(Notification.status != NotificationStatus.SENT))
        assert unsent == 0  # nothing waits in the outbox: starting up sends no old mail


def test_work_orders_every_month_and_each_months_draw_as_the_flow_recorded_it(seeded: Seeded) -> None:
    core = seeded.core
    tz = core.policy.tz
    with core.sessions() as s:
        for months_back in range(1, 13):
            year, month = LAST_MONTH[0], LAST_MONTH[1] - months_back + 1
            if month < 1:
                year, month = year - 1, month + 12
            start, end = month_bounds(year, month, tz)
            for code in CODES:
                done = s.scalar(
                    select(func.count(WorkOrder.id))
                    .join(Estate, Estate.id == WorkOrder.estate_id)
                    .where(Estate.code == code, WorkOrder.completed_at >= start, WorkOrder.completed_at < end)
                )
                assert done and done >= 15, (code, year, month)
        draws = s.scalars(select(SamplingDraw)).all()
        assert len(draws) == 12 * 3
        assert all(sampling.reproduce(s, d.id, core) for d in draws)
        estates = sampling.estates(s)
        results = sampling.draw(core, s, estates, *LAST_MONTH, NOW)
        assert [r.created for r in results] == [False, False, False]  # drawn on the 30th, not now
        assert all(r.population > 0 and len(r.items) == r.size > 0 for r in results)
        methods = set(
            s.scalars(select(Revisit.method).where(Revisit.work_order_id.is_not(None), Revisit.done_at.is_not(None)))
        )
        assert methods == set(RevisitMethod)  # on site, by phone, by open letter
        signed = s.scalar(select(func.count(Revisit.id)).where(Revisit.signature_png.is_not(None)))
        assert signed and signed > 100


def test_last_months_report_has_figures_for_each_estate(seeded: Seeded) -> None:
    core = seeded.core
    with core.sessions() as s:
        report = build_report(core, s, *LAST_MONTH, generated_at=NOW)
        sent = s.scalars(select(Notification.template).where(Notification.template == "monthly_summary")).all()
    assert [e.code for e in report.estates] == CODES
    for scope in report.estates:
        counts = scope.counts
        assert counts["complaints"] > 5 and counts["valid"] > 0, scope.code
        assert counts["revisits_done"] > 10 and counts["on_site_signed"] > 0 and counts["phone_letter"] > 0, scope.code
        assert counts["revisits_due"] > 0 and counts["corrective_actions"] > 0, scope.code
        assert sum(b.count for b in scope.by_category) == counts["complaints"], scope.code
        assert all(k.value is not None for k in scope.kpis), scope.code
    assert len(sent) == 2  # last month's summary went to the deputy GM and the GM


def test_the_register_shows_a_manager_the_complaints_of_their_estate(seeded: Seeded) -> None:
    with seeded.core.sessions() as s:
        manager = s.scalar(select(Staff).where(Staff.email == "manager-hb@estatecare.localhost"))
        assert manager is not None
        rows = register_rows(s, Actor.of(manager), RegisterFilter(), NOW, limit=50)
        overdue = register_rows(s, Actor.of(manager), RegisterFilter(overdue=True), NOW)
    assert len(rows) == 50 and {r.estate for r in rows} == {"HB"}
    assert rows[0].received_at >= rows[-1].received_at
    assert overdue and all(r.overdue for r in overdue)


def test_the_same_moment_gives_the_same_history(seeded: Seeded, sqlite_template: Path, tmp_path: Path) -> None:
    shutil.copy(sqlite_template, tmp_path / "again.db")
    again = App.from_settings(
        Settings(database_url=f"sqlite:///{tmp_path / 'again.db'}", var_dir=tmp_path, base_url="http://estatecare.test")
    )
    with again.transaction() as s:
        seed_demo_world(s, again, NOW)
    assert _digest(again) == _digest(seeded.core)
    again.engine.dispose()


def _digest(core: App) -> str:
    with core.sessions() as s:
        rows: list[object] = list(
            s.execute(select(Complaint.reference, Complaint.status, Complaint.version).order_by(Complaint.id))
        )
        rows += list(
            s.execute(select(ComplaintEvent.seq, ComplaintEvent.action, ComplaintEvent.at).order_by(ComplaintEvent.id))
        )
        rows += list(s.execute(select(WorkOrder.reference, WorkOrder.completed_at).order_by(WorkOrder.id)))
        rows += list(s.execute(select(Revisit.done_at, Revisit.satisfaction).order_by(Revisit.id)))
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def test_new_rows_get_new_ids_after_the_seed(seeded: Seeded) -> None:
    """The seed gives ids itself: the database's own (PostgreSQL's sequences) must follow on."""
    with seeded.core.sessions() as s:
        estate = s.scalar(select(Estate).where(Estate.code == "CH"))
        assert estate is not None
        before = s.scalar(select(func.max(Complaint.id)))
        c = Complaint(reference="CH-TEST-1", estate_id=estate.id, channel=Channel.PHONE, content="大堂燈壞了")
        s.add_all([c, WorkOrder(reference="WO-TEST-1", estate_id=estate.id, kind=WorkOrderKind.REPAIR)])
        s.flush()
        assert before is not None and c.id > before
        s.rollback()


def test_the_single_estate_seed_is_unchanged(db_url: str, tmp_path: Path) -> None:
    core = App.from_settings(Settings(database_url=db_url, var_dir=tmp_path, base_url="http://estatecare.test"))
    with core.transaction() as s:
        staff = seed_demo(s, core.policy, "CH")
    with core.sessions() as s:
        counts = {model.__name__: _count(s, model) for model in (Estate, Building, Unit, Department, Staff, Resident)}
        estate = s.scalars(select(Estate)).one()
        names = {email: name for email, name in s.execute(select(Staff.email, Staff.name))}
        complaints = _count(s, Complaint)
    assert counts == {"Estate": 1, "Building": 3, "Unit": 30, "Department": 6, "Staff": 19, "Resident": 30}
    assert (estate.name, estate.address, estate.households) == ("翠湖花園", "翠湖路 1 號", 360)
    assert len(staff) == 19 and complaints == 0
    assert names["manager-ch@estatecare.localhost"] == "王麗華" and names["gm@estatecare.localhost"] == "Grace Wong"
    core.engine.dispose()


def _count(s: Session, model: type[Base]) -> int:
    return s.scalar(select(func.count()).select_from(model)) or 0


def test_the_cli_refuses_to_seed_the_world_over_an_estate_or_under_another_code(world: World, db_url: str) -> None:
    env = {"ESTATECARE_DATABASE_URL": db_url, "ESTATECARE_VAR_DIR": str(world.core.settings.var_dir)}
    taken = CliRunner().invoke(cli, ["seed-demo", "--history"], env=env)
    assert taken.exit_code == 2 and "estate CH already there" in taken.output
    other = CliRunner().invoke(cli, ["seed-demo", "--history", "--code", "XY"], env=env)
    assert other.exit_code == 2 and "leave --code out" in other.output
    naive = CliRunner().invoke(cli, ["seed-demo", "--history", "--now", "2026-11-18T11:00"], env=env)
    assert naive.exit_code == 2 and "offset" in naive.output
