"""What the keyword rules suggest for a complaint waiting for assessment, with the evidence, as
the staff who may assess it see it (R-AS-1..4): the API's complaint view and the assessment page."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy.orm import Session

from estatecare.reads.complaints import ComplaintDetail, complaint_detail
from estatecare.services.people import Actor, complaint_case, may
from estatecare.services.records import get_complaint
from models import Complaint
from models.assessment import suggest
from models.enums import ComplaintStatus, Role, Severity
from models.permissions import Step
from models.policy import Policy


class EvidenceView(BaseModel):
    """A rule that fired and its keywords found in the text."""

    rule: str
    words: list[str]


class FieldView(BaseModel):
    """One suggested field; ``value`` as the assessment form sends it ("yes"/"no" for validity)."""

    field: str
    value: str
    confident: bool
    evidence: list[EvidenceView]


class SuggestionView(BaseModel):
    """The suggested assessment, each field with its evidence; ``assessor_role`` gets the task."""

    valid: bool
    category: str | None
    service_area: str | None
    urgency: str
    severity: str
    assessor_role: Role
    fields: list[FieldView]


def suggestion_view(complaint: Complaint, policy: Policy) -> SuggestionView:
    """The keyword rules' suggestion for ``complaint`` (pure: recomputed from its text)."""
    s = suggest(complaint.content, policy)
    major = s.severity is Severity.MAJOR
    return SuggestionView(
        valid=s.valid,
        category=s.category.value if s.category else None,
        service_area=s.service_area.value if s.service_area else None,
        urgency=s.urgency.value,
        severity=s.severity.value,
        assessor_role=policy.escalation.major_handler_role if major else policy.escalation.general_handler_role,
        fields=[
            FieldView(
                field=f.field,
                value=f.value,
                confident=f.confident,
                evidence=[EvidenceView(rule=e.rule, words=list(e.words)) for e in f.evidence],
            )
            for f in s.fields()
        ],
    )


def suggestion_for(session: Session, actor: Actor, complaint: Complaint, policy: Policy) -> SuggestionView | None:
    """The suggestion while the complaint waits for assessment, for staff who may assess it."""
    if complaint.status is not ComplaintStatus.RECEIVED:
        return None
    if not may(actor, Step.ASSESS, complaint_case(session, complaint, Step.ASSESS)):
        return None
    return suggestion_view(complaint, policy)


class AssessableDetail(ComplaintDetail):
    """A complaint's detail; while it waits for assessment, staff who may assess it also get the
    keyword rules' suggestion with its evidence (R-AS-1..4)."""

    suggestion: SuggestionView | None = None


def complaint_with_suggestion(
    session: Session, actor: Actor, reference: str, now: datetime, policy: Policy
) -> AssessableDetail:
    """``complaints.complaint_detail``, with the suggestion for staff who may assess it."""
    detail = complaint_detail(session, actor, reference, now)
    suggestion = suggestion_for(session, actor, get_complaint(session, reference), policy)
    return AssessableDetail(**detail.model_dump(), suggestion=suggestion)
