"""Escalation up the chain: a transfer sheet (工作傳簽單), a missed deadline, or a superior who does
not decide in time takes a complaint one level up, up to the top of the policy's chain; a major
complaint goes to leadership at once and a written one is reported to it. The superior decides
who handles it by when (R-AS-4, R-IN-3, R-HD-1, R-HD-3)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from estatecare.app import App
from estatecare.services import messages
from estatecare.services.errors import ConflictError
from estatecare.services.lifecycle.assign import assign_to
from estatecare.services.lifecycle.common import S, id_of, load
from estatecare.services.people import RANK, Actor, check_step, complaint_case, staff_with_role
from estatecare.services.records import unknown_reference
from estatecare.services.schemas import DecisionIn, EscalationIn
from models import Complaint, Escalation, Staff
from models.enums import DeadlineKind, EscalationKind, Role, Severity
from models.lifecycle import DECIDABLE_STATES, Action, IllegalTransition
from models.permissions import Step


def chain_role(core: App, level: int) -> Role:
    """The role at escalation ``level`` (1 = first superior); the top of the chain caps it."""
    chain = core.policy.escalation.chain
    return chain[min(max(level, 1), len(chain)) - 1]


def top_level(core: App) -> int:
    """The top of the chain (the GM by default): nothing escalates beyond it."""
    return len(core.policy.escalation.chain)


def leadership_level(core: App, current: int) -> int:
    """The level of the leader major complaints go to (R-AS-4), never below ``current``."""
    chain = core.policy.escalation.chain
    to_role = core.policy.escalation.report_major_to
    return max(current, chain.index(to_role) + 1 if to_role in chain else current)


def level_due(core: App, complaint: Complaint, level: int, now: datetime) -> datetime | None:
    """When the superior at ``level`` must have decided, or the chain goes one level further up:
    none at the top, nor while no decision can be taken (R-HD-3)."""
    if level >= top_level(core) or complaint.status not in DECIDABLE_STATES:
        return None
    return now + timedelta(hours=core.policy.escalation.level_deadline_hours)


def request_transfer(
    core: App, session: Session, reference: str, data: EscalationIn, actor: Actor | None, now: datetime
) -> Escalation:
    """The handler cannot settle it: a transfer sheet goes one level up (R-HD-3)."""
    complaint = load(session, reference, data.version, actor, Step.TRANSFER)
    return escalate(core, session, complaint, EscalationKind.TRANSFER_SHEET, data.reason, actor, now, None, None)


def _raise(
    core: App,
    session: Session,
    complaint: Complaint,
    kind: EscalationKind,
    level: int,
    to_role: Role,
    reason: str,
    actor: Actor | None,
    now: datetime,
    deadline_kind: DeadlineKind | None,
    deadline_key: str | None,
) -> Escalation:
    """Record the move to ``level`` (history and escalation row) and start that level's deadline."""
    complaint.apply(
        Action.ESCALATE,
        at=now,
        actor_id=id_of(actor),
        note=reason,
        data={"kind": kind.value, "level": level, "to_role": to_role.value},
    )
    complaint.escalation_level = level
    complaint.escalation_due_at = level_due(core, complaint, level, now)
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
    return esc


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
    """Move ``complaint`` one level up the chain and tell the superiors: a transfer sheet, a missed
    deadline ``deadline_kind``, or (no ``deadline_kind``) a superior who did not decide in time;
    ``deadline_key`` makes each escalate once only. The levels below are told it went up."""
    before = complaint.escalation_level
    level = min(before + 1, top_level(core))
    to_role = chain_role(core, level)
    esc = _raise(core, session, complaint, kind, level, to_role, reason, actor, now, deadline_kind, deadline_key)
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
                to_role=to_role,
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
            kind="deadline_missed" if deadline_kind else "not_decided",
            level=level,
            to_role=to_role,
            key=f"escalation:{esc.id}",
            extra={"deadline_kind": deadline_kind.value if deadline_kind else "", "due_at": messages.iso(due)},
        )
    if level > before:
        _tell_lower_levels(core, session, complaint, esc)
    return esc


