"""Intake: register a complaint, acknowledge it, and keep track of intake still to do (R-IN-2, R-IN-3)."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from estatecare.app import App
from estatecare.services import messages
from estatecare.services.claims import unclaimed_pending
from estatecare.services.errors import InvalidInput
from estatecare.services.lifecycle.common import by_id
from estatecare.services.people import Actor, require_estate, staff_with_role
from estatecare.services.records import unit_in_estate
from estatecare.services.schemas import ComplaintIn
from models import Complaint, Estate, Resident
from models.enums import Channel, Urgency

_REF_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
WRITTEN_CHANNELS = {Channel.LETTER, Channel.SUPERIOR_BODY}


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
    unit_id = unit_in_estate(session, estate, data.building, data.unit) if data.unit else None
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
    complaint = by_id(session, complaint_id)
    messages.acknowledgement(core, session, complaint)
    if complaint.channel in WRITTEN_CHANNELS:
        leaders = staff_with_role(session, complaint.estate_id, core.policy.escalation.report_major_to)
        messages.escalation(core, session, complaint, leaders, kind="written", level=0, key=f"written:{complaint.id}")


def pending_intake(
    session: Session, received_before: datetime, limit: int = 500, now: datetime | None = None
) -> list[int]:
    """Complaints accepted but not yet through intake (e.g. the Prefect server was down),
    leaving out those a live run has claimed (``now`` decides whether a claim expired)."""
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
    complaint = by_id(session, complaint_id)
    complaint.intake_done = True
    complaint.intake_lease_until = None
