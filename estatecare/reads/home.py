"""The staff home: queues of complaints with their counts, by role, and the leaders' view of
every estate. Each queue is one SQL condition on ``Complaint`` (``queue_clause``): the home
counts it and the register lists it, so a count and the list its link opens always agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, and_, case, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from estatecare.reads.complaints import overdue_clause
from estatecare.reads.tasks import estate_scope
from estatecare.services.people import RANK, Actor
from models import Complaint, Escalation, Estate, Revisit, Staff
from models.enums import ComplaintStatus, EscalationKind, Role, Severity
from models.lifecycle import ASSIGNED_STATES, DECIDABLE_STATES, OPEN_STATES
from models.permissions import LEADERS, SUPERVISORS, VISITORS

S = ComplaintStatus
#: Every queue the register filters by (``queue=``).
QUEUES = (
    "mine",  # assigned to me and open
    "assess",  # received, waiting for a person's assessment (R-AS-1..3)
    "due_today",  # the resolution deadline falls later today (local time)
    "overdue",  # a deadline of the current state has passed
    "escalated",  # an open escalation to my rank or below, to decide (R-HD-3)
    "revisits",  # a revisit due within the coming week (R-RV-3)
    "review",  # a done revisit waiting for a supervisor's review, not recorded by me (R-RV-9)
    "open",
    "major",  # open and major (R-AS-3)
    "escalations",  # open with an undecided escalation, to anyone
    "attention",  # open and major or with an undecided escalation: the leaders' list
)
#: How far ahead the revisit queue looks.
REVISIT_HORIZON = timedelta(days=7)
OPEN = sorted(OPEN_STATES)


@dataclass(frozen=True)
class Queue:
    """A queue on someone's home: its name and whether it counts their own complaints only."""

    name: str
    mine: bool = False


def queues_for(actor: Actor, chain: Sequence[Role]) -> list[Queue]:
    """The queues ``actor``'s home shows, in order. Handlers and department heads watch their own
    complaints; the service centre and the supervisors their estate's; leaders what was escalated
    to them (and every estate's figures, ``estate_counts``)."""
    decides = any(RANK[role] <= RANK[actor.role] for role in chain)
    if actor.role in LEADERS:
        return [Queue("escalated")] if decides else []
    if actor.role in (Role.HANDLER, Role.DEPARTMENT_HEAD):
        return [Queue("mine"), Queue("due_today", mine=True), Queue("overdue", mine=True)]
    out = [Queue("mine")] if actor.role in SUPERVISORS else []
    if actor.role in SUPERVISORS and actor.estate_id is not None:
        out.append(Queue("assess"))
    out += [Queue("due_today"), Queue("overdue")]
    if decides:
        out.append(Queue("escalated"))
    if actor.role in VISITORS:
        out.append(Queue("revisits"))
    if actor.role in SUPERVISORS and actor.estate_id is not None:
        out.append(Queue("review"))
    return out


def deadline_column() -> ColumnElement[datetime | None]:
    """SQL twin of :meth:`Complaint.current_deadline`: the deadline of the state it is in."""
    return case(
        (
            and_(Complaint.status.in_([S.RECEIVED, S.ASSESSED]), Complaint.first_response_at.is_(None)),
            Complaint.response_due_at,
        ),
        (Complaint.status.in_([S.ASSIGNED, S.REOPENED, S.RESOLVED]), Complaint.resolution_due_at),
        (Complaint.status == S.REVISIT_DUE, Complaint.revisit_due_at),
        else_=None,
    )


def end_of_day(now: datetime, zone: ZoneInfo) -> datetime:
    """The next local midnight after ``now`` in ``zone``."""
    tomorrow = now.astimezone(zone).date() + timedelta(days=1)
    return datetime.combine(tomorrow, time(), tzinfo=zone)


