"""The complaint lifecycle as service steps: each runs in the caller's one transaction.

A step reads the current state, applies one domain transition (``Complaint.apply``, which
writes the history record), and queues its notifications. Automatic steps (``receive``,
``auto_assess``, ``auto_assign``, ``after_revisit``) check the state first and do nothing
when it has moved on, so running one twice changes nothing and sends nothing twice.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from estatecare.app import App
from estatecare.services import messages
from estatecare.services.errors import ConflictError, Forbidden, InvalidInput, NotFound
from estatecare.services.people import (
    Actor,
    check_step,
    complaint_case,
    department,
    first_with_role,
    least_busy_handler,
    require_estate,
    staff_by_email,
    staff_with_role,
)
from estatecare.services.records import complaint_for, unknown_reference
from estatecare.services.schemas import (
    AssessmentIn,
    AssignmentIn,
    CloseIn,
    ComplaintIn,
    ConfirmationIn,
    DecisionIn,
    EscalationIn,
    ProgressIn,
    ResolutionIn,
    RevisitIn,
    RevisitRecordIn,
)
from models import Assignment, Building, Complaint, Escalation, Estate, Resident, Revisit, Staff, Unit
from models.assessment import Candidate, find_first_report, suggest
from models.enums import (
    Category,
    Channel,
    ComplaintStatus,
    DeadlineKind,
    EscalationKind,
    RevisitKind,
    RevisitMethod,
    Role,
    Satisfaction,
    Severity,
    Urgency,
)
from models.lifecycle import Action, IllegalTransition
from models.permissions import SUPERVISORS as SUPERVISORS  # the role sets, re-exported for callers
from models.permissions import VISITORS as VISITORS
from models.permissions import Step
from models.ref import Ref

S = ComplaintStatus
_REF_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
WRITTEN_CHANNELS = {Channel.LETTER, Channel.SUPERIOR_BODY}


# --------------------------------------------------------------------------- intake


def new_reference(estate_code: str, at: datetime, tz_now: datetime) -> str:
    """``CH-261123-7KQ4MZ``: estate, local date, random part (unique without a counter)."""
    suffix = "".join(secrets.choice(_REF_ALPHABET) for _ in range(6))
    return f"{estate_code}-{tz_now:%y%m%d}-{suffix}"


def submit(core: App, session: Session, data: ComplaintIn, now: datetime, receiver: Actor | None = None) -> Complaint:
    """Register a complaint and its first history record (R-IN-2); nothing else waits on it."""
    estate = session.scalar(select(Estate).where(Estate.code == data.estate))
    if estate is None:
        raise InvalidInput("estate", f"no estate with code {data.estate!r}")
    if receiver is not None:
        require_estate(receiver, estate.id)
    unit_id = None
    if data.unit:
        query = select(Unit).join(Building).where(Unit.estate_id == estate.id, Unit.number == data.unit)
        if data.building:
            query = query.where(Building.name == data.building)
        units = list(session.scalars(query.limit(2)))
        if not units:
            raise InvalidInput(
                "unit", f"no unit {data.building} {data.unit} in estate {estate.code}".replace("  ", " ")
            )
        if len(units) > 1:
            raise InvalidInput("building", f"unit {data.unit} exists in several buildings: name the building")
        unit_id = units[0].id
    resident_id = None
    if unit_id is not None and data.complainant_name:
        resident_id = session.scalar(
            select(Resident.id).where(Resident.unit_id == unit_id, Resident.name == data.complainant_name).limit(1)
        )
    complaint = Complaint(
        reference=new_reference(estate.code, now, now.astimezone(core.policy.tz)),
        estate_id=estate.id,
        unit_id=unit_id,
        resident_id=resident_id,
        complainant_name=data.complainant_name,
        contact_phone=data.contact_phone,
        contact_email=data.contact_email,
        locale=data.locale,
        channel=data.channel,
        content=data.content,
        received_at=now,
        received_by_id=receiver.id if receiver else None,
        reply_only=data.reply_only,
        category=None,
        response_due_at=core.deadlines.response_due(now, Urgency.NORMAL),
    )
    complaint.record_receipt(
        at=now,
        actor_id=receiver.id if receiver else None,
        data={"channel": data.channel.value, "category_hint": data.category.value if data.category else None},
    )
    session.add(complaint)
    session.flush()
    return complaint


def receive(core: App, session: Session, complaint_id: int) -> None:
    """Acknowledge (R-IN-2); send written complaints to leadership (R-IN-3)."""
    complaint = _by_id(session, complaint_id)
    messages.acknowledgement(core, session, complaint)
    if complaint.channel in WRITTEN_CHANNELS:
        leaders = staff_with_role(session, complaint.estate_id, core.policy.escalation.report_major_to)
        messages.escalation(core, session, complaint, leaders, kind="written", level=0, key=f"written:{complaint.id}")


def auto_assess(core: App, session: Session, complaint_id: int, now: datetime) -> bool:
    """Link a duplicate (R-IN-5), or assess by the keyword rules, or ask the supervisor.

    Returns True when the complaint left the received state.
    """
    complaint = _by_id(session, complaint_id)
    if complaint.status is not S.RECEIVED:
        return True
    hint = (complaint.events[0].data or {}).get("category_hint") if complaint.events else None
    suggestion = suggest(complaint.content, core.policy)
    category = suggestion.category or (_category(hint) if isinstance(hint, str) else None)
    first = _first_report(core, session, complaint, category.value if category else None)
    if first is not None:
        complaint.duplicate_of_id = first.id
        complaint.valid = first.valid
        complaint.category = first.category
        complaint.service_area = first.service_area
        complaint.severity = first.severity
        complaint.urgency = first.urgency
        complaint.apply(
            Action.LINK_DUPLICATE,
            at=now,
            note=f"same problem as {first.reference} (R-IN-5)",
            data={"first_report": first.reference},
        )
        return True
    if core.policy.assessment.auto and suggestion.confident:
        complaint.valid = True
        complaint.category = suggestion.category
        complaint.service_area = suggestion.service_area
        complaint.severity = suggestion.severity
        complaint.urgency = suggestion.urgency
        complaint.response_due_at = core.deadlines.response_due(complaint.received_at, suggestion.urgency)
        complaint.apply(
            Action.ASSESS,
            at=now,
            note="assessed by the policy's keyword rules",
            data={"matched": list(suggestion.matched), "automatic": True},
        )
        _report_major(core, session, complaint, now)
        return True
    supervisor = first_with_role(session, complaint.estate_id, core.policy.escalation.general_handler_role)
    if supervisor is not None:
        messages.assess_task(core, session, complaint, supervisor)
    return False


def _category(value: str) -> Category | None:
    try:
        return Category(value)
    except ValueError:
        return None


def _first_report(core: App, session: Session, complaint: Complaint, category: str | None) -> Complaint | None:
    """The earlier report this one repeats: same unit, or same estate and category, similar text (R-IN-5)."""
    window = timedelta(days=core.policy.duplicates.window_days)
    same_place = [Complaint.category == category] if category else []
    if complaint.unit_id is not None:
        same_place.append(Complaint.unit_id == complaint.unit_id)
    if not same_place:
        return None
    rows = session.execute(
        select(Complaint.id, Complaint.unit_id, Complaint.category, Complaint.content, Complaint.received_at).where(
            Complaint.estate_id == complaint.estate_id,
            Complaint.id != complaint.id,
            Complaint.duplicate_of_id.is_(None),
            Complaint.received_at >= complaint.received_at - window,
            Complaint.received_at <= complaint.received_at,
            Complaint.status.not_in([S.INVALID, S.CLOSED]),
            or_(*same_place),
        )
    ).all()
    new = Candidate(
        complaint.id, complaint.estate_id, complaint.unit_id, category, complaint.content, complaint.received_at
    )
    earlier = [
        Candidate(cid, complaint.estate_id, unit, cat.value if cat else None, text, at)
        for cid, unit, cat, text, at in rows
    ]
    found = find_first_report(new, earlier, core.policy)
    return session.get(Complaint, found.id) if found is not None else None


def _report_major(core: App, session: Session, complaint: Complaint, now: datetime) -> None:
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


def assess(
    core: App, session: Session, reference: str, data: AssessmentIn, actor: Actor | None, now: datetime
) -> Complaint:
    """A person's assessment: valid (category, severity, urgency) or invalid with the explanation (R-AS-1..3)."""
    complaint = _load(session, reference, data.version, actor, Step.ASSESS)
    if complaint.status is not S.RECEIVED:
        raise IllegalTransition(S(complaint.status), Action.ASSESS, "the complaint is already assessed")
    if data.duplicate_of:
        first = complaint_for(session, data.duplicate_of, actor, Step.VIEW)
        if first.estate_id != complaint.estate_id or first.id == complaint.id:
            raise InvalidInput("duplicate_of", "the first report must be another complaint of the same estate")
        complaint.duplicate_of_id = first.id
        complaint.valid, complaint.category, complaint.severity = first.valid, first.category, first.severity
        complaint.apply(Action.LINK_DUPLICATE, at=now, actor_id=_id(actor), data={"first_report": first.reference})
        return complaint
    if not data.valid:
        if not data.explanation:
            raise InvalidInput(
                "explanation", "an invalid complaint needs the explanation given to the complainant (R-AS-2)"
            )
        complaint.valid = False
        complaint.category = data.category
        complaint.explanation_text = data.explanation
        complaint.first_response_at = complaint.first_response_at or now
        complaint.apply(Action.REJECT_INVALID, at=now, actor_id=_id(actor), note=data.explanation)
        messages.invalid_explanation(session, complaint)
        complaint.apply(Action.CLOSE, at=now, actor_id=_id(actor), note="explanation recorded (R-AS-2)")
        return complaint
    if data.category is None:
        raise InvalidInput("category", "a valid complaint needs its category (R-AS-1)")
    complaint.valid = True
    complaint.category = data.category
    complaint.service_area = data.service_area
    complaint.severity = data.severity
    complaint.urgency = data.urgency
    complaint.response_due_at = core.deadlines.response_due(complaint.received_at, data.urgency)
    complaint.apply(Action.ASSESS, at=now, actor_id=_id(actor), data={"automatic": False})
    _report_major(core, session, complaint, now)
    return complaint


