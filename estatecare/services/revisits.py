"""Revisits: the service centre's to-do list, recording a work order's revisit, and the
supervisor's review of any done revisit.

The monthly draw (R-RV-6) and major jobs (R-RV-4, R-RV-5) create ``Revisit`` rows tied to a
work order; this module lists them and records what the visitor found. Complaint revisits
stay with the complaint lifecycle (``lifecycle.record_revisit``), which moves the complaint;
both share the record's checks and fields (``lifecycle.check_revisit_record``,
``lifecycle.write_revisit_record``). A done revisit of either kind is then reviewed by a
supervisor who signs an opinion (R-RV-9, ``review_revisit``); the review moves nothing on.
Several due revisits about one shared problem may be answered together by one open letter,
filed with each (R-RV-12, ``answer_by_open_letter``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from estatecare.app import App
from estatecare.reads import revisits as reads_revisits
from estatecare.services.errors import ConflictError, Forbidden, InvalidInput, NotFound, WrongState
from estatecare.services.lifecycle.revisit import (
    arrange_suggestion_revisit,
    check_revisit_record,
    complaint_from_revisit,
    revisit_done_at,
    revisit_subject,
    write_revisit_record,
)
from estatecare.services.people import Actor, check_step, in_estate
from estatecare.services.schemas import OpenLetterIn, ReviewIn, RevisitRecordIn
from models import Complaint, Estate, Revisit, WorkOrder
from models.enums import RevisitMethod, Satisfaction
from models.permissions import Case, Step
from models.revisit import must_be_on_site


def _revisit_for(session: Session, actor: Actor | None, revisit_id: int, step: Step) -> Revisit:
    """The revisit a step is about, once the permissions matrix lets the actor take the step."""
    [(revisit, _)] = _revisits_for(session, actor, [revisit_id], step)
    return revisit


def _revisits_for(
    session: Session, actor: Actor | None, revisit_ids: list[int], step: Step
) -> list[tuple[Revisit, str]]:
    """The revisits a step is about, in ``revisit_ids`` order with their estate's code, once the
    actor's estate and the permissions matrix allow the step on every one; refusals name the ids refused."""
    rows = {
        r.id: (r, code)
        for r, code in session.execute(
            select(Revisit, Estate.code).join(Estate, Estate.id == Revisit.estate_id).where(Revisit.id.in_(revisit_ids))
        )
    }
    if missing := [i for i in revisit_ids if i not in rows]:
        raise NotFound(f"no revisit with id {_listed(missing)}")
    if foreign := [i for i in revisit_ids if not in_estate(actor, rows[i][0].estate_id)]:
        raise Forbidden(f"{_revisits(foreign)} {'belongs' if len(foreign) == 1 else 'belong'} to another estate")
    for i in revisit_ids:
        check_step(
            actor, step, revisit_case(rows[i][0]), hidden=Forbidden(f"{_revisits([i])} belongs to another estate")
        )
    return [rows[i] for i in revisit_ids]


def revisit_case(revisit: Revisit) -> Case:
    """The facts of a revisit the matrix decides on: its estate, and who recorded it once done (R-RV-9)."""
    return Case(estate_id=revisit.estate_id, visitor_id=revisit.visitor_id if revisit.done_at is not None else None)


def _listed(ids: list[int]) -> str:
    return ", ".join(str(i) for i in ids)


def _revisits(ids: list[int]) -> str:
    """``revisit 7`` or ``revisits 7, 9``: the ids an answer names."""
    return f"revisit{'' if len(ids) == 1 else 's'} {_listed(ids)}"


