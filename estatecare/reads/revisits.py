"""Revisits as staff read them: the service centre's list (to do, done, awaiting review) and one revisit."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from estatecare.app import App
from estatecare.services.errors import Forbidden, NotFound
from estatecare.services.people import Actor, in_estate, require_estate, require_role
from models import Building, Complaint, Estate, Resident, Revisit, SampleItem, SamplingDraw, Staff, Unit, WorkOrder
from models.permissions import SUPERVISORS, VISITORS
from notifications.catalogue import mask_phone


class RevisitItem(BaseModel):
    """A line of the revisit list: what to revisit, how, by when, and (once done) the outcome."""

    id: int
    estate: str
    kind: str
    method: str
    sequence: int
    due_at: datetime
    overdue: bool
    visitor: str | None  # the staff member's email: who they are to the API
    visitor_name: str | None = None  # their name, for pages
    complaint: str | None  # complaint revisits are recorded on the complaint (POST /api/complaints/{ref}/revisits)
    work_order: str | None
    work_order_kind: str | None
    sample_month: str | None  # the monthly draw that picked the order (R-RV-6)
    unit: str | None
    resident_name: str | None  # contact only for the service centre and supervisors (R-IN-6)
    resident_phone: str
    done_at: datetime | None
    satisfaction: str | None
    answers: dict[str, str] = {}  # the questions asked (R-RV-7): punctuality, attitude, quality, ...
    signed: bool
    refusal_note: str
    new_issue: str
    new_complaint: str | None
    next_reply_at: datetime | None
    reviewed_at: datetime | None  # the supervisor's review (R-RV-9)
    reviewed_by: str | None
    reviewed_by_name: str | None = None
    supervisor_opinion: str
    open_letter_ref: str  # the open letter that answered it, filed with it (R-RV-12)
    # A suggestion revisit (R-RV-2): the revisit the suggestion was made at, the complaint or work
    # order that revisit followed up, and the suggestion itself.
    source_revisit_id: int | None = None
    subject: str | None = None
    suggestion: str = ""


class RevisitPage(BaseModel):
    """A page of the revisit list."""

    total: int
    items: list[RevisitItem]


def revisit_page(
    core: App,
    session: Session,
    actor: Actor,
    estate: str | None,
    due_before: datetime | None,
    done: bool | None,
    limit: int,
    offset: int,
    now: datetime,
    reviewed: bool | None = None,
) -> RevisitPage:
    """The revisits of the actor's estate (leaders: any), soonest due first; ``done=False`` is the to-do list,
    ``done=True, reviewed=False`` the records awaiting the supervisor's review (R-RV-9)."""
    query: Select[tuple[Revisit, str]] = select(Revisit, Estate.code).join(Estate, Estate.id == Revisit.estate_id)
    if estate:
        estate_id = session.scalar(select(Estate.id).where(Estate.code == estate))
        if estate_id is None:
            raise NotFound(f"no estate with code {estate!r}")
        if not in_estate(actor, estate_id):
            raise Forbidden("you may list your own estate's revisits only")
        query = query.where(Revisit.estate_id == estate_id)
    elif actor.estate_id is not None:
        query = query.where(Revisit.estate_id == actor.estate_id)
    if due_before is not None:
        if due_before.tzinfo is None:  # a date or a local time: the policy's timezone
            due_before = due_before.replace(tzinfo=core.policy.tz)
        query = query.where(Revisit.due_at < due_before)
    if done is not None:
        query = query.where(Revisit.done_at.is_not(None) if done else Revisit.done_at.is_(None))
    if reviewed is not None:
        query = query.where(Revisit.reviewed_at.is_not(None) if reviewed else Revisit.reviewed_at.is_(None))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.order_by(Revisit.due_at, Revisit.id).limit(limit).offset(offset)).all()
    return RevisitPage(total=total, items=items(session, actor, [(r, code) for r, code in rows], now))