# --------------------------------------------------------------------------- assign


def auto_assign(core: App, session: Session, complaint_id: int, now: datetime) -> bool:
    """Assign an assessed (or reopened) complaint by the routing table; no-op otherwise."""
    complaint = _by_id(session, complaint_id)
    if complaint.status not in (S.ASSESSED, S.REOPENED) or complaint.duplicate_of_id is not None:
        return False
    if complaint.category is None:
        return False
    _assign(core, session, complaint, None, None, None, "", None, now)
    return True


def assign(
    core: App, session: Session, reference: str, data: AssignmentIn, actor: Actor | None, now: datetime
) -> Complaint:
    """Assign or reassign by hand (R-HD-2)."""
    complaint = _load(session, reference, data.version, actor, Step.ASSIGN)
    assignment = _assign(
        core,
        session,
        complaint,
        data.department or None,
        data.staff_email or None,
        data.due_at,
        data.instructions,
        actor,
        now,
    )
    if actor is not None and actor.role is Role.DEPARTMENT_HEAD and assignment.department_id != actor.department_id:
        raise Forbidden("a department head assigns within the department; a transfer sheet asks to move it (R-HD-3)")
    return complaint


def _assign(
    core: App,
    session: Session,
    complaint: Complaint,
    dept_code: str | None,
    staff_email: str | None,
    due_at: datetime | None,
    instructions: str,
    actor: Actor | None,
    now: datetime,
) -> Assignment:
    if dept_code is None:
        if complaint.category is None:
            raise InvalidInput("department", "the complaint has no category yet: name the department")
        dept_code = core.policy.routing[complaint.category]
    try:
        dept = department(session, complaint.estate_id, dept_code)
    except NotFound as exc:
        raise InvalidInput("department", str(exc)) from exc
    if staff_email:
        try:
            person = staff_by_email(session, staff_email)
        except NotFound as exc:
            raise InvalidInput("staff_email", str(exc)) from exc
        if person.estate_id not in (None, complaint.estate_id):
            raise InvalidInput("staff_email", "that person works for another estate")
    else:
        try:
            person = least_busy_handler(session, dept, excluding=complaint.id)
        except NotFound as exc:
            raise InvalidInput("department", str(exc)) from exc
    if due_at is not None and due_at.tzinfo is None:
        raise InvalidInput("due_at", "give the deadline with its timezone offset")
    complaint.apply(
        Action.ASSIGN, at=now, actor_id=_id(actor), data={"department": dept.code, "assignee": person.email}
    )
    if complaint.assignee_id is not None:  # a reassignment: the earlier one ends (a first one has none)
        session.execute(
            update(Assignment)
            .where(Assignment.complaint_id == complaint.id, Assignment.active.is_(True))
            .values(active=False)
        )
    complaint.department_id = dept.id
    complaint.assignee_id = person.id
    complaint.resolution_due_at = due_at or core.deadlines.resolution_due(now, complaint.severity)
    complaint.first_response_at = complaint.first_response_at or now
    assignment = Assignment(
        complaint_id=complaint.id,
        department_id=dept.id,
        staff_id=person.id,
        assigned_by_id=_id(actor),
        assigned_at=now,
        due_at=complaint.resolution_due_at,
        instructions=instructions,
    )
    session.add(assignment)
    session.flush()
    messages.work_arrangement(
        core,
        session,
        complaint,
        person,
        key=f"work_arrangement:{assignment.id}",
        assigned_by=actor.name if actor else "Estate Care",
        instructions=instructions,
    )
    return assignment


