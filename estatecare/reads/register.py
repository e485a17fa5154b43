"""The register: every complaint of the staff member's estate, filtered, sorted and paged (no
contact data, R-IN-6). Its queues are the staff home's (``estatecare.reads.home``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, case, func, or_, select
from sqlalchemy.orm import Session

from estatecare.reads.complaint_pages import escalated_to
from estatecare.reads.complaints import overdue_clause
from estatecare.reads.home import deadline_column, queue_clause
from estatecare.reads.tasks import estate_scope
from estatecare.services.people import Actor
from models import Complaint, Department, Estate, Staff
from models.enums import Category, ComplaintStatus, Role

#: The register's orders (``sort=``; a leading ``-`` reverses one). Ties go newest first.
SORTS = ("received", "deadline", "status", "level")
DEFAULT_SORT = "-received"
UTC_ZONE = ZoneInfo("UTC")


@dataclass(frozen=True)
class RegisterFilter:
    """The register's filters (all optional)."""

    status: ComplaintStatus | None = None
    category: Category | None = None
    overdue: bool = False
    mine: bool = False
    received_from: datetime | None = None
    received_to: datetime | None = None
    text: str = ""
    queue: str = ""  # one of ``home.QUEUES``
    estate: str = ""  # an estate's code (leaders see every estate)
    sort: str = DEFAULT_SORT
    zone: ZoneInfo = UTC_ZONE  # where "today" is counted (the policy's timezone)


@dataclass(frozen=True)
class RegisterRow:
    """One complaint in the register (no contact data: R-IN-6)."""

    reference: str
    estate: str
    received_at: datetime
    channel: str
    category: str
    severity: str
    urgency: str
    status: str
    department: str
    assignee: str  # the handler's name
    due_at: datetime | None
    overdue: bool
    satisfaction: str
    closed_at: datetime | None
    content: str
    escalation_level: int = 0
    escalated_to: str = ""  # the role of the chain at its escalation level (R-HD-3), "" at level 0


#: The register query's row: the complaint, its estate code, its department's and handler's names.
_RegisterRecord = tuple[Complaint, str, str | None, str | None]


def register_query(actor: Actor, f: RegisterFilter, now: datetime) -> Select[_RegisterRecord]:
    """The register's rows for ``actor`` (their estates only) under the filters, in ``f.sort``'s order."""
    query: Select[_RegisterRecord] = (
        select(Complaint, Estate.code, Department.name, Staff.name)  # type: ignore[assignment]
        .join(Estate, Estate.id == Complaint.estate_id)
        .outerjoin(Department, Department.id == Complaint.department_id)
        .outerjoin(Staff, Staff.id == Complaint.assignee_id)
        .where(*estate_scope(actor))
    )
    if f.status is not None:
        query = query.where(Complaint.status == f.status)
    if f.category is not None:
        query = query.where(Complaint.category == f.category)
    if f.overdue:
        query = query.where(overdue_clause(now))
    if f.mine:
        query = query.where(Complaint.assignee_id == actor.id)
    if f.received_from is not None:
        query = query.where(Complaint.received_at >= f.received_from)
    if f.received_to is not None:
        query = query.where(Complaint.received_at < f.received_to)
    if f.text:
        like = f"%{f.text}%"
        query = query.where(or_(Complaint.reference.ilike(like), Complaint.content.ilike(like)))
    if f.queue:
        query = query.where(queue_clause(f.queue, actor, now, f.zone))
    if f.estate:
        query = query.where(Estate.code == f.estate)
    return query.order_by(*order(f.sort))


def order(sort: str) -> list[ColumnElement[Any]]:
    """The ORDER BY of ``sort`` (one of ``SORTS``, ``-`` first to reverse): complaints without a
    deadline last either way, ties newest first (in received order, in its direction)."""
    key, descending = sort.removeprefix("-"), sort.startswith("-")
    if key not in SORTS:
        raise ValueError(f"no sort {sort!r}")
    newest: list[ColumnElement[Any]] = [Complaint.received_at.desc(), Complaint.id.desc()]
    if key == "received":
        return newest if descending else [Complaint.received_at.asc(), Complaint.id.asc()]
    column: ColumnElement[Any]
    if key == "deadline":
        column = deadline_column()
        return [column.is_(None), column.desc() if descending else column.asc(), *newest]
    if key == "status":  # the lifecycle's order, not the alphabet's
        column = case({s: i for i, s in enumerate(ComplaintStatus)}, value=Complaint.status)
    else:
        column = Complaint.escalation_level.expression
    return [column.desc() if descending else column.asc(), *newest]


def register_rows(
    session: Session,
    actor: Actor,
    f: RegisterFilter,
    now: datetime,
    limit: int | None = None,
    chain: Sequence[Role] = (),
) -> list[RegisterRow]:
    """The register as rows (``limit`` None: all of them, for export); ``chain``, the policy's
    escalation chain, names each complaint's escalation level."""
    query = register_query(actor, f, now)
    if limit is not None:
        query = query.limit(limit)
    rows = []
    for c, code, dept, assignee in session.execute(query):
        rows.append(
            RegisterRow(
                reference=c.reference,
                estate=code,
                received_at=c.received_at,
                channel=c.channel.value,
                category=c.category.value if c.category else "",
                severity=c.severity.value,
                urgency=c.urgency.value,
                status=ComplaintStatus(c.status).value,
                department=dept or "",
                assignee=assignee or "",
                due_at=c.current_deadline(),
                overdue=c.is_overdue(now),
                satisfaction=c.satisfaction.value if c.satisfaction else "",
                closed_at=c.closed_at,
                content=c.content,
                escalation_level=c.escalation_level,
                escalated_to=role.value if (role := escalated_to(chain, c.escalation_level)) else "",
            )
        )
    return rows


def register_count(session: Session, actor: Actor, f: RegisterFilter, now: datetime) -> int:
    """How many complaints the filters match."""
    return session.scalar(select(func.count()).select_from(register_query(actor, f, now).subquery())) or 0