def revisit_item(session: Session, actor: Actor, revisit_id: int, now: datetime) -> RevisitItem:
    """One revisit, a work order's or a complaint's, for its page (staff of its estate, or leaders)."""
    row = session.execute(
        select(Revisit, Estate.code).join(Estate, Estate.id == Revisit.estate_id).where(Revisit.id == revisit_id)
    ).first()
    if row is None:
        raise NotFound(f"no revisit with id {revisit_id}")
    require_estate(actor, row[0].estate_id, "revisit")
    [item] = items(session, actor, [(row[0], row[1])], now)
    return item


def signature_png(session: Session, actor: Actor, revisit_id: int) -> bytes:
    """The resident's signature of an on-site revisit (R-RV-8), for those who may open its page."""
    row = session.execute(select(Revisit.estate_id, Revisit.signature_png).where(Revisit.id == revisit_id)).first()
    if row is None:
        raise NotFound(f"no revisit with id {revisit_id}")
    estate_id, png = row
    require_estate(actor, estate_id, "revisit")
    require_role(actor, VISITORS, "a revisit record")
    if not png:
        raise NotFound("no signature")
    return bytes(png)


def items(session: Session, actor: Actor, rows: list[tuple[Revisit, str]], now: datetime) -> list[RevisitItem]:
    """Fill the lines: one query per related table for the whole page."""
    revisits = [r for r, _ in rows]

    def by_id(ids: list[int], query: Select[tuple[int, str]]) -> dict[int, str]:
        return {k: v for k, v in session.execute(query)} if ids else {}

    staff_ids = [i for r in revisits for i in (r.visitor_id, r.reviewed_by_id) if i is not None]
    staff = {
        sid: (email, name)
        for sid, email, name in session.execute(
            select(Staff.id, Staff.email, Staff.name).where(Staff.id.in_(staff_ids))
        )
    }
    ref_ids = [i for r in revisits for i in (r.complaint_id, r.new_complaint_id) if i is not None]
    complaints = by_id(ref_ids, select(Complaint.id, Complaint.reference).where(Complaint.id.in_(ref_ids)))
    complaint_ids = [r.complaint_id for r in revisits if r.complaint_id is not None]
    complaint_units = {
        cid: uid
        for cid, uid in session.execute(
            select(Complaint.id, Complaint.unit_id).where(
                Complaint.id.in_(complaint_ids), Complaint.unit_id.is_not(None)
            )
        )
    }
    order_ids = [r.work_order_id for r in revisits if r.work_order_id is not None]
    orders = {o.id: o for o in session.scalars(select(WorkOrder).where(WorkOrder.id.in_(order_ids)))}
    resident_ids = [o.resident_id for o in orders.values() if o.resident_id is not None]
    residents = {p.id: p for p in session.scalars(select(Resident).where(Resident.id.in_(resident_ids)))}

    def unit_of(revisit: Revisit) -> int | None:
        """The unit a revisit is about: its complaint's, or its work order's (else its resident's)."""
        if revisit.complaint_id is not None:
            return complaint_units.get(revisit.complaint_id)
        order = orders.get(revisit.work_order_id) if revisit.work_order_id is not None else None
        if order is None:
            return None
        resident = residents.get(order.resident_id) if order.resident_id is not None else None
        return order.unit_id if order.unit_id is not None else resident.unit_id if resident else None

    unit_ids = {r.id: unit_of(r) for r in revisits}
    units = {
        uid: f"{b} {n}"
        for uid, b, n in session.execute(
            select(Unit.id, Building.name, Unit.number)
            .join(Building)
            .where(Unit.id.in_({u for u in unit_ids.values() if u is not None}))
        )
    }
    item_ids = [r.sample_item_id for r in revisits if r.sample_item_id is not None]
    months = by_id(
        item_ids,
        select(SampleItem.id, SamplingDraw.month).join(SamplingDraw).where(SampleItem.id.in_(item_ids)),
    )
    sees_contact = actor.role in SUPERVISORS | VISITORS  # R-IN-6; estate already checked
    out = []
    for r, code in rows:
        order = orders.get(r.work_order_id) if r.work_order_id else None
        resident = residents.get(order.resident_id) if order and order.resident_id else None
        # a requested job carries the contact the resident gave; an order registered as finished, its resident's
        name, phone = (
            (order.contact_name, order.contact_phone)
            if order and order.contact_name
            else (resident.name, resident.phone)
            if resident
            else ("", "")
        )
        source = suggestion_source(session, r, sees_contact)
        out.append(
            RevisitItem(
                id=r.id,
                estate=code,
                kind=r.kind.value,
                method=r.method.value,
                sequence=r.sequence,
                due_at=r.due_at,
                overdue=r.done_at is None and r.due_at < now,
                visitor=staff[r.visitor_id][0] if r.visitor_id in staff else None,
                visitor_name=staff[r.visitor_id][1] if r.visitor_id in staff else None,
                complaint=complaints.get(r.complaint_id) if r.complaint_id else None,
                work_order=order.reference if order else None,
                work_order_kind=order.kind.value if order else None,
                sample_month=months.get(r.sample_item_id) if r.sample_item_id else None,
                unit=units.get(unit_id) if (unit_id := unit_ids[r.id]) is not None else None,
                resident_name=name if name and sees_contact else None,
                resident_phone=phone if sees_contact else mask_phone(phone),
                done_at=r.done_at,
                satisfaction=r.satisfaction.value if r.satisfaction else None,
                answers={k: str(v) for k, v in (r.answers or {}).items() if v},
                signed=r.signature_png is not None,
                refusal_note=r.refusal_note,
                new_issue=r.new_issue,
                new_complaint=complaints.get(r.new_complaint_id) if r.new_complaint_id else None,
                next_reply_at=r.next_reply_at,
                reviewed_at=r.reviewed_at,
                reviewed_by=staff[r.reviewed_by_id][0] if r.reviewed_by_id in staff else None,
                reviewed_by_name=staff[r.reviewed_by_id][1] if r.reviewed_by_id in staff else None,
                supervisor_opinion=r.supervisor_opinion,
                open_letter_ref=r.open_letter_ref,
            ).model_copy(update=source)
        )
    return out


