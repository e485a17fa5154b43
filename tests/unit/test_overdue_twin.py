"""The SQL conditions that find overdue complaints (the register's, the deadline sweep's) and
``Complaint.is_overdue`` agree on every complaint; so do the chain sweep's and its pure twin."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from estatecare.reads.complaints import overdue_clause
from estatecare.services.lifecycle.deadlines import DEADLINE_CHECKS, level_clause, superior_overdue
from models import Base, Complaint, Estate
from models.enums import Channel, ComplaintStatus
from models.lifecycle import DECIDABLE_STATES

NOW = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
#: A deadline in the past, exactly now (not passed yet), in the future, or none.
DEADLINES = (NOW - timedelta(hours=1), NOW, NOW + timedelta(hours=1), None)
#: The deadline column each state is held to.
HELD_TO = {
    ComplaintStatus.RECEIVED: "response_due_at",
    ComplaintStatus.ASSESSED: "response_due_at",
    ComplaintStatus.ASSIGNED: "resolution_due_at",
    ComplaintStatus.REOPENED: "resolution_due_at",
    ComplaintStatus.REVISIT_DUE: "revisit_due_at",
}


@pytest.fixture
def session() -> Iterator[Session]:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        yield s
    engine.dispose()


def _world(session: Session) -> list[Complaint]:
    """A complaint for every status, first response given or not, and every mix of deadlines."""
    estate = Estate(code="CH", name="Test estate")
    session.add(estate)
    session.flush()
    combos = itertools.product(ComplaintStatus, (None, NOW - timedelta(days=1)), DEADLINES, DEADLINES, DEADLINES)
    complaints = [
        Complaint(
            reference=f"CH-{n:05d}",
            estate_id=estate.id,
            channel=Channel.PHONE,
            content="電梯壞了",
            status=status,
            first_response_at=answered,
            response_due_at=response,
            resolution_due_at=resolution,
            revisit_due_at=revisit,
        )
        for n, (status, answered, response, resolution, revisit) in enumerate(combos)
    ]
    session.add_all(complaints)
    session.commit()
    return complaints


def test_the_sql_overdue_clause_selects_exactly_the_overdue_complaints(session: Session) -> None:
    complaints = _world(session)
    overdue = {c.id for c in complaints if c.is_overdue(NOW)}
    assert set(session.scalars(select(Complaint.id).where(overdue_clause(NOW)))) == overdue
    assert set(session.scalars(select(Complaint.id).where(~overdue_clause(NOW)))) == {
        c.id for c in complaints if c.id not in overdue
    }
    # every status with a deadline of its own is represented among the overdue, resolved never is
    statuses = {ComplaintStatus(c.status) for c in complaints if c.id in overdue}
    s = ComplaintStatus
    assert statuses == {s.RECEIVED, s.ASSESSED, s.ASSIGNED, s.REOPENED, s.REVISIT_DUE}


def test_the_deadline_sweep_escalates_exactly_the_overdue_complaints_by_their_current_deadline(
    session: Session,
) -> None:
    """R-HD-3: the sweep's conditions (``DEADLINE_CHECKS``) pick a complaint once, by the deadline
    ``Complaint.current_deadline`` names, exactly when ``Complaint.is_overdue`` holds; a resolved
    complaint is not escalated."""
    complaints = _world(session)
    swept: dict[int, list[str]] = {c.id: [] for c in complaints}
    for check in DEADLINE_CHECKS:
        query = select(Complaint.id).where(check.runs(), check.due.is_not(None), check.due < NOW)
        for cid in session.scalars(query):
            swept[cid].append(check.due.key)
    for c in complaints:
        expected = [HELD_TO[ComplaintStatus(c.status)]] if c.is_overdue(NOW) else []
        assert swept[c.id] == expected, (c.status, c.first_response_at, c.current_deadline())
        assert all(getattr(c, column) == c.current_deadline() for column in swept[c.id])
    assert {ComplaintStatus(c.status) for c in complaints if swept[c.id]} == {
        ComplaintStatus.RECEIVED,
        ComplaintStatus.ASSESSED,
        ComplaintStatus.ASSIGNED,
        ComplaintStatus.REOPENED,
        ComplaintStatus.REVISIT_DUE,
    }


def test_the_chain_sweep_passes_up_exactly_the_complaints_whose_superior_did_not_decide_in_time(
    session: Session,
) -> None:
    """R-HD-3: the chain sweep's SQL (``level_clause``) and its pure twin (``superior_overdue``) agree:
    a level's deadline has passed, a decision could be taken (``DECIDABLE_STATES``), a level above is
    left, and the complaint is not a linked duplicate."""
    estate = Estate(code="CH", name="Test estate")
    session.add(estate)
    session.flush()
    top = 4
    combos = list(itertools.product(ComplaintStatus, DEADLINES, range(top + 2), (False, True)))
    complaints = [
        Complaint(
            reference=f"CH-{n:05d}",
            estate_id=estate.id,
            channel=Channel.PHONE,
            content="電梯壞了",
            status=status,
            escalation_due_at=due,
            escalation_level=level,
        )
        for n, (status, due, level, _) in enumerate(combos)
    ]
    session.add_all(complaints)
    session.flush()
    for c, (_, _, _, duplicate) in zip(complaints, combos, strict=True):
        c.duplicate_of_id = complaints[0].id if duplicate else None
    session.commit()
    expected = {c.id for c in complaints if superior_overdue(c, NOW, top)}
    assert set(session.scalars(select(Complaint.id).where(level_clause(NOW, top)))) == expected
    picked = [c for c in complaints if c.id in expected]
    assert {ComplaintStatus(c.status) for c in picked} == set(DECIDABLE_STATES)
    assert {c.escalation_level for c in picked} == set(range(top))
    assert all(c.escalation_due_at == NOW - timedelta(hours=1) and c.duplicate_of_id is None for c in picked)
