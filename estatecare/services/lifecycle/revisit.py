"""A complaint's revisit: the record (R-RV-7, R-RV-8) and what follows it: a new issue becomes a
new complaint (R-RV-10); satisfied, the complaint closes (R-RV-14), unsatisfied, it is reopened
and reassigned (R-RV-11). The record's checks and fields are shared with work orders' revisits
(``estatecare.services.revisits``)."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from estatecare.app import App
from estatecare.services import messages
from estatecare.services.errors import ConflictError, Forbidden, InvalidInput
from estatecare.services.lifecycle.assign import assign_to
from estatecare.services.lifecycle.close import close_duplicates
from estatecare.services.lifecycle.common import S, by_id, id_of, load
from estatecare.services.lifecycle.intake import new_reference
from estatecare.services.people import Actor, first_with_role
from estatecare.services.schemas import RevisitIn, RevisitRecordIn
from models import Complaint, Estate, Resident, Revisit, WorkOrder
from models.enums import Channel, RevisitKind, RevisitMethod, Role, Urgency
from models.lifecycle import Action, IllegalTransition
from models.permissions import Step
from models.revisit import is_late_record, is_satisfied, must_be_made_by, must_be_on_site


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
    complaint = load(session, reference, data.version, actor, Step.REVISIT)
    if complaint.status is not S.REVISIT_DUE:
        raise IllegalTransition(S(complaint.status), Action.REVISIT)
    revisit = session.scalar(
        select(Revisit).where(Revisit.complaint_id == complaint.id, Revisit.done_at.is_(None)).order_by(Revisit.id)
    )
    if revisit is None:
        raise ConflictError(f"complaint {reference} has no open revisit")
    check_visitor(revisit.sequence, complaint, actor)
    if data.method is not RevisitMethod.ON_SITE and must_be_on_site(
        revisit.sequence, complaint_valid=bool(complaint.valid)
    ):
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
        actor_id=id_of(actor),
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
    if data.suggestions:
        arrange_suggestion_revisit(core, session, revisit, data.suggestions, complaint.reference, complaint, now)
    return RevisitOutcome(complaint, revisit, new)


def revisit_subject(core: App, session: Session, revisit: Revisit) -> tuple[str, Complaint]:
    """What a revisit follows up, through the suggestion revisits it came from (R-RV-2): the
    reference of its complaint or work order, and the resident's unit and contact as a complaint
    carries them (for a work order, built from its resident and never saved)."""
    root = revisit
    while root.complaint_id is None and root.work_order_id is None and root.source_revisit_id is not None:
        source = session.get(Revisit, root.source_revisit_id)
        assert source is not None
        root = source
    if root.complaint_id is not None:
        complaint = session.get(Complaint, root.complaint_id)
        assert complaint is not None
        return complaint.reference, complaint
    order = session.get(WorkOrder, root.work_order_id)
    assert order is not None
    resident = session.get(Resident, order.resident_id) if order.resident_id else None
    if order.contact_name:  # a requested job: the contact the resident gave
        name, phone, email, locale = order.contact_name, order.contact_phone, order.contact_email, order.locale
    elif resident is not None:
        name, phone, email, locale = resident.name, resident.phone, resident.email, resident.locale
    else:
        name, phone, email, locale = "", "", "", core.policy.company.default_locale
    return order.reference, Complaint(
        estate_id=order.estate_id,
        unit_id=order.unit_id,
        resident_id=order.resident_id,
        complainant_name=name,
        contact_phone=phone,
        contact_email=email,
        locale=locale,
    )


def check_visitor(sequence: int, complaint: Complaint, actor: Actor | None) -> None:
    """The first revisit of a valid complaint is made by the service-centre manager in person
    (R-RV-3); from the 2nd revisit on, anyone who may revisit (R-RV-10)."""
    role = must_be_made_by(sequence, complaint_valid=bool(complaint.valid))
    if role is not None and actor is not None and actor.role is not role:
        raise Forbidden(
            f"the first revisit of a valid complaint is made by the {role.value} in person (R-RV-3), "
            f"not the {actor.role.value}; others may make the 2nd revisit on (R-RV-10)"
        )


def arrange_suggestion_revisit(
    core: App,
    session: Session,
    source: Revisit,
    suggestion: str,
    subject_ref: str,
    contact: Complaint,
    now: datetime,
) -> Revisit:
    """A suggestion the resident made during a revisit is followed up by its own revisit (R-RV-2):
    by phone, by the property supervisor, within the complaint revisit days. It belongs to no
    complaint (``source_revisit_id`` names the revisit it came from), so no complaint waits on it.
    ``contact`` carries the resident's unit and contact (the complaint, or one built from a work order)."""
    visitor = first_with_role(session, source.estate_id, Role.PROPERTY_SUPERVISOR)
    revisit = Revisit(
        estate_id=source.estate_id,
        kind=RevisitKind.SUGGESTION,
        method=RevisitMethod.PHONE,
        sequence=1,
        visitor_id=visitor.id if visitor else None,
        due_at=core.deadlines.complaint_revisit_due(now),
        created_at=now,
        source_revisit_id=source.id,
    )
    session.add(revisit)
    session.flush()
    if visitor is not None:
        messages.suggestion_revisit_task(
            core,
            session,
            revisit,
            visitor,
            subject_ref=subject_ref,
            unit=messages.unit_label(session, contact.unit_id),
            suggestion=suggestion,
            contact=contact,
        )
    return revisit


