"""Work orders and their history, revisits and the monthly sampling draws."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint, event, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow
from models.enums import (
    Channel,
    Locale,
    RevisitKind,
    RevisitMethod,
    Role,
    Satisfaction,
    Trade,
    Urgency,
    WorkOrderAction,
    WorkOrderKind,
    WorkOrderStatus,
)
from models.permissions import Person, may_see_contact

#: A job someone is to do or is doing: it counts towards its technician's open jobs.
OPEN_JOB_STATES = frozenset({WorkOrderStatus.DISPATCHED, WorkOrderStatus.ARRIVED})


def is_satisfied(satisfaction: Satisfaction | str | None) -> bool:
    """Satisfied or basically satisfied: the resident's answer that lets a complaint close
    (R-RV-14) and counts as satisfied in the statistics (R-KP-2)."""
    return satisfaction in (Satisfaction.SATISFIED, Satisfaction.BASICALLY_SATISFIED)


def must_be_on_site(sequence: int, planned: RevisitMethod | None = None, *, complaint_valid: bool = False) -> bool:
    """Whether revisit number ``sequence`` must be made on site: the first revisit of a valid
    complaint (R-RV-3), or a first revisit the plan (a draw, a major job) put on site;
    from the 2nd revisit on the phone will do (R-RV-10)."""
    return sequence == 1 and (complaint_valid or planned is RevisitMethod.ON_SITE)


def must_be_made_by(sequence: int, *, complaint_valid: bool) -> Role | None:
    """Who must make revisit number ``sequence`` of a complaint in person: the service-centre manager
    for the first revisit of a valid complaint (R-RV-3); None from the 2nd revisit on, and for an
    invalid complaint, when anyone who may revisit will do (R-RV-10)."""
    return Role.SERVICE_CENTRE_MANAGER if sequence == 1 and complaint_valid else None


def is_late_record(recorded_at: datetime, record_due: datetime) -> bool:
    """A revisit record written after it was due (``Deadlines.revisit_record_due(done_at)``: the
    same or the next day) is late (R-RV-13)."""
    return recorded_at > record_due


class WorkOrder(Base):
    """A job for a resident (派工單): requested, dispatched to a technician, done on site, revisited
    (R-RV-4..6). Orders registered as finished are ``completed`` from the start. ``draw_id`` puts
    it in exactly one draw (R-RV-6); ``version`` is an optimistic lock, as a complaint's."""

    __tablename__ = "work_order"
    __table_args__ = (
        # the draw's population (R-RV-6): orders in no draw yet, and only those, so marking an
        # order with its draw takes it out of the index instead of moving it inside
        Index(
            "ix_work_order_undrawn",
            "estate_id",
            "kind",
            "completed_at",
            sqlite_where=text("draw_id IS NULL"),
            postgresql_where=text("draw_id IS NULL"),
        ),
        Index("ix_work_order_estate_completed", "estate_id", "completed_at"),
        Index("ix_work_order_handler_status", "handler_id", "status"),
        Index("ix_work_order_status_on_site_due", "status", "on_site_due_at"),  # the deadline sweep's late jobs
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estate.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("resident.id"))
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaint.id"))
    kind: Mapped[WorkOrderKind] = mapped_column()
    description: Mapped[str] = mapped_column(Text, default="")
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    handler_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column()
    draw_id: Mapped[int | None] = mapped_column(ForeignKey("sampling_draw.id"))
    status: Mapped[WorkOrderStatus] = mapped_column(
        default=WorkOrderStatus.COMPLETED, server_default=WorkOrderStatus.COMPLETED.value
    )
    channel: Mapped[Channel | None] = mapped_column()
    trade: Mapped[Trade | None] = mapped_column()  # None: registered as finished with its kind only
    urgency: Mapped[Urgency] = mapped_column(default=Urgency.NORMAL, server_default=Urgency.NORMAL.value)
    # the resident's contact for this job, confidential (R-IN-6)
    contact_name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    contact_phone: Mapped[str] = mapped_column(String(40), default="", server_default="")
    contact_email: Mapped[str] = mapped_column(String(320), default="", server_default="")
    locale: Mapped[Locale] = mapped_column(default=Locale.ZH_HANT, server_default=Locale.ZH_HANT.value)
    preferred_at: Mapped[datetime | None] = mapped_column()  # the time the resident booked
    on_site_due_at: Mapped[datetime | None] = mapped_column()
    dispatched_at: Mapped[datetime | None] = mapped_column()
    arrived_at: Mapped[datetime | None] = mapped_column()
    work_done: Mapped[str] = mapped_column(Text, default="", server_default="")
    materials: Mapped[str] = mapped_column(Text, default="", server_default="")
    charge_cents: Mapped[int | None] = mapped_column()  # what the resident was charged, in cents
    signature_png: Mapped[bytes | None] = mapped_column(LargeBinary)  # the resident's sign-off
    refusal_note: Mapped[str] = mapped_column(Text, default="", server_default="")
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}

    def contact_visible_to(self, person: Person) -> bool:
        """Whether ``person`` may be shown the resident's name and contact (R-IN-6): the service
        centre and supervisors, and the technician while the job is theirs and open."""
        handled = self.status in OPEN_JOB_STATES
        return may_see_contact(person, estate_id=self.estate_id, assignee_id=self.handler_id, handled=handled)

    @property
    def is_live(self) -> bool:
        """A live job came in as a request, through a channel (phone, online, ...), and went through
        dispatch, arrival and completion; an order registered as already finished has no channel."""
        return self.channel is not None