# --------------------------------------------------------------------------- escalation


def chain_role(core: App, level: int) -> Role:
    """The role at escalation ``level`` (1 = first superior); the top of the chain caps it."""
    chain = core.policy.escalation.chain
    return chain[min(max(level, 1), len(chain)) - 1]


def request_transfer(
    core: App, session: Session, reference: str, data: EscalationIn, actor: Actor | None, now: datetime
) -> Escalation:
    """The handler cannot settle it: a transfer sheet goes one level up (R-HD-3)."""
    complaint = _load(session, reference, data.version, actor, Step.TRANSFER)
    return _escalate(core, session, complaint, EscalationKind.TRANSFER_SHEET, data.reason, actor, now, None, None)


def _escalate(
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
    level = min(complaint.escalation_level + 1, len(core.policy.escalation.chain))
    to_role = chain_role(core, level)
    complaint.apply(
        Action.ESCALATE,
        at=now,
        actor_id=_id(actor),
        note=reason,
        data={"kind": kind.value, "level": level, "to_role": to_role.value},
    )
    complaint.escalation_level = level
    esc = Escalation(
        complaint_id=complaint.id,
        kind=kind,
        level=level,
        to_role=to_role,
        raised_by_id=_id(actor),
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
    complaint = _load(session, reference, data.version, actor, Step.VIEW)
    esc = open_transfer(session, complaint.id)
    if esc is None:
        raise ConflictError(
            f"complaint {reference} has no open transfer sheet or escalation to decide "
            f"(state {S(complaint.status).value!r})"
        )
    case = complaint_case(session, complaint, Step.DECIDE, escalated_to=Role(esc.to_role))
    check_step(actor, Step.DECIDE, case, hidden=unknown_reference(reference))
    if complaint.status not in (S.ASSESSED, S.ASSIGNED, S.REOPENED):
        raise IllegalTransition(S(complaint.status), Action.ASSIGN)
    assignment = _assign(
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
            decided_by_id=_id(actor),
            decision_note=data.note,
            decision_department_id=assignment.department_id,
            decision_staff_id=assignment.staff_id,
            decision_due_at=assignment.due_at,
        )
    )
    return complaint


def sweep_deadlines(core: App, session: Session, now: datetime, limit: int = 500) -> list[int]:
    """Missed response, resolution or revisit deadlines escalate one level, once per deadline (R-HD-3)."""
    checks = [
        (
            DeadlineKind.RESPONSE,
            Complaint.response_due_at,
            and_(Complaint.status.in_([S.RECEIVED, S.ASSESSED]), Complaint.first_response_at.is_(None)),
        ),
        (DeadlineKind.RESOLUTION, Complaint.resolution_due_at, Complaint.status.in_([S.ASSIGNED, S.REOPENED])),
        (DeadlineKind.REVISIT, Complaint.revisit_due_at, Complaint.status == S.REVISIT_DUE),
    ]
    raised: list[int] = []
    for kind, column, where in checks:
        rows = session.scalars(
            select(Complaint)
            .where(where, column.is_not(None), column < now, Complaint.duplicate_of_id.is_(None))
            .order_by(column)
            .limit(limit)
        ).all()
        for complaint in rows:
            due = getattr(complaint, column.key)
            key = f"{kind.value}:{complaint.id}:{due.isoformat()}"
            if session.scalar(select(Escalation.id).where(Escalation.deadline_key == key)) is not None:
                continue
            esc = _escalate(
                core,
                session,
                complaint,
                EscalationKind.DEADLINE_MISSED,
                f"{kind.value} deadline {due.isoformat()} missed",
                None,
                now,
                kind,
                key,
            )
            raised.append(esc.id)
    return raised


# --------------------------------------------------------------------------- resolve


def progress(
    core: App, session: Session, reference: str, data: ProgressIn, actor: Actor | None, now: datetime
) -> Complaint:
    """Tell the complainant how it goes, and when not solved yet, the next reply date (R-HD-5)."""
    complaint = _load(session, reference, data.version, actor, Step.PROGRESS)
    event = complaint.apply(
        Action.PROGRESS,
        at=now,
        actor_id=_id(actor),
        note=data.message,
        data={"next_reply_at": messages.iso(data.next_reply_at)},
    )
    complaint.first_response_at = complaint.first_response_at or now
    messages.progress_update(session, complaint, message=data.message, next_reply_at=data.next_reply_at, seq=event.seq)
    return complaint


def resolve(
    core: App, session: Session, reference: str, data: ResolutionIn, actor: Actor | None, now: datetime
) -> Complaint:
    """The handler records the result; the department head is asked to confirm (R-HD-6)."""
    complaint = _load(session, reference, data.version, actor, Step.RESOLVE)
    event = complaint.apply(Action.RESOLVE, at=now, actor_id=_id(actor), note=data.result)
    complaint.resolution_text = data.result
    complaint.resolved_at = now
    confirmer = _confirmer(core, session, complaint, _id(actor))
    if confirmer is not None:
        messages.confirm_task(
            core, session, complaint, confirmer, handler_name=actor.name if actor else "", seq=event.seq
        )
    return complaint


def _confirmer(core: App, session: Session, complaint: Complaint, recorder_id: int | None) -> Staff | None:
    """Who is asked to confirm: a head of the department other than the one who recorded the result;
    when there is none, the first superior of the chain (R-HD-6, R-HD-3; ``Step.CONFIRM``)."""
    not_recorder = [Staff.id != recorder_id] if recorder_id is not None else []
    if complaint.department_id is not None:
        head = session.scalar(
            select(Staff)
            .where(
                Staff.department_id == complaint.department_id,
                Staff.role == Role.DEPARTMENT_HEAD,
                Staff.active.is_(True),
                *not_recorder,
            )
            .order_by(Staff.id)
            .limit(1)
        )
        if head is not None:
            return head
    return next(
        (p for p in staff_with_role(session, complaint.estate_id, chain_role(core, 1)) if p.id != recorder_id), None
    )


def confirm(
    core: App, session: Session, reference: str, data: ConfirmationIn, actor: Actor | None, now: datetime
) -> Complaint:
    """The department head confirms (reply to the complainant, revisit due) or returns the result (R-HD-6)."""
    complaint = _load(session, reference, data.version, actor, Step.CONFIRM)
    if not data.confirmed:
        returned = complaint.apply(Action.RETURN, at=now, actor_id=_id(actor), note=data.note)
        assignee = session.get(Staff, complaint.assignee_id) if complaint.assignee_id else None
        if assignee is not None:
            messages.work_arrangement(
                core,
                session,
                complaint,
                assignee,
                key=f"returned:{complaint.id}:{returned.seq}",
                assigned_by=actor.name if actor else "",
                instructions=data.note,
            )
        return complaint
    event = complaint.apply(Action.CONFIRM, at=now, actor_id=_id(actor), note=data.note)
    messages.final_reply(session, complaint, seq=event.seq)
    if complaint.needs_revisit:
        _arrange_revisit(core, session, complaint, now)
    else:
        complaint.apply(
            Action.CLOSE,
            at=now,
            actor_id=_id(actor),
            note="no revisit: anonymous or reply-only, the reply is on the record (R-IN-4)",
        )
        _close_duplicates(session, complaint, now)
    return complaint


def _arrange_revisit(core: App, session: Session, complaint: Complaint, now: datetime) -> Revisit:
    """A valid complaint is revisited by the service-centre manager in person (R-RV-3);
    from the 2nd revisit on, by phone if need be (R-RV-10)."""
    sequence = 1 + len(session.scalars(select(Revisit.id).where(Revisit.complaint_id == complaint.id)).all())
    visitor = first_with_role(session, complaint.estate_id, Role.SERVICE_CENTRE_MANAGER)
    due = core.deadlines.complaint_revisit_due(now)
    revisit = Revisit(
        estate_id=complaint.estate_id,
        complaint_id=complaint.id,
        kind=RevisitKind.COMPLAINT,
        method=RevisitMethod.ON_SITE,
        sequence=sequence,
        visitor_id=visitor.id if visitor else None,
        due_at=due,
        created_at=now,
    )
    session.add(revisit)
    session.flush()
    complaint.revisit_due_at = due
    if visitor is not None:
        messages.revisit_task(core, session, complaint, revisit, visitor)
    return revisit


# --------------------------------------------------------------------------- revisit and close


@dataclass(frozen=True)
class RevisitOutcome:
    """What a recorded revisit led to."""

    complaint: Complaint
    revisit: Revisit
    new_complaint: Complaint | None


def record_revisit(
    core: App, session: Session, reference: str, data: RevisitIn, actor: Actor | None, now: datetime
) -> RevisitOutcome:
    """Record the revisit: method, answers, satisfaction, signature or refusal note (R-RV-7, R-RV-8);
    a new issue becomes a new linked complaint (R-RV-10)."""
    complaint = _load(session, reference, data.version, actor, Step.REVISIT)
    if complaint.status is not S.REVISIT_DUE:
        raise IllegalTransition(S(complaint.status), Action.REVISIT)
    revisit = session.scalar(
        select(Revisit).where(Revisit.complaint_id == complaint.id, Revisit.done_at.is_(None)).order_by(Revisit.id)
    )
    if revisit is None:
        raise ConflictError(f"complaint {reference} has no open revisit")
    if data.method is not RevisitMethod.ON_SITE and revisit.sequence == 1 and complaint.valid:
        raise InvalidInput(
            "method",
            "the first revisit of a valid complaint is on site (R-RV-3); "
            "phone is allowed from the 2nd revisit (R-RV-10)",
        )
    record = check_revisit_record(data, now)
    late = write_revisit_record(core, revisit, data, record, actor, now)
    complaint.satisfaction = data.satisfaction
    complaint.apply(
        Action.REVISIT,
        at=now,
        actor_id=_id(actor),
        data={
            "revisit_id": revisit.id,
            "method": data.method.value,
            "satisfaction": data.satisfaction.value,
            "sequence": revisit.sequence,
            "signed": bool(record.signature),
            "late_record": late,
        },
    )
    new = None
    if data.new_issue:
        new = complaint_from_revisit(
            core,
            session,
            Complaint(
                estate_id=complaint.estate_id,
                unit_id=complaint.unit_id,
                resident_id=complaint.resident_id,
                complainant_name=complaint.complainant_name,
                contact_phone=complaint.contact_phone,
                contact_email=complaint.contact_email,
                locale=complaint.locale,
                parent_id=complaint.id,
            ),
            data.new_issue,
            complaint.reference,
            actor,
            now,
        )
        revisit.new_complaint_id = new.id
    return RevisitOutcome(complaint, revisit, new)


@dataclass(frozen=True)
class CheckedRecord:
    """A revisit record's input after the checks every revisit shares."""

    signature: bytes
    done_at: datetime


def check_revisit_record(data: RevisitRecordIn, now: datetime) -> CheckedRecord:
    """The checks of every revisit record: a PNG signature, or a refusal note on site (R-RV-8);
    a done time with its offset, not in the future."""
    signature = b""
    if data.signature_png_base64:
        try:
            signature = base64.b64decode(data.signature_png_base64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidInput("signature_png_base64", "not valid base64") from exc
        if not signature.startswith(b"\x89PNG\r\n\x1a\n"):
            raise InvalidInput("signature_png_base64", "the signature must be a PNG image")
    if data.method is RevisitMethod.ON_SITE and not signature and not data.refusal_note:
        raise InvalidInput(
            "signature_png_base64", "an on-site revisit needs the resident's signature, or a refusal note (R-RV-8)"
        )
    return CheckedRecord(signature, revisit_done_at(data.done_at, now))


def revisit_done_at(done_at: datetime | None, now: datetime) -> datetime:
    """When a revisit was done: given with its offset and not in the future, or now."""
    done_at = done_at or now
    if done_at.tzinfo is None:
        raise InvalidInput("done_at", "give the time with its timezone offset")
    if done_at > now:
        raise InvalidInput("done_at", "a revisit cannot be recorded before it happened")
    return done_at


def write_revisit_record(
    core: App, revisit: Revisit, data: RevisitRecordIn, record: CheckedRecord, actor: Actor | None, now: datetime
) -> bool:
    """Write the record onto ``revisit`` (R-RV-7, R-RV-8); True when it is recorded late (R-RV-13)."""
    revisit.method = data.method
    revisit.visitor_id = _id(actor) or revisit.visitor_id
    revisit.done_at = record.done_at
    revisit.recorded_at = now
    revisit.satisfaction = data.satisfaction
    revisit.answers = {
        k: getattr(data, k) for k in ("punctuality", "attitude", "quality", "shortcomings", "suggestions")
    }
    revisit.signature_png = record.signature or None
    revisit.refusal_note = data.refusal_note
    revisit.new_issue = data.new_issue
    revisit.next_reply_at = data.next_reply_at
    return now > core.deadlines.revisit_record_due(record.done_at)


def complaint_from_revisit(
    core: App, session: Session, child: Complaint, issue: str, revisit_of: str, actor: Actor | None, now: datetime
) -> Complaint:
    """A complaint made during a revisit is recorded and reported as a new complaint (R-RV-10).

    ``child`` carries where and who (estate, unit, resident, contact, parent); ``revisit_of``
    names the complaint or work order revisited, in the receipt record.
    """
    estate = session.get(Estate, child.estate_id)
    assert estate is not None
    child.reference = new_reference(estate.code, now, now.astimezone(core.policy.tz))
    child.channel = Channel.REVISIT
    child.content = issue
    child.received_at = now
    child.received_by_id = _id(actor)
    child.response_due_at = core.deadlines.response_due(now, Urgency.NORMAL)
    child.record_receipt(
        at=now,
        actor_id=_id(actor),
        data={"channel": Channel.REVISIT.value, "raised_during_revisit_of": revisit_of},
    )
    session.add(child)
    session.flush()
    return child


def after_revisit(core: App, session: Session, complaint_id: int, now: datetime) -> str:
    """Satisfied -> close (R-RV-14); unsatisfied -> reopen and reassign (R-RV-11). No-op once done."""
    complaint = _by_id(session, complaint_id)
    if complaint.status is not S.REVISIT_DUE:
        return "nothing"
    last = session.scalar(
        select(Revisit).where(Revisit.complaint_id == complaint.id).order_by(Revisit.id.desc()).limit(1)
    )
    if last is None or last.done_at is None:
        return "nothing"
    if last.satisfaction in (Satisfaction.SATISFIED, Satisfaction.BASICALLY_SATISFIED):
        complaint.apply(Action.CLOSE, at=now, note="revisit satisfied (R-RV-14)")
        _close_duplicates(session, complaint, now)
        return "closed"
    complaint.apply(Action.REOPEN, at=now, note="revisit unsatisfied: rectify and revisit again (R-RV-11)")
    complaint.satisfaction = None
    complaint.revisit_due_at = None
    _assign(
        core,
        session,
        complaint,
        None,
        None,
        None,
        "reopened after an unsatisfied revisit (R-RV-11): " + (last.answers or {}).get("shortcomings", ""),
        None,
        now,
    )
    return "reopened"


def _close_duplicates(session: Session, complaint: Complaint, now: datetime) -> None:
    """Later reports of the same problem close with their first report (R-IN-5)."""
    for dup in session.scalars(
        select(Complaint).where(Complaint.duplicate_of_id == complaint.id, Complaint.status == S.ASSESSED)
    ):
        dup.apply(Action.CLOSE, at=now, note=f"closed with its first report {complaint.reference} (R-IN-5)")


def close(core: App, session: Session, reference: str, data: CloseIn, actor: Actor | None, now: datetime) -> Complaint:
    """Close by hand when R-RV-14 holds (the guard in ``Complaint.apply`` checks it)."""
    complaint = _load(session, reference, data.version, actor, Step.CLOSE)
    complaint.apply(Action.CLOSE, at=now, actor_id=_id(actor), note=data.note)
    _close_duplicates(session, complaint, now)
    return complaint


# --------------------------------------------------------------------------- helpers


def pending_intake(
    session: Session, received_before: datetime, limit: int = 500, now: datetime | None = None
) -> list[int]:
    """Complaints accepted but not yet through intake (e.g. the Prefect server was down),
    leaving out those a live run has claimed (``now`` decides whether a claim expired)."""
    from estatecare.services.claims import unclaimed_pending

    return list(
        session.scalars(
            select(Complaint.id)
            .where(unclaimed_pending(now or received_before), Complaint.received_at <= received_before)
            .order_by(Complaint.received_at, Complaint.id)
            .limit(limit)
        )
    )


def mark_intake_done(session: Session, complaint_id: int) -> None:
    """Intake finished for this complaint: the sweep leaves it alone."""
    complaint = _by_id(session, complaint_id)
    complaint.intake_done = True
    complaint.intake_lease_until = None


def _by_id(session: Session, complaint_id: int) -> Complaint:
    complaint = session.get(Complaint, complaint_id)
    if complaint is None:
        raise NotFound(f"no complaint with id {complaint_id}")
    return complaint


def _load(session: Session, reference: str, version: int | None, actor: Actor | None, step: Step) -> Complaint:
    return complaint_for(session, reference, actor, step, version)


def _id(actor: Actor | None) -> int | None:
    return actor.id if actor is not None else None


def describe(session: Session, ids: list[int]) -> list[Ref]:
    """Reference, estate and category of each complaint: what names and tags its flow runs."""
    if not ids:
        return []
    rows = session.execute(
        select(Complaint.id, Complaint.reference, Estate.code, Complaint.category)
        .join(Estate, Estate.id == Complaint.estate_id)
        .where(Complaint.id.in_(ids))
        .order_by(Complaint.id)
    )
    return [Ref(cid, ref, code, cat.value if cat else "") for cid, ref, code, cat in rows]


def pending_follow_ups(session: Session, limit: int = 500) -> dict[str, list[Ref]]:
    """Automatic steps still to do after their dispatch was lost: assignments and revisit outcomes."""
    open_revisit = select(Revisit.id).where(Revisit.complaint_id == Complaint.id, Revisit.done_at.is_(None)).exists()
    done_revisit = select(Revisit.id).where(Revisit.complaint_id == Complaint.id, Revisit.done_at.is_not(None)).exists()
    to_assign = session.scalars(
        select(Complaint.id)
        .where(
            Complaint.status == S.ASSESSED,
            Complaint.intake_done.is_(True),
            Complaint.valid.is_(True),
            Complaint.duplicate_of_id.is_(None),
        )
        .limit(limit)
    ).all()
    to_conclude = session.scalars(
        select(Complaint.id).where(Complaint.status == S.REVISIT_DUE, done_revisit, ~open_revisit).limit(limit)
    ).all()
    return {"assign": describe(session, list(to_assign)), "after-revisit": describe(session, list(to_conclude))}
