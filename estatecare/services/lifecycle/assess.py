"""Assessment: a duplicate is linked to its first report (R-IN-5); otherwise the policy's keyword
rules suggest the fields and a person decides them (R-AS-1..3): the property supervisor, or the
service-centre manager when the suggestion says major (R-AS-4). A major one is reported at once
(``escalate.report_to_leadership``)."""

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
from models import Complaint, Staff
from models.assessment import Candidate, Suggestion, find_first_report, suggest
from models.enums import Category, Severity, Urgency
from models.lifecycle import Action, IllegalTransition
from models.permissions import Step


def auto_assess(core: App, session: Session, complaint_id: int, now: datetime) -> bool:
    """Link a duplicate (R-IN-5); assess by the keyword rules only when the policy lets them decide
    every field; otherwise apply the fields they may decide alone and ask a person (R-AS-1..4).

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
    if suggestion.confident:
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
    _apply_confident_fields(core, complaint, suggestion)
    assessor = assessor_for(session, core, complaint.estate_id, suggestion)
    if assessor is not None:
        messages.assess_task(core, session, complaint, assessor, suggestion)
    return False


def _apply_confident_fields(core: App, complaint: Complaint, suggestion: Suggestion) -> None:
    """Fields the policy lets rules decide alone are set while the complaint waits for a person;
    a suggested urgent one is due for assessment as an urgent one (R-HD-1)."""
    confident = suggestion.confident_fields
    if "category" in confident:
        complaint.category = suggestion.category
    if "service_area" in confident:
        complaint.service_area = suggestion.service_area
    if "severity" in confident:
        complaint.severity = suggestion.severity
    if "urgency" in confident:
        complaint.urgency = suggestion.urgency
    if suggestion.urgency is Urgency.URGENT:
        urgent_due = core.deadlines.response_due(complaint.received_at, Urgency.URGENT)
        if complaint.response_due_at is None or urgent_due < complaint.response_due_at:
            complaint.response_due_at = urgent_due


def assessor_for(session: Session, core: App, estate_id: int, suggestion: Suggestion) -> Staff | None:
    """Who assesses: the property supervisor, or the service-centre manager when the rules
    suggest major (R-AS-4); the supervisor when the estate has no manager."""
    roles = [core.policy.escalation.general_handler_role]
    if suggestion.severity is Severity.MAJOR:
        roles.insert(0, core.policy.escalation.major_handler_role)
    for role in roles:
        person = first_with_role(session, estate_id, role)
        if person is not None:
            return person
    return None


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
        complaint.apply(
            Action.REJECT_INVALID,
            at=now,
            actor_id=id_of(actor),
            note=data.explanation,
            data=_against_suggestion(core, complaint, data),
        )
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
    complaint.apply(Action.ASSESS, at=now, actor_id=id_of(actor), data=_against_suggestion(core, complaint, data))
    report_to_leadership(core, session, complaint, now)
    return complaint


def _against_suggestion(core: App, complaint: Complaint, data: AssessmentIn) -> dict[str, object]:
    """The history record of a person's assessment: what the rules suggested and which fields the
    person corrected (R-HD-4 record clearly)."""
    suggestion = suggest(complaint.content, core.policy)
    decided = {
        "valid": "yes" if data.valid else "no",
        "category": data.category.value if data.category else "",
        "service_area": data.service_area.value if data.service_area else "",
        "urgency": data.urgency.value,
        "severity": data.severity.value,
    }
    suggested = {name: suggestion.value(name) for name in decided}
    corrected = [name for name, value in decided.items() if suggested[name] != value]
    return {"automatic": False, "suggested": suggested, "corrected": corrected}
