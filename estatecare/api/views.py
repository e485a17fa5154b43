"""What the REST API answers to intake and to a step."""

from __future__ import annotations

from pydantic import BaseModel

from models.enums import ComplaintStatus


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
