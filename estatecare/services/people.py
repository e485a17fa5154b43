"""Who does what: staff lookups, the acting person, and who may take each step."""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from estatecare.services.errors import Forbidden, NotFound
from models import Complaint, Department, Staff
from models.enums import Role
from models.lifecycle import OPEN_STATES, Action
from models.permissions import RANK as RANK  # re-exported: the order of roles, front desk up to GM
from models.permissions import Case, Step, Verdict, decide


@dataclass(frozen=True)
class Actor:
    """The staff member taking a step (from their API token or session)."""

    id: int
    name: str
    email: str
    role: Role
    estate_id: int | None  # None: company-wide (deputy GM, GM)
    department_id: int | None = None

    @classmethod
    def of(cls, staff: Staff) -> Actor:
        """The actor for a staff row."""
        return cls(staff.id, staff.name, staff.email, Role(staff.role), staff.estate_id, staff.department_id)


def in_estate(actor: Actor | None, estate_id: int) -> bool:
    """Staff act only on their own estate's complaints (or revisits, ...); leaders (no estate)
    and the system itself on all."""
    return actor is None or actor.estate_id is None or actor.estate_id == estate_id


def require_estate(actor: Actor | None, estate_id: int, what: str = "complaint") -> None:
    """Refuse a record of another estate than the actor's (see ``in_estate``)."""
    if not in_estate(actor, estate_id):
        raise Forbidden(f"this {what} belongs to another estate")


def require_role(actor: Actor | None, allowed: AbstractSet[Role], step: str) -> None:
    """Refuse a step the actor's role may not take (None: the system itself acts)."""
    if actor is not None and actor.role not in allowed:
        names = ", ".join(sorted(r.value for r in allowed))
        raise Forbidden(f"{step} needs one of the roles: {names} (you are {actor.role.value})")


def check_step(actor: Actor | None, step: Step, case: Case, *, hidden: Exception) -> None:
    """Refuse a step the permissions matrix (``models/permissions.py``) does not grant: ``hidden``
    when the case is another estate's, :class:`Forbidden` otherwise. None (the system) may."""
    if actor is None:
        return
    decision = decide(step, actor, case)
    if decision.verdict is Verdict.HIDDEN:
        raise hidden
    if not decision.allowed:
        raise Forbidden(decision.reason)


def may(actor: Actor | None, step: Step, case: Case) -> bool:
    """Whether the permissions matrix lets ``actor`` take ``step`` (to show or hide a page's part)."""
    return actor is None or decide(step, actor, case).allowed


def complaint_case(session: Session, complaint: Complaint, step: Step, escalated_to: Role | None = None) -> Case:
    """The facts of ``complaint`` the matrix decides ``step`` on (``escalated_to``: for a decision)."""
    recorded_by = next((e.actor_id for e in reversed(complaint.events) if e.action is Action.RESOLVE), None)
    heads: frozenset[int] = frozenset()
    if step is Step.CONFIRM and complaint.department_id is not None:
        heads = frozenset(
            session.scalars(
                select(Staff.id).where(
                    Staff.department_id == complaint.department_id,
                    Staff.role == Role.DEPARTMENT_HEAD,
                    Staff.active.is_(True),
                )
            )
        )
    return Case(
        estate_id=complaint.estate_id,
        department_id=complaint.department_id,
        assignee_id=complaint.assignee_id,
        recorded_by_id=recorded_by,
        department_head_ids=heads,
        escalated_to=escalated_to,
    )


def staff_with_role(session: Session, estate_id: int, role: Role) -> list[Staff]:
    """Active staff of ``role`` for an estate: its own, or company-wide ones."""
    return list(
        session.scalars(
            select(Staff)
            .where(
                Staff.role == role, Staff.active.is_(True), or_(Staff.estate_id == estate_id, Staff.estate_id.is_(None))
            )
            .order_by(Staff.estate_id.is_(None), Staff.id)
        )
    )


def first_with_role(session: Session, estate_id: int, role: Role) -> Staff | None:
    """The estate's first active staff member of ``role`` (its own before company-wide)."""
    people = staff_with_role(session, estate_id, role)
    return people[0] if people else None


def department(session: Session, estate_id: int, code: str) -> Department:
    """An estate's department by policy code."""
    dept = session.scalar(select(Department).where(Department.estate_id == estate_id, Department.code == code))
    if dept is None:
        raise NotFound(f"department {code!r} does not exist in this estate")
    return dept


def least_busy_handler(session: Session, dept: Department, excluding: int | None = None) -> Staff:
    """The department's handler with the fewest open cases (R-HD-2); ties go to the lowest id.

    ``excluding`` leaves the complaint being (re)assigned out of the count.
    """
    open_cases = (
        select(func.count(Complaint.id))
        .where(
            Complaint.assignee_id == Staff.id,
            Complaint.status.in_(list(OPEN_STATES)),
            Complaint.id != (excluding if excluding is not None else -1),
        )
        .correlate(Staff)
        .scalar_subquery()
    )
    for roles in ([Role.HANDLER], [Role.DEPARTMENT_HEAD]):
        person = session.scalar(
            select(Staff)
            .where(Staff.department_id == dept.id, Staff.active.is_(True), Staff.role.in_(roles))
            .order_by(open_cases, Staff.id)
            .limit(1)
        )
        if person is not None:
            return person
    raise NotFound(f"department {dept.code!r} has no active staff to assign")


def staff_by_email(session: Session, email: str) -> Staff:
    """A staff member by email address."""
    person = session.scalar(select(Staff).where(func.lower(Staff.email) == email.lower()))
    if person is None or not person.active:
        raise NotFound(f"no active staff member with email {email!r}")
    return person
