"""The register: every complaint of the staff member's estate, filtered and paged (no contact data, R-IN-6)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from estatecare.reads.complaints import overdue_clause
from estatecare.reads.tasks import estate_scope
from estatecare.services.people import Actor
from models import Complaint, Department, Estate, Staff
from models.enums import Category, ComplaintStatus


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
    assignee: str
    due_at: datetime | None
    overdue: bool
    satisfaction: str
    closed_at: datetime | None
    content: str


#: The register query's row: the complaint, its estate code, its department's and handler's names.
_RegisterRecord = tuple[Complaint, str, str | None, str | None]


def register_query(actor: Actor, f: RegisterFilter, now: datetime) -> Select[_RegisterRecord]:
    """The register's rows for ``actor`` (their estates only) under the filters, newest first."""
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
    return query.order_by(Complaint.received_at.desc(), Complaint.id.desc())


def register_rows(
    session: Session, actor: Actor, f: RegisterFilter, now: datetime, limit: int | None = None
) -> list[RegisterRow]:
    """The register as rows (``limit`` None: all of them, for export)."""
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
            )
        )
    return rows


def register_count(session: Session, actor: Actor, f: RegisterFilter, now: datetime) -> int:
    """How many complaints the filters match."""
    return session.scalar(select(func.count()).select_from(register_query(actor, f, now).subquery())) or 0
