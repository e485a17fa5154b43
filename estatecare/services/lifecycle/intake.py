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
from estatecare.services.lifecycle.escalate import report_written
from estatecare.services.people import Actor, require_estate
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
    """Register a complaint and its first history record (R-IN-2), with the staff member who
    received it; a written one gets its incoming-document number (R-IN-3)."""
    written = data.channel in WRITTEN_CHANNELS
    if data.incoming_doc_number and not written:
        raise InvalidInput(
            "incoming_doc_number", "only a written complaint (letter, superior body) has an incoming-document number"
        )
    query = select(Estate).where(Estate.code == data.estate)
    # A written complaint takes the next number of its estate's log: one at a time per estate.
    estate = session.scalar(query.with_for_update() if written else query)
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
    local_now = now.astimezone(core.policy.tz)
    complaint = Complaint(
        reference=new_reference(estate.code, now, local_now),
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
        incoming_doc_number=incoming_doc_number(session, estate, data, local_now.year) if written else "",
        category=None,
        response_due_at=core.deadlines.response_due(now, Urgency.NORMAL),
    )
    complaint.record_receipt(
        at=now,
        actor_id=receiver.id if receiver else None,
        data={
            "channel": data.channel.value,
            "category_hint": data.category.value if data.category else None,
            **({"incoming_doc_number": complaint.incoming_doc_number} if written else {}),
        },
    )
    session.add(complaint)
    session.flush()
    return complaint


def incoming_doc_number(session: Session, estate: Estate, data: ComplaintIn, year: int) -> str:
    """The number of a written complaint in its estate's incoming-document log (收文登記簿, R-IN-3):
    the one the clerk gave, or the next of the year (``CH-收文-2026-0007``); a number already
    used in the estate is refused."""
    number = data.incoming_doc_number
    if not number:
        prefix = f"{estate.code}-收文-{year}-"
        used = session.scalars(
            select(Complaint.incoming_doc_number).where(
                Complaint.estate_id == estate.id, Complaint.incoming_doc_number.startswith(prefix, autoescape=True)
            )
        )
        tails = [n.removeprefix(prefix) for n in used]
        counters = [int(t) for t in tails if t.isascii() and t.isdigit()]
        return f"{prefix}{max(counters, default=0) + 1:04d}"
    taken = session.scalar(
        select(Complaint.reference).where(Complaint.estate_id == estate.id, Complaint.incoming_doc_number == number)
    )
    if taken is not None:
        raise InvalidInput(
            "incoming_doc_number", f"incoming-document number {number!r} is already used in this estate (by {taken})"
        )
    return number


def receive(core: App, session: Session, complaint_id: int) -> None:
    """Acknowledge (R-IN-2); send written complaints to leadership (R-IN-3)."""
    complaint = by_id(session, complaint_id)
    messages.acknowledgement(core, session, complaint)
    if complaint.channel in WRITTEN_CHANNELS:
        report_written(core, session, complaint, complaint.received_at)


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