class WorkOrderEvent(Base):
    """One step of a job's history, append-only (R-RC-1): who took it, when, what, from which status
    to which (``from_status`` None for the request, the first record), and the technician the job is
    with after it. ``data`` keeps the step's facts, and what a reopening cleared from the job."""

    __tablename__ = "work_order_event"
    __table_args__ = (UniqueConstraint("work_order_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_order.id"))
    seq: Mapped[int] = mapped_column()
    at: Mapped[datetime] = mapped_column()
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))  # None: the resident online
    action: Mapped[WorkOrderAction] = mapped_column()
    from_status: Mapped[WorkOrderStatus | None] = mapped_column()
    to_status: Mapped[WorkOrderStatus] = mapped_column()
    technician_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


@event.listens_for(WorkOrderEvent, "before_update")
@event.listens_for(WorkOrderEvent, "before_delete")
def _refuse_history_change(mapper: Any, connection: Any, target: WorkOrderEvent) -> None:
    raise PermissionError("a job's history is append-only (R-RC-1)")


class Revisit(Base):
    """One revisit (回訪): due, then recorded with answers and signature (R-RV-1..13)."""

    __tablename__ = "revisit"
    __table_args__ = (
        Index("ix_revisit_due_open", "done_at", "due_at"),
        Index("ix_revisit_estate_done", "estate_id", "done_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estate.id"))
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaint.id"), index=True)
    work_order_id: Mapped[int | None] = mapped_column(ForeignKey("work_order.id"), index=True)
    kind: Mapped[RevisitKind] = mapped_column()
    method: Mapped[RevisitMethod] = mapped_column()
    sequence: Mapped[int] = mapped_column(default=1)  # 1st, 2nd, ... revisit (R-RV-10)
    visitor_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    due_at: Mapped[datetime] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column()
    recorded_at: Mapped[datetime | None] = mapped_column()
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    satisfaction: Mapped[Satisfaction | None] = mapped_column()
    signature_png: Mapped[bytes | None] = mapped_column(LargeBinary)
    refusal_note: Mapped[str] = mapped_column(Text, default="")
    new_issue: Mapped[str] = mapped_column(Text, default="")
    new_complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaint.id"))
    next_reply_at: Mapped[datetime | None] = mapped_column()
    open_letter_ref: Mapped[str] = mapped_column(String(64), default="")
    supervisor_opinion: Mapped[str] = mapped_column(Text, default="")
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    reviewed_at: Mapped[datetime | None] = mapped_column()
    sample_item_id: Mapped[int | None] = mapped_column(ForeignKey("sample_item.id"), index=True)
    # A suggestion revisit follows up the suggestion recorded at this earlier revisit (R-RV-2).
    source_revisit_id: Mapped[int | None] = mapped_column(ForeignKey("revisit.id"), index=True)


class SamplingDraw(Base):
    """A monthly draw of an estate's work orders (R-RV-6): reproducible from ``seed``."""

    __tablename__ = "sampling_draw"
    __table_args__ = (UniqueConstraint("estate_id", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estate.id"))
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    rule: Mapped[str] = mapped_column(String(40))
    seed: Mapped[int] = mapped_column()
    cutoff_at: Mapped[datetime] = mapped_column()
    drawn_at: Mapped[datetime] = mapped_column(default=utcnow)
    population_count: Mapped[int] = mapped_column()
    sample_size: Mapped[int] = mapped_column()
    on_site_count: Mapped[int] = mapped_column()
    revisits_due_at: Mapped[datetime] = mapped_column()


class SampleItem(Base):
    """A work order picked by a draw, with the revisit method it gets."""

    __tablename__ = "sample_item"
    __table_args__ = (UniqueConstraint("draw_id", "work_order_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    draw_id: Mapped[int] = mapped_column(ForeignKey("sampling_draw.id"), index=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_order.id"), unique=True)
    method: Mapped[RevisitMethod] = mapped_column()
    position: Mapped[int] = mapped_column()
