"""Complaints, their append-only history, assignments and escalations."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, event, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, utcnow
from models.enums import (
    Category,
    Channel,
    ComplaintStatus,
    DeadlineKind,
    EscalationKind,
    Locale,
    Role,
    Satisfaction,
    ServiceArea,
    Severity,
    Urgency,
)
from models.lifecycle import ASSIGNED_STATES, Action, IllegalTransition, next_status
from models.permissions import Person, may_see_contact
from models.revisit import is_satisfied


class Complaint(Base):
    """A complaint (投訴) and its current lifecycle state.

    ``version`` is an optimistic lock: a stale write raises instead of overwriting.
    """

    __tablename__ = "complaint"
    __table_args__ = (
        Index("ix_complaint_status_response_due", "status", "response_due_at"),
        Index("ix_complaint_status_resolution_due", "status", "resolution_due_at"),
        Index("ix_complaint_status_revisit_due", "status", "revisit_due_at"),
        Index("ix_complaint_estate_received", "estate_id", "received_at"),
        Index("ix_complaint_estate_category_received", "estate_id", "category", "received_at"),
        Index("ix_complaint_unit_received", "unit_id", "received_at"),
        Index("ix_complaint_assignee_status", "assignee_id", "status"),
        Index("ix_complaint_intake_pending", "intake_done", "received_at"),
        Index("ix_complaint_next_reply_due", "next_reply_due_at"),
        Index("ix_complaint_escalation_due", "escalation_due_at"),
        Index("ix_complaint_rectification_resolved", "rectification", "resolved_at"),  # the report's corrective actions
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estate.id"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    resident_id: Mapped[int | None] = mapped_column(ForeignKey("resident.id"))
    # Complainant data: confidential (R-IN-6); empty name means anonymous (R-IN-4).
    complainant_name: Mapped[str] = mapped_column(String(200), default="")
    contact_phone: Mapped[str] = mapped_column(String(40), default="")
    contact_email: Mapped[str] = mapped_column(String(320), default="")
    locale: Mapped[Locale] = mapped_column(default=Locale.ZH_HANT)
    channel: Mapped[Channel] = mapped_column()
    content: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    received_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    reply_only: Mapped[bool] = mapped_column(default=False)  # superior body wants a written reply only
    # A written complaint's number in the incoming-document log (收文登記簿, R-IN-3).
    incoming_doc_number: Mapped[str] = mapped_column(String(64), default="", server_default="")
    # Assessment (R-AS-1..3)
    category: Mapped[Category | None] = mapped_column()
    service_area: Mapped[ServiceArea | None] = mapped_column()
    valid: Mapped[bool | None] = mapped_column()
    severity: Mapped[Severity] = mapped_column(default=Severity.GENERAL)
    urgency: Mapped[Urgency] = mapped_column(default=Urgency.NORMAL)
    # Lifecycle
    status: Mapped[ComplaintStatus] = mapped_column(default=ComplaintStatus.RECEIVED)
    escalation_level: Mapped[int] = mapped_column(default=0)
    intake_done: Mapped[bool] = mapped_column(default=False)
    # A flow run's claim on this complaint's intake work: two workers never run it at once,
    # and the claim of a run that died expires (distributed mode, docs/operations.md).
    intake_lease_until: Mapped[datetime | None] = mapped_column()
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("complaint.id"), index=True)
    # A new issue raised during a revisit of this earlier complaint (R-RV-10).
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("complaint.id"), index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    response_due_at: Mapped[datetime | None] = mapped_column()
    resolution_due_at: Mapped[datetime | None] = mapped_column()
    revisit_due_at: Mapped[datetime | None] = mapped_column()
    # The reply date promised to the complainant while it is not solved yet (R-HD-5).
    next_reply_due_at: Mapped[datetime | None] = mapped_column()
    # The deadline of the superior at the current escalation level: missed, the chain goes
    # one level further up (R-HD-3). None when nobody up the chain is waited for.
    escalation_due_at: Mapped[datetime | None] = mapped_column()
    first_response_at: Mapped[datetime | None] = mapped_column()
    resolved_at: Mapped[datetime | None] = mapped_column()
    closed_at: Mapped[datetime | None] = mapped_column()
    resolution_text: Mapped[str] = mapped_column(Text, default="")
    # The result put something right that was wrong (整改): listed as a corrective action (R-KP-1).
    rectification: Mapped[bool] = mapped_column(default=False, server_default=false())
    explanation_text: Mapped[str] = mapped_column(Text, default="")
    satisfaction: Mapped[Satisfaction | None] = mapped_column()
    version: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": version}

    events: Mapped[list[ComplaintEvent]] = relationship(
        back_populates="complaint", order_by="ComplaintEvent.seq", cascade="save-update, merge"
    )

    @property
    def anonymous(self) -> bool:
        """No name given (R-IN-4)."""
        return not self.complainant_name.strip()

    def current_deadline(self) -> datetime | None:
        """The deadline of the state the complaint is in: the first response while nobody has
        answered yet, the resolution while assigned (and while the result awaits confirmation),
        the revisit while one is due (R-HD-1, R-RV-3); None when no deadline runs."""
        s = ComplaintStatus
        status = ComplaintStatus(self.status)
        if status in (s.RECEIVED, s.ASSESSED):
            return self.response_due_at if self.first_response_at is None else None
        if status in (s.ASSIGNED, s.REOPENED, s.RESOLVED):
            return self.resolution_due_at
        if status is s.REVISIT_DUE:
            return self.revisit_due_at
        return None

    def is_overdue(self, now: datetime) -> bool:
        """A deadline someone still has to meet has passed. A resolved complaint waits for its
        department head, not its handler: it is not overdue (its SQL twin: ``overdue_clause``)."""
        due = self.current_deadline()
        return due is not None and due < now and ComplaintStatus(self.status) is not ComplaintStatus.RESOLVED

    def contact_visible_to(self, person: Person) -> bool:
        """Whether ``person`` may be shown the complainant's name and contact (R-IN-6)."""
        handled = ComplaintStatus(self.status) in ASSIGNED_STATES
        return may_see_contact(person, estate_id=self.estate_id, assignee_id=self.assignee_id, handled=handled)

    @property
    def needs_revisit(self) -> bool:
        """Valid complaints are revisited unless anonymous or reply-only (R-RV-3, R-IN-4)."""
        return bool(self.valid) and not self.anonymous and not self.reply_only

    def _guard(self, action: Action) -> str | None:
        """Why ``action`` is refused in the current state, or None when it may go ahead."""
        s = ComplaintStatus
        if action is Action.LINK_DUPLICATE and self.duplicate_of_id is None:
            return "no first report to link to (R-IN-5)"
        if action is Action.UNLINK_DUPLICATE and self.duplicate_of_id is None:
            return "the complaint is not linked to a first report (R-IN-5)"
        if action is Action.ASSIGN and self.duplicate_of_id is not None:
            return "a linked duplicate follows its first report and is not assigned (R-IN-5)"
        if action is Action.CLOSE:
            if self.status is s.ASSESSED and self.duplicate_of_id is None:
                return "only a linked duplicate closes without being handled (R-RV-14)"
            if self.status is s.RESOLVED and self.needs_revisit:
                return "a valid complaint is revisited before it closes (R-RV-3, R-RV-14)"
            if self.status is s.REVISIT_DUE and self.needs_revisit and not is_satisfied(self.satisfaction):
                return "no satisfied revisit recorded (R-RV-14)"
        return None

    def record_receipt(
        self, *, at: datetime, actor_id: int | None = None, data: dict[str, Any] | None = None
    ) -> ComplaintEvent:
        """The first history record: the complaint was registered (R-IN-2, R-RC-1)."""
        if self.events:
            raise IllegalTransition(ComplaintStatus(self.status), Action.RECEIVE, "the complaint is already registered")
        record = ComplaintEvent(
            seq=1,
            action=Action.RECEIVE,
            from_status=ComplaintStatus.RECEIVED,
            to_status=ComplaintStatus.RECEIVED,
            actor_id=actor_id,
            at=at,
            data=data or {},
            escalation_level=0,
        )
        self.events.append(record)
        return record

    def apply(
        self,
        action: Action,
        *,
        at: datetime,
        actor_id: int | None = None,
        note: str = "",
        data: dict[str, Any] | None = None,
    ) -> ComplaintEvent:
        """Move the complaint by ``action`` and append the history record (R-RC-1).

        The one chokepoint for state changes: raises :class:`IllegalTransition`
        naming both states when the move is not allowed.
        """
        current = ComplaintStatus(self.status)
        target = next_status(current, action)
        reason = self._guard(action)
        if reason:
            raise IllegalTransition(current, action, reason)
        record = ComplaintEvent(
            seq=len(self.events) + 1,
            action=action,
            from_status=current,
            to_status=target,
            actor_id=actor_id,
            at=at,
            note=note,
            data=data or {},
            escalation_level=self.escalation_level,
        )
        self.events.append(record)
        self.status = target
        if target is ComplaintStatus.CLOSED:
            self.closed_at = at
        return record