def _tell_lower_levels(core: App, session: Session, complaint: Complaint, esc: Escalation) -> None:
    """Everyone of a role this complaint was escalated or reported to before, ranked below the new
    level's role, hears that it went up (R-HD-3)."""
    to_role = Role(esc.to_role)
    earlier = session.scalars(
        select(Escalation.to_role).where(Escalation.complaint_id == complaint.id, Escalation.id != esc.id).distinct()
    ).all()
    below = sorted({Role(r) for r in earlier if RANK[Role(r)] < RANK[to_role]}, key=RANK.__getitem__)
    people: dict[int, Staff] = {}
    for role in below:
        people.update((p.id, p) for p in staff_with_role(session, complaint.estate_id, role))
    if people:
        messages.escalation(
            core,
            session,
            complaint,
            list(people.values()),
            kind="passed_up",
            level=esc.level,
            to_role=to_role,
            key=f"passed_up:{esc.id}",
            task=None,
        )


def report_to_leadership(core: App, session: Session, complaint: Complaint, now: datetime) -> None:
    """A major complaint goes to leadership at once (R-AS-4): it rises to the leader's level of the
    chain, whose decision sets its deadline (R-HD-1); undecided, it goes further up (R-HD-3)."""
    if complaint.severity is not Severity.MAJOR:
        return
    key = f"major:{complaint.id}"
    if session.scalar(select(Escalation.id).where(Escalation.deadline_key == key)) is not None:
        return
    to_role = core.policy.escalation.report_major_to
    before = complaint.escalation_level
    level = leadership_level(core, before)
    reason = "major complaint (R-AS-4)"
    esc = _raise(core, session, complaint, EscalationKind.MAJOR, level, to_role, reason, None, now, None, key)
    leaders = staff_with_role(session, complaint.estate_id, to_role)
    messages.escalation(core, session, complaint, leaders, kind="major", level=level, to_role=to_role, key=key)
    if level > before:
        _tell_lower_levels(core, session, complaint, esc)


def report_written(core: App, session: Session, complaint: Complaint, now: datetime) -> None:
    """A written complaint (letter, forwarded by a superior body) is reported to leadership, who may
    decide on it; its level in the chain does not change (R-IN-3). Once per complaint."""
    key = f"written:{complaint.id}"
    if session.scalar(select(Escalation.id).where(Escalation.deadline_key == key)) is not None:
        return
    to_role = core.policy.escalation.report_major_to
    session.add(
        Escalation(
            complaint_id=complaint.id,
            kind=EscalationKind.WRITTEN,
            level=complaint.escalation_level,
            to_role=to_role,
            raised_at=now,
            reason="written complaint (R-IN-3)",
            deadline_key=key,
        )
    )
    session.flush()
    leaders = staff_with_role(session, complaint.estate_id, to_role)
    level = complaint.escalation_level
    messages.escalation(core, session, complaint, leaders, kind="written", level=level, to_role=to_role, key=key)


def open_transfer(session: Session, complaint_id: int) -> Escalation | None:
    """The latest escalation still waiting for a decision (transfer sheet, missed deadline, major or
    written complaint): the role it went to, and those above, decide (R-HD-3)."""
    return session.scalar(
        select(Escalation)
        .where(Escalation.complaint_id == complaint_id, Escalation.decided_at.is_(None))
        .order_by(Escalation.id.desc())
        .limit(1)
    )


def decide(
    core: App, session: Session, reference: str, data: DecisionIn, actor: Actor | None, now: datetime
) -> Complaint:
    """The superior names the department, person and deadline; a work arrangement notice goes out and
    the deadline replaces the provisional one (R-HD-1, R-HD-3). The decision settles every open
    escalation of the decider's rank or below and stops the chain's clock."""
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
    complaint.escalation_due_at = None
    settled = [r for r in Role if actor is None or RANK[r] <= RANK[actor.role]]
    session.execute(
        update(Escalation)
        .where(
            Escalation.complaint_id == complaint.id,
            Escalation.decided_at.is_(None),
            Escalation.to_role.in_(settled),
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