def _claim(session: Session, revisit_id: int, *still: ColumnElement[bool], **values: Any) -> bool:
    """Write ``values`` only while ``still`` holds: of two people acting at once, one wins."""
    claimed = session.execute(
        update(Revisit)
        .where(Revisit.id == revisit_id, *still)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(claimed.rowcount == 1)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class OrderRevisitOutcome:
    """What recording a work order's (or a suggestion's) revisit led to."""

    revisit: Revisit
    work_order: WorkOrder | None  # None: a suggestion revisit (R-RV-2)
    late_record: bool
    follow_up: Revisit | None  # the next revisit after an unsatisfied one (R-RV-11)
    new_complaint: Complaint | None  # a new issue raised during the revisit (R-RV-10)
    suggestion_revisit: Revisit | None = None  # a suggestion made during the revisit (R-RV-2)


def record_order_revisit(
    core: App, session: Session, revisit_id: int, data: RevisitRecordIn, actor: Actor | None, now: datetime
) -> OrderRevisitOutcome:
    """Record a work order's revisit, or a suggestion revisit (R-RV-2): method, answers, satisfaction,
    signature or refusal note (R-RV-7, R-RV-8). Unsatisfied: the next revisit is set for
    ``next_reply_at`` (R-RV-11); a new issue becomes a new complaint about the resident's unit
    (R-RV-10); a suggestion gets its own revisit (R-RV-2)."""
    revisit = _revisit_for(session, actor, revisit_id, Step.REVISIT)
    if revisit.complaint_id is not None:
        reference = session.scalar(select(Complaint.reference).where(Complaint.id == revisit.complaint_id))
        raise ConflictError(
            f"revisit {revisit_id} is complaint {reference}'s revisit: record it on the complaint "
            f"(POST /api/complaints/{reference}/revisits), which moves the complaint on"
        )
    if revisit.done_at is not None:
        raise WrongState(f"revisit {revisit_id} is already done (recorded {revisit.recorded_at:%Y-%m-%d})", "done")
    order = session.get(WorkOrder, revisit.work_order_id) if revisit.work_order_id is not None else None
    if data.method is not RevisitMethod.ON_SITE and must_be_on_site(revisit.sequence, revisit.method):
        raise InvalidInput(
            "method",
            "this revisit is planned on site (the draw's on-site share, R-RV-6, or a renovation, R-RV-5); "
            "phone is allowed from the 2nd revisit (R-RV-10)",
        )
    if data.satisfaction is Satisfaction.UNSATISFIED and data.next_reply_at is None:
        raise InvalidInput("next_reply_at", "an unsatisfied revisit sets the date of the next revisit (R-RV-11)")
    if data.next_reply_at is not None:
        if data.next_reply_at.tzinfo is None:
            raise InvalidInput("next_reply_at", "give the time with its timezone offset")
        if data.next_reply_at <= now:
            raise InvalidInput("next_reply_at", "must be in the future")
    record = check_revisit_record(data, now)
    # Claim the revisit: of two people recording it at once, one wins and the other gets 409.
    if not _claim(session, revisit.id, Revisit.done_at.is_(None), done_at=record.done_at):
        raise WrongState(f"revisit {revisit_id} was recorded by someone else just now", "done")
    late = write_revisit_record(core, revisit, data, record, actor, now)
    follow_up = None
    if data.satisfaction is Satisfaction.UNSATISFIED:
        assert data.next_reply_at is not None
        follow_up = Revisit(
            estate_id=revisit.estate_id,
            work_order_id=revisit.work_order_id,
            source_revisit_id=revisit.source_revisit_id,
            kind=revisit.kind,
            method=data.method,  # from the 2nd revisit on, phone is allowed (R-RV-10)
            sequence=revisit.sequence + 1,
            visitor_id=revisit.visitor_id,
            due_at=data.next_reply_at,
            created_at=now,
        )
        session.add(follow_up)
    subject_ref, resident = revisit_subject(core, session, revisit)
    new = None
    if data.new_issue:
        new = complaint_from_revisit(
            core,
            session,
            Complaint(
                estate_id=revisit.estate_id,
                unit_id=resident.unit_id,
                resident_id=resident.resident_id,
                complainant_name=resident.complainant_name,
                contact_phone=resident.contact_phone,
                contact_email=resident.contact_email,
                locale=resident.locale,
            ),
            data.new_issue,
            subject_ref,
            actor,
            now,
        )
        revisit.new_complaint_id = new.id
    suggestion = None
    if data.suggestions:
        suggestion = arrange_suggestion_revisit(core, session, revisit, data.suggestions, subject_ref, resident, now)
    session.flush()
    return OrderRevisitOutcome(revisit, order, late, follow_up, new, suggestion)


class RecordedRevisit(BaseModel):
    """A work order's revisit after it was recorded."""

    id: int
    work_order: str | None  # None: a suggestion revisit (R-RV-2)
    source_revisit_id: int | None  # a suggestion revisit: the revisit the suggestion was made at
    done_at: datetime
    satisfaction: str
    signed: bool
    late_record: bool  # recorded after the same or next day (R-RV-13)
    follow_up_id: int | None
    follow_up_due_at: datetime | None
    new_complaint: str | None
    suggestion_revisit_id: int | None  # the revisit of a suggestion made during this one (R-RV-2)


def recorded(outcome: OrderRevisitOutcome) -> RecordedRevisit:
    """The API's answer for a recorded revisit."""
    r = outcome.revisit
    assert r.done_at is not None and r.satisfaction is not None
    return RecordedRevisit(
        id=r.id,
        work_order=outcome.work_order.reference if outcome.work_order else None,
        source_revisit_id=r.source_revisit_id,
        done_at=r.done_at,
        satisfaction=r.satisfaction.value,
        signed=r.signature_png is not None,
        late_record=outcome.late_record,
        follow_up_id=outcome.follow_up.id if outcome.follow_up else None,
        follow_up_due_at=outcome.follow_up.due_at if outcome.follow_up else None,
        new_complaint=outcome.new_complaint.reference if outcome.new_complaint else None,
        suggestion_revisit_id=outcome.suggestion_revisit.id if outcome.suggestion_revisit else None,
    )


def review_revisit(session: Session, actor: Actor, revisit_id: int, data: ReviewIn, now: datetime) -> Revisit:
    """The supervisor reviews a done revisit record and signs an opinion (R-RV-9): a complaint's or a
    work order's. Supervisors (property supervisor, service-centre manager) of the revisit's estate,
    or leaders, review; not the person who recorded the revisit. Written once: a second review is 409."""
    revisit = _revisit_for(session, actor, revisit_id, Step.REVIEW)  # not by its visitor (``revisit_case``)
    if revisit.done_at is None:
        raise WrongState(
            f"revisit {revisit_id} is not recorded yet (due {revisit.due_at:%Y-%m-%d}): a record is reviewed once done",
            "due",
        )
    if revisit.reviewed_at is not None:
        raise WrongState(f"revisit {revisit_id} is already reviewed ({revisit.reviewed_at:%Y-%m-%d})", "reviewed")
    if not _claim(session, revisit.id, Revisit.done_at.is_not(None), Revisit.reviewed_at.is_(None), reviewed_at=now):
        raise WrongState(f"revisit {revisit_id} was reviewed by someone else just now", "reviewed")
    revisit.supervisor_opinion = data.opinion
    revisit.reviewed_by_id = actor.id
    revisit.reviewed_at = now
    session.flush()
    return revisit


def answer_by_open_letter(
    session: Session, actor: Actor, data: OpenLetterIn, now: datetime
) -> list[reads_revisits.RevisitItem]:
    """Answer several due revisits about one shared problem with one open letter (R-RV-12): each
    is recorded done by letter (R-RV-1) with the letter's reference, the letter being filed with
    each. All or none, in one transaction; a refusal names the revisits refused.

    A letter gets no answer from the resident: no satisfaction, answers or signature are recorded,
    and the monthly report counts these revisits as done by letter but not rated. So complaint
    revisits are refused (a complaint closes only on its resident's satisfied answer, R-RV-14), and
    so is a first revisit planned on site (R-RV-5, R-RV-6), as when recording one by phone."""
    rows = _revisits_for(session, actor, data.revisit_ids, Step.REVISIT)
    answered = [r for r, _ in rows]
    if complaints := [r.id for r in answered if r.complaint_id is not None]:
        raise ConflictError(
            f"a letter does not answer complaint revisits ({_revisits(complaints)}): a complaint closes only on "
            "its resident's answer (R-RV-14), so record each on its complaint (POST /api/complaints/REF/revisits)"
        )
    if done := [r.id for r in answered if r.done_at is not None]:
        raise WrongState(f"{_revisits(done)} already done: a letter answers due revisits only", "done")
    if on_site := [r.id for r in answered if must_be_on_site(r.sequence, r.method)]:
        raise InvalidInput(
            "revisit_ids",
            f"{_revisits(on_site)} planned on site (the draw's on-site share, R-RV-6, or a renovation, R-RV-5): "
            "the first revisit is made on site",
        )
    done_at = revisit_done_at(data.done_at, now)
    # Claim each, in id order so that two letters over the same revisits wait for each other rather
    # than deadlock: of two people answering a revisit at once, one wins; the other's whole letter
    # is rolled back (409).
    for revisit_id in sorted(data.revisit_ids):
        if not _claim(session, revisit_id, Revisit.done_at.is_(None), done_at=done_at):
            raise WrongState(f"revisit {revisit_id} was recorded by someone else just now: none was recorded", "done")
    for revisit in answered:
        revisit.method = RevisitMethod.LETTER
        revisit.visitor_id = actor.id
        revisit.done_at = done_at
        revisit.recorded_at = now
        revisit.open_letter_ref = data.letter_ref
    session.flush()
    return reads_revisits.items(session, actor, rows, now)