class ComplaintEvent(Base):
    """One step of a complaint's history: append-only (R-RC-1)."""

    __tablename__ = "complaint_event"
    __table_args__ = (UniqueConstraint("complaint_id", "seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id"))
    seq: Mapped[int] = mapped_column()
    action: Mapped[Action] = mapped_column()
    from_status: Mapped[ComplaintStatus] = mapped_column()
    to_status: Mapped[ComplaintStatus] = mapped_column()
    escalation_level: Mapped[int] = mapped_column(default=0)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    at: Mapped[datetime] = mapped_column()
    note: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    complaint: Mapped[Complaint] = relationship(back_populates="events")


@event.listens_for(ComplaintEvent, "before_update")
@event.listens_for(ComplaintEvent, "before_delete")
def _refuse_history_change(mapper: Any, connection: Any, target: ComplaintEvent) -> None:
    raise PermissionError("complaint history is append-only (R-RC-1)")


class Assignment(Base):
    """Who handles a complaint and by when: a work arrangement notice (工作安排通知單, R-HD-3)."""

    __tablename__ = "assignment"
    __table_args__ = (Index("ix_assignment_complaint_active", "complaint_id", "active"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id"))
    department_id: Mapped[int] = mapped_column(ForeignKey("department.id"))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    assigned_at: Mapped[datetime] = mapped_column()
    due_at: Mapped[datetime | None] = mapped_column()
    instructions: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(default=True)


class Escalation(Base):
    """A move up the chain: transfer sheet, major report or missed deadline (R-HD-3).

    ``deadline_key`` makes a missed deadline escalate once only.
    """

    __tablename__ = "escalation"
    __table_args__ = (
        UniqueConstraint("deadline_key"),
        Index("ix_escalation_open", "decided_at", "to_role"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id"), index=True)
    kind: Mapped[EscalationKind] = mapped_column()
    level: Mapped[int] = mapped_column()
    to_role: Mapped[Role] = mapped_column()
    raised_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    raised_at: Mapped[datetime] = mapped_column()
    reason: Mapped[str] = mapped_column(Text, default="")
    deadline_kind: Mapped[DeadlineKind | None] = mapped_column()
    deadline_key: Mapped[str | None] = mapped_column(String(120))
    decided_at: Mapped[datetime | None] = mapped_column()
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    decision_note: Mapped[str] = mapped_column(Text, default="")
    decision_department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"))
    decision_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    decision_due_at: Mapped[datetime | None] = mapped_column()
