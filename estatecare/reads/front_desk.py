"""What the front desk pages show: the estates and buildings a complaint is registered for
(R-IN-1, R-IN-2), a complaint just registered, and the written reply as a letter (R-IN-3)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from estatecare.services.errors import Forbidden
from estatecare.services.people import Actor
from estatecare.services.records import complaint_for
from models import Building, Complaint, Estate, Staff, Unit
from models.enums import ComplaintStatus, Locale
from models.lifecycle import Action
from models.permissions import Step

#: States in which a valid complaint's result is confirmed: the reply is given (R-HD-6).
_REPLIED = frozenset({ComplaintStatus.REVISIT_DUE, ComplaintStatus.CLOSED})


def estates_for(session: Session, actor: Actor) -> list[tuple[str, str]]:
    """The estates ``actor`` registers complaints for (code, name): their own, or every one for leaders."""
    query = select(Estate.code, Estate.name).order_by(Estate.code)
    if actor.estate_id is not None:
        query = query.where(Estate.id == actor.estate_id)
    return [(code, name) for code, name in session.execute(query)]


def buildings(session: Session, estate_codes: list[str]) -> list[str]:
    """The building names of these estates, for the form's choice."""
    query = select(Building.name).join(Estate).where(Estate.code.in_(estate_codes)).order_by(Building.name)
    return list(dict.fromkeys(session.scalars(query)))


@dataclass(frozen=True)
class Registered:
    """A complaint as the front desk sees it right after registering it."""

    reference: str
    channel: str
    incoming_doc_number: str
    received_by: str


def registered(session: Session, actor: Actor, reference: str) -> Registered:
    """The complaint just registered (another estate's is answered like an unknown reference)."""
    c = complaint_for(session, reference, actor, Step.VIEW)
    staff = session.get(Staff, c.received_by_id) if c.received_by_id else None
    return Registered(c.reference, c.channel.value, c.incoming_doc_number, staff.name if staff else "")


@dataclass(frozen=True)
class Reply:
    """What the complainant is answered in writing and when it was decided."""

    kind: str  # "result": the confirmed result; "explanation": why it is not ours to handle (R-AS-2)
    text: str
    at: datetime


def reply_of(c: Complaint) -> Reply | None:
    """The reply a complaint has to give: the confirmed result, or the explanation of an invalid
    one; None while there is nothing to reply yet."""
    if c.valid is False and c.explanation_text:
        at = next((e.at for e in reversed(c.events) if e.action is Action.REJECT_INVALID), c.received_at)
        return Reply("explanation", c.explanation_text, at)
    if c.valid and c.resolution_text and ComplaintStatus(c.status) in _REPLIED:
        confirmed = next((e.at for e in reversed(c.events) if e.action is Action.CONFIRM), None)
        if confirmed is not None:
            return Reply("result", c.resolution_text, confirmed)
    return None


@dataclass(frozen=True)
class Letter:
    """The written reply (R-IN-3) as the printable letter shows it."""

    reference: str
    incoming_doc_number: str
    channel: str
    received_at: datetime
    estate_name: str
    estate_address: str
    service_centre_email: str
    unit: str
    addressee: str
    locale: Locale
    reply: Reply | None


def letter(session: Session, actor: Actor, reference: str) -> Letter:
    """The reply letter of a complaint, for staff who may see its complainant (R-IN-6): another
    estate's is answered like an unknown reference, anyone else of the estate is refused."""
    c = complaint_for(session, reference, actor, Step.VIEW)
    if not c.contact_visible_to(actor):
        raise Forbidden("the reply letter names the complainant: only those handling the case see it (R-IN-6)")
    estate = session.get(Estate, c.estate_id)
    assert estate is not None
    unit = session.get(Unit, c.unit_id) if c.unit_id else None
    return Letter(
        reference=c.reference,
        incoming_doc_number=c.incoming_doc_number,
        channel=c.channel.value,
        received_at=c.received_at,
        estate_name=estate.name,
        estate_address=estate.address,
        service_centre_email=estate.service_centre_email,
        unit=unit.label if unit else "",
        addressee=c.complainant_name,
        locale=Locale(c.locale),
        reply=reply_of(c),
    )
