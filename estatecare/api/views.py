"""What the REST API answers to intake and to a step."""

from __future__ import annotations

from pydantic import BaseModel

from estatecare.reads.assessment import AssessableDetail
from models.enums import ComplaintStatus, Role


class Accepted(BaseModel):
    """A complaint was registered."""

    reference: str
    status: ComplaintStatus
    status_url: str


class StepResult(BaseModel):
    """The complaint after a step."""

    reference: str
    status: ComplaintStatus
    version: int
    escalation_level: int


class ComplaintView(AssessableDetail):
    """A complaint as the API shows it; ``escalated_to`` names the role of the chain its escalation
    level went up to (R-HD-3), None before any escalation."""

    escalated_to: Role | None = None
