"""Assessment: a duplicate is linked to its first report (R-IN-5), a complaint is assessed by the
policy's keyword rules or by a person (R-AS-1..3); a major one is reported at once (R-AS-4,
``escalate.report_to_leadership``)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from estatecare.app import App
from estatecare.services import messages
from estatecare.services.errors import InvalidInput
from estatecare.services.lifecycle.common import S, by_id, id_of, load
from estatecare.services.lifecycle.escalate import report_to_leadership
from estatecare.services.people import Actor, first_with_role
from estatecare.services.records import complaint_for
from estatecare.services.schemas import AssessmentIn
from models import Complaint
from models.assessment import Candidate, find_first_report, suggest
from models.enums import Category
from models.lifecycle import Action, IllegalTransition
from models.permissions import Step


def auto_assess(core: App, session: Session, complaint_id: int, now: datetime) -> bool:
    """Link a duplicate (R-IN-5), or assess by the keyword rules, or ask the supervisor.

    Returns True when the complaint left the received state.
    """
    complaint = by_id(session, complaint_id)
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
        report_to_leadership(core, session, complaint, now)
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
    """The earlier report this one repeats: the same place (``models.assessment.same_place``: the
    same unit, or shared areas in the same category), similar text (R-IN-5)."""
    window = timedelta(days=core.policy.duplicates.window_days)
    if complaint.unit_id is not None:
        same_place = Complaint.unit_id == complaint.unit_id
    elif category:
        same_place = and_(Complaint.unit_id.is_(None), Complaint.category == category)
    else:
        return None
    rows = session.execute(
        select(Complaint.id, Complaint.unit_id, Complaint.category, Complaint.content, Complaint.received_at).where(
            Complaint.estate_id == complaint.estate_id,
            Complaint.id != complaint.id,
            Complaint.duplicate_of_id.is_(None),
            Complaint.received_at >= complaint.received_at - window,
            Complaint.received_at <= complaint.received_at,
            Complaint.status.not_in([S.INVALID, S.CLOSED]),
            same_place,
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


def assess(
    core: App, session: Session, reference: str, data: AssessmentIn, actor: Actor | None, now: datetime
) -> Complaint:
    """A person's assessment: valid (category, severity, urgency) or invalid with the explanation (R-AS-1..3)."""
    complaint = load(session, reference, data.version, actor, Step.ASSESS)
    if complaint.status is not S.RECEIVED:
        raise IllegalTransition(S(complaint.status), Action.ASSESS, "the complaint is already assessed")
    if data.duplicate_of:
        first = complaint_for(session, data.duplicate_of, actor, Step.VIEW)
        if first.estate_id != complaint.estate_id or first.id == complaint.id:
            raise InvalidInput("duplicate_of", "the first report must be another complaint of the same estate")
        complaint.duplicate_of_id = first.id
        complaint.valid, complaint.category, complaint.severity = first.valid, first.category, first.severity
        complaint.apply(Action.LINK_DUPLICATE, at=now, actor_id=id_of(actor), data={"first_report": first.reference})
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
        complaint.apply(Action.REJECT_INVALID, at=now, actor_id=id_of(actor), note=data.explanation)
        messages.invalid_explanation(session, complaint)
        complaint.apply(Action.CLOSE, at=now, actor_id=id_of(actor), note="explanation recorded (R-AS-2)")
        return complaint
    if data.category is None:
        raise InvalidInput("category", "a valid complaint needs its category (R-AS-1)")
    complaint.valid = True
    complaint.category = data.category
    complaint.service_area = data.service_area
    complaint.severity = data.severity
    complaint.urgency = data.urgency
    complaint.response_due_at = core.deadlines.response_due(complaint.received_at, data.urgency)
    complaint.apply(Action.ASSESS, at=now, actor_id=id_of(actor), data={"automatic": False})
    report_to_leadership(core, session, complaint, now)
    return complaint
