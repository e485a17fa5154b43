"""Validated input and the answer of the repair and service request steps (報修 → 派工 → 完工)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, Field, model_validator

from estatecare.services.schemas import Email, Line, Phone, StaffEmail, Text, Version, When, _In
from models.enums import Channel, Locale, Trade, Urgency


class RepairIn(_In):
    """A resident's repair or service request, from any channel (R-IN-1)."""

    estate: Annotated[Line, Field(min_length=1, max_length=32, description="estate code, e.g. CH")]
    building: Annotated[Line, Field(max_length=100)] = ""
    unit: Annotated[Line, Field(max_length=50, description="unit number in the building; empty: a shared area")] = ""
    channel: Channel = Channel.ONLINE
    trade: Trade
    urgency: Urgency = Urgency.NORMAL
    description: Annotated[Text, Field(min_length=1, max_length=5000)]
    contact_name: Annotated[Line, Field(min_length=1, max_length=200, description="the resident's name")]
    contact_phone: Phone = ""
    contact_email: Email = ""
    locale: Locale = Locale.ZH_HANT
    preferred_at: When | None = Field(default=None, description="a time the resident booked (kept as the deadline)")

    @model_validator(mode="after")
    def _reachable(self) -> RepairIn:
        if not self.contact_phone and not self.contact_email:
            raise ValueError("give the resident's contact_phone or contact_email: the technician and the revisit call")
        return self


class ArrivalIn(_In):
    """The technician is on site."""

    arrived_at: When | None = Field(default=None, description="default: now")
    version: Version | None = None


class CompletionIn(_In):
    """The job is done: what was done, with what, for how much, and the resident's sign-off."""

    work_done: Annotated[Text, Field(min_length=1, max_length=5000)]
    materials: Annotated[Text, Field(max_length=2000)] = ""
    charge: Annotated[Decimal, Field(ge=0, le=1_000_000, max_digits=9, decimal_places=2)] | None = Field(
        default=None, description="what the resident is charged; none: free"
    )
    signature_png_base64: Annotated[str, Field(max_length=2_000_000)] = ""
    refusal_note: Annotated[Text, Field(max_length=2000)] = ""
    completed_at: When | None = Field(default=None, description="default: now")
    version: Version | None = None

    @model_validator(mode="after")
    def _signed_off(self) -> CompletionIn:
        if not self.signature_png_base64 and not self.refusal_note:
            raise ValueError("the resident signs the finished job (signature_png_base64), or give a refusal_note")
        return self


class ReassignmentIn(_In):
    """Give the job to another technician of its department."""

    staff_email: Annotated[StaffEmail, Field(min_length=3, description="the technician's email address")]
    note: Annotated[Text, Field(max_length=2000)] = ""
    version: Version | None = None


class JobEventView(BaseModel):
    """One step of a job's history (R-RC-1): when, who took it (None: the resident online), what,
    from which status to which (None: the request, its first record), the technician the job was
    with after it, and the step's facts (a reopening's: what it cleared from the job)."""

    at: datetime
    action: str
    from_status: str | None
    to_status: str
    actor: str | None  # the staff member's email: who they are to the API
    actor_name: str | None
    technician: str | None
    technician_name: str | None
    note: str
    details: dict[str, Any]


class JobView(BaseModel):
    """A job as staff read it, with its history; the resident's contact only for those who may see it
    (R-IN-6)."""

    reference: str
    estate: str
    unit: str | None
    status: str
    version: int
    channel: str | None
    trade: str | None
    kind: str
    urgency: str
    description: str
    department: str | None
    technician: str | None  # the technician's email: who they are to the API
    technician_name: str | None
    resident_name: str | None
    resident_phone: str
    resident_email: str | None
    preferred_at: datetime | None
    on_site_due_at: datetime | None
    dispatched_at: datetime | None
    arrived_at: datetime | None
    completed_at: datetime | None
    work_done: str
    materials: str
    charge: Decimal | None
    signed: bool
    refusal_note: str
    revisit_id: int | None  # the job's own revisit (R-RV-4, R-RV-5); none: the month's draw (R-RV-6)
    revisit_due_at: datetime | None
    history: list[JobEventView] = Field(default_factory=list)  # every step, in order (R-RC-1)


class JobAccepted(BaseModel):
    """A request just registered: its reference, where it stands and when the technician is due."""

    reference: str
    status: str
    on_site_due_at: datetime | None
