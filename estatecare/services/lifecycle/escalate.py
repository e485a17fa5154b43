"""Escalation up the chain: a transfer sheet (工作傳簽單) or a missed deadline goes one level up,
and the superior decides who handles it by when (R-HD-3)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from estatecare.app import App
from estatecare.services import messages
from estatecare.services.errors import ConflictError
from estatecare.services.lifecycle.assign import assign_to
from estatecare.services.lifecycle.common import S, id_of, load
from estatecare.services.people import Actor, check_step, complaint_case, staff_with_role
from estatecare.services.records import unknown_reference
from estatecare.services.schemas import DecisionIn, EscalationIn
from models import Complaint, Escalation
from models.enums import DeadlineKind, EscalationKind, Role, Severity
from models.lifecycle import DECIDABLE_STATES, Action, IllegalTransition
from models.permissions import Step


def chain_role(core: App, level: int) -> Role:
    """The role at escalation ``level`` (1 = first superior); the top of the chain caps it."""
    chain = core.policy.escalation.chain
    return chain[min(max(level, 1), len(chain)) - 1]


def request_transfer(
    core: App, session: Session, reference: str, data: EscalationIn, actor: Actor | None, now: datetime
) -> Escalation:
    """The handler cannot settle it: a transfer sheet goes one level up (R-HD-3)."""
    complaint = load(session, reference, data.version, actor, Step.TRANSFER)
    return escalate(core, session, complaint, EscalationKind.TRANSFER_SHEET, data.reason, actor, now, None, None)


def escalate(
    core: App,
    session: Session,
    complaint: Complaint,
    kind: EscalationKind,
    reason: str,
    actor: Actor | None,
    now: datetime,
    deadline_kind: DeadlineKind | None,
    deadline_key: str | None,
) -> Escalation:
    """Move ``complaint`` one level up the chain and tell the superiors: a transfer sheet, or
    the missed deadline ``deadline_kind`` (``deadline_key`` makes it escalate once only)."""
    level = min(complaint.escalation_level + 1, len(core.policy.escalation.chain))
    to_role = chain_role(core, level)
    complaint.apply(
        Action.ESCALATE,
        at=now,
        actor_id=id_of(actor),
        note=reason,
        data={"kind": kind.value, "level": level, "to_role": to_role.value},
    )
    complaint.escalation_level = level
    esc = Escalation(
        complaint_id=complaint.id,
        kind=kind,
        level=level,
        to_role=to_role,
        raised_by_id=id_of(actor),
        raised_at=now,
        reason=reason,
        deadline_kind=deadline_kind,
        deadline_key=deadline_key,
    )
    session.add(esc)
    session.flush()
    superiors = staff_with_role(session, complaint.estate_id, to_role)
    if kind is EscalationKind.TRANSFER_SHEET:
        for person in superiors:
            messages.transfer_sheet(
                core,
                session,
                complaint,
                person,
                escalation_id=esc.id,
                from_name=actor.name if actor else "",
                reason=reason,
                level=level,
            )
    else:
        due = (
            {
                DeadlineKind.RESPONSE: complaint.response_due_at,
                DeadlineKind.RESOLUTION: complaint.resolution_due_at,
                DeadlineKind.REVISIT: complaint.revisit_due_at,
            }.get(deadline_kind)
            if deadline_kind
            else None
        )
        messages.escalation(
            core,
            session,
            complaint,
            superiors,
            kind="deadline_missed",
            level=level,
            key=f"escalation:{esc.id}",
            extra={"deadline_kind": deadline_kind.value if deadline_kind else "", "due_at": messages.iso(due)},
        )
    return esc


def report_to_leadership(core: App, session: Session, complaint: Complaint, now: datetime) -> None:
    """Major complaints are reported to leadership at once (R-AS-4)."""
    if complaint.severity is not Severity.MAJOR:
        return
    key = f"major:{complaint.id}"
    if session.scalar(select(Escalation.id).where(Escalation.deadline_key == key)) is not None:
        return
    to_role = core.policy.escalation.report_major_to
    session.add(
        Escalation(
            complaint_id=complaint.id,
            kind=EscalationKind.MAJOR,
            level=complaint.escalation_level,
            to_role=to_role,
            raised_at=now,
            reason="major complaint (R-AS-4)",
            deadline_key=key,
        )
    )
    leaders = staff_with_role(session, complaint.estate_id, to_role)
    messages.escalation(core, session, complaint, leaders, kind="major", level=complaint.escalation_level, key=key)


def open_transfer(session: Session, complaint_id: int) -> Escalation | None:
    """The latest transfer sheet or missed-deadline escalation still waiting for a decision."""
    return session.scalar(
        select(Escalation)
        .where(
            Escalation.complaint_id == complaint_id,
            Escalation.decided_at.is_(None),
            Escalation.kind != EscalationKind.MAJOR,
        )
        .order_by(Escalation.id.desc())
        .limit(1)
    )


def decide(
    core: App, session: Session, reference: str, data: DecisionIn, actor: Actor | None, now: datetime
) -> Complaint:
    """The superior names the department, person and deadline; a work arrangement notice goes out (R-HD-3)."""
    complaint = load(session, reference, data.version, actor, Step.VIEW)
    esc = open_transfer(session, complaint.id)
    if esc is None:
        raise ConflictError(
            f"complaint {reference} has no open transfer sheet or escalation to decide "
            f"(state {S(complaint.status).value!r})"
        )
    case = complaint_case(session, complaint, Step.DECIDE, escalated_to=Role(esc.to_role))
    check_step(actor, Step.DECIDE, case, hidden=unknown_reference(reference))
    if complaint.status not in DECIDABLE_STATES:
        raise IllegalTransition(S(complaint.status), Action.ASSIGN)
    assignment = assign_to(
        core, session, complaint, data.department, data.staff_email or None, data.due_at, data.note, actor, now
    )
    session.execute(
        update(Escalation)
        .where(
            Escalation.complaint_id == complaint.id,
            Escalation.decided_at.is_(None),
            Escalation.kind != EscalationKind.MAJOR,
        )
        .values(
            decided_at=now,
            decided_by_id=id_of(actor),
            decision_note=data.note,
            decision_department_id=assignment.department_id,
            decision_staff_id=assignment.staff_id,
            decision_due_at=assignment.due_at,
        )
    )
    return complaint