@dataclass(frozen=True)
class CheckedRecord:
    """A revisit record's input after the checks every revisit shares."""

    signature: bytes
    done_at: datetime


def decode_signature(value: str) -> bytes:
    """A signature drawn on a screen, sent as base64: the PNG's bytes (empty when none was sent)."""
    if not value:
        return b""
    try:
        signature = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidInput("signature_png_base64", "not valid base64") from exc
    if not signature.startswith(b"\x89PNG\r\n\x1a\n"):
        raise InvalidInput("signature_png_base64", "the signature must be a PNG image")
    return signature


def check_revisit_record(data: RevisitRecordIn, now: datetime) -> CheckedRecord:
    """The checks of every revisit record: a PNG signature, or a refusal note on site (R-RV-8);
    a done time with its offset, not in the future."""
    signature = decode_signature(data.signature_png_base64)
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
    revisit.visitor_id = id_of(actor) or revisit.visitor_id
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
    return is_late_record(now, core.deadlines.revisit_record_due(record.done_at))


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
    child.received_by_id = id_of(actor)
    child.response_due_at = core.deadlines.response_due(now, Urgency.NORMAL)
    child.record_receipt(
        at=now,
        actor_id=id_of(actor),
        data={"channel": Channel.REVISIT.value, "raised_during_revisit_of": revisit_of},
    )
    session.add(child)
    session.flush()
    return child


def after_revisit(core: App, session: Session, complaint_id: int, now: datetime) -> str:
    """Satisfied -> close (R-RV-14); unsatisfied -> reopen and reassign (R-RV-11). No-op once done."""
    complaint = by_id(session, complaint_id)
    if complaint.status is not S.REVISIT_DUE:
        return "nothing"
    last = session.scalar(
        select(Revisit).where(Revisit.complaint_id == complaint.id).order_by(Revisit.id.desc()).limit(1)
    )
    if last is None or last.done_at is None:
        return "nothing"
    if is_satisfied(last.satisfaction):
        complaint.apply(Action.CLOSE, at=now, note="revisit satisfied (R-RV-14)")
        messages.closing_notice(session, complaint)
        close_duplicates(session, complaint, now)
        return "closed"
    complaint.apply(Action.REOPEN, at=now, note="revisit unsatisfied: rectify and revisit again (R-RV-11)")
    complaint.satisfaction = None
    complaint.revisit_due_at = None
    assign_to(
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