def suggestion_source(session: Session, revisit: Revisit, sees_contact: bool) -> dict[str, Any]:
    """A suggestion revisit's fields (R-RV-2): where the suggestion came from, the unit and the
    resident of the complaint or work order it goes back to; nothing for other revisits."""
    if revisit.source_revisit_id is None or revisit.complaint_id is not None or revisit.work_order_id is not None:
        return {}
    source = session.get(Revisit, revisit.source_revisit_id)
    assert source is not None
    root = source
    while root.complaint_id is None and root.work_order_id is None and root.source_revisit_id is not None:
        parent = session.get(Revisit, root.source_revisit_id)
        assert parent is not None
        root = parent
    complaint = session.get(Complaint, root.complaint_id) if root.complaint_id is not None else None
    order = session.get(WorkOrder, root.work_order_id) if root.work_order_id is not None else None
    resident = session.get(Resident, order.resident_id) if order and order.resident_id else None
    unit_id = complaint.unit_id if complaint else order.unit_id if order else None
    unit = session.get(Unit, unit_id) if unit_id is not None else None
    name = complaint.complainant_name if complaint else resident.name if resident else ""
    phone = complaint.contact_phone if complaint else resident.phone if resident else ""
    return {
        "source_revisit_id": source.id,
        "subject": complaint.reference if complaint else order.reference if order else None,
        "suggestion": (source.answers or {}).get("suggestions", ""),
        "unit": unit.label if unit else None,
        "resident_name": name if sees_contact else None,
        "resident_phone": phone if sees_contact else mask_phone(phone),
    }