def _open_escalation(*where: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists().where(Escalation.complaint_id == Complaint.id, Escalation.decided_at.is_(None), *where)


def queue_clause(queue: str, actor: Actor, now: datetime, zone: ZoneInfo) -> ColumnElement[bool]:
    """The condition on ``Complaint`` of one queue (``QUEUES``) as ``actor`` sees it at ``now``."""
    major = and_(Complaint.status.in_(OPEN), Complaint.severity == Severity.MAJOR)
    escalations = and_(Complaint.status.in_(OPEN), _open_escalation())
    match queue:
        case "mine":
            return and_(Complaint.assignee_id == actor.id, Complaint.status.in_(OPEN))
        case "assess":
            return Complaint.status == S.RECEIVED
        case "due_today":  # still to be met today; the ones already missed are overdue
            return and_(
                Complaint.status.in_(sorted(ASSIGNED_STATES)),
                Complaint.resolution_due_at >= now,
                Complaint.resolution_due_at < end_of_day(now, zone),
            )
        case "overdue":
            return overdue_clause(now)
        case "escalated":  # the decisions of ``tasks.my_tasks``
            roles = [role for role in Role if RANK[role] <= RANK[actor.role]]
            return and_(Complaint.status.in_(sorted(DECIDABLE_STATES)), _open_escalation(Escalation.to_role.in_(roles)))
        case "revisits":  # the complaint's revisit, as ``tasks.my_tasks`` lists it to its visitor
            due = exists().where(
                Revisit.complaint_id == Complaint.id,
                Revisit.done_at.is_(None),
                Revisit.due_at < now + REVISIT_HORIZON,
            )
            return and_(Complaint.status == S.REVISIT_DUE, due)
        case "review":
            waiting = exists().where(
                Revisit.complaint_id == Complaint.id,
                Revisit.done_at.is_not(None),
                Revisit.reviewed_at.is_(None),
                or_(Revisit.visitor_id.is_(None), Revisit.visitor_id != actor.id),
            )
            return waiting
        case "open":
            return Complaint.status.in_(OPEN)
        case "major":
            return major
        case "escalations":
            return escalations
        case "attention":
            return or_(major, escalations)
    raise ValueError(f"no queue {queue!r}")


def queue_counts(
    session: Session, actor: Actor, queues: Sequence[Queue], now: datetime, zone: ZoneInfo
) -> dict[str, int]:
    """How many complaints each of ``queues`` holds for ``actor`` (one query, counted in SQL)."""
    if not queues:
        return {}
    columns = []
    for q in queues:
        clause = queue_clause(q.name, actor, now, zone)
        if q.mine:
            clause = and_(clause, Complaint.assignee_id == actor.id)
        columns.append(func.count(case((clause, 1))).label(q.name))
    row = session.execute(select(*columns).select_from(Complaint).where(*estate_scope(actor))).one()
    return {q.name: int(row._mapping[q.name]) for q in queues}


@dataclass(frozen=True)
class EstateCounts:
    """One estate's open, overdue, escalated and major complaints."""

    code: str
    name: str
    open: int
    overdue: int
    escalations: int
    major: int


#: The leaders' per-estate columns, as queues.
ESTATE_QUEUES = ("open", "overdue", "escalations", "major")


def estate_counts(session: Session, actor: Actor, now: datetime, zone: ZoneInfo) -> list[EstateCounts]:
    """Per estate ``actor`` oversees (every one for a leader without an estate), by code."""
    columns = [func.count(case((queue_clause(q, actor, now, zone), 1))) for q in ESTATE_QUEUES]
    query = (
        select(Estate.code, Estate.name, *columns)
        .outerjoin(Complaint, Complaint.estate_id == Estate.id)
        .group_by(Estate.id, Estate.code, Estate.name)
        .order_by(Estate.code)
    )
    if actor.estate_id is not None:
        query = query.where(Estate.id == actor.estate_id)
    return [EstateCounts(code, name, *map(int, counts)) for code, name, *counts in session.execute(query)]


@dataclass(frozen=True)
class AttentionRow:
    """An open major complaint or one with an undecided escalation, for the leaders."""

    reference: str
    estate: str
    status: str
    major: bool
    escalation_kind: str  # "" without an open escalation
    escalated_to: str  # the role the open escalation went to, "" without one
    raised_at: datetime | None
    assignee: str  # the handler's name
    due_at: datetime | None
    overdue: bool


def attention(session: Session, actor: Actor, now: datetime, zone: ZoneInfo, limit: int = 50) -> list[AttentionRow]:
    """Open escalations and major complaints ``actor`` oversees, earliest deadline first (with its
    latest undecided escalation, when it has one)."""
    latest = (
        select(Escalation.complaint_id, func.max(Escalation.id).label("id"))
        .where(Escalation.decided_at.is_(None))
        .group_by(Escalation.complaint_id)
        .subquery()
    )
    esc = aliased(Escalation)
    due = deadline_column()
    query: Select[tuple[Complaint, str, Escalation | None, str | None]] = (
        select(Complaint, Estate.name, esc, Staff.name)  # type: ignore[assignment]
        .join(Estate, Estate.id == Complaint.estate_id)
        .outerjoin(latest, latest.c.complaint_id == Complaint.id)
        .outerjoin(esc, esc.id == latest.c.id)
        .outerjoin(Staff, Staff.id == Complaint.assignee_id)
        .where(queue_clause("attention", actor, now, zone), *estate_scope(actor))
        .order_by(due.is_(None), due, Complaint.reference)
        .limit(limit)
    )
    return [
        AttentionRow(
            reference=c.reference,
            estate=estate,
            status=S(c.status).value,
            major=c.severity is Severity.MAJOR,
            escalation_kind=EscalationKind(e.kind).value if e is not None else "",
            escalated_to=Role(e.to_role).value if e is not None else "",
            raised_at=e.raised_at if e is not None else None,
            assignee=assignee or "",
            due_at=c.current_deadline(),
            overdue=c.is_overdue(now),
        )
        for c, estate, e, assignee in session.execute(query)
    ]
