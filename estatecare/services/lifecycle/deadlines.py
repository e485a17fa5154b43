"""The deadline sweep: a missed response, resolution or revisit deadline escalates one level,
once per deadline (R-HD-1, R-HD-3); a superior who does not decide by the level's deadline
(``Complaint.escalation_due_at``) passes it one level further up, up to the top of the chain.

A deadline is swept in the states in which it is the complaint's current one, as
``Complaint.current_deadline`` reads it; a resolved complaint waits for its department head,
not its handler, and is not escalated (``Complaint.is_overdue``). A level's deadline runs while
a decision can be taken (``DECIDABLE_STATES``): one left there stops (``superior_overdue``).

The same sweep tells a department head of each live job nobody reached by its on-site deadline,
once per deadline (``sweep_job_deadlines``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from estatecare.app import App
from estatecare.services import repairs
from estatecare.services.lifecycle.common import S
from estatecare.services.lifecycle.escalate import chain_role, escalate, top_level
from models import Complaint, Escalation, WorkOrder, WorkOrderEvent
from models.enums import DeadlineKind, EscalationKind, WorkOrderAction, WorkOrderStatus
from models.lifecycle import ASSIGNED_STATES, DECIDABLE_STATES


@dataclass(frozen=True)
class DeadlineCheck:
    """One deadline the sweep watches: its column, and the states in which it runs."""

    kind: DeadlineKind
    due: InstrumentedAttribute[datetime | None]
    states: frozenset[S]
    unanswered_only: bool = False  # runs only until someone first answers the complainant

    def runs(self) -> ColumnElement[bool]:
        """The deadline runs in the complaint's current state."""
        in_state = Complaint.status.in_(sorted(self.states))
        return and_(in_state, Complaint.first_response_at.is_(None)) if self.unanswered_only else in_state


DEADLINE_CHECKS = (
    DeadlineCheck(
        DeadlineKind.RESPONSE, Complaint.response_due_at, frozenset({S.RECEIVED, S.ASSESSED}), unanswered_only=True
    ),
    DeadlineCheck(DeadlineKind.RESOLUTION, Complaint.resolution_due_at, ASSIGNED_STATES),
    DeadlineCheck(DeadlineKind.REVISIT, Complaint.revisit_due_at, frozenset({S.REVISIT_DUE})),
)


def sweep_deadlines(core: App, session: Session, now: datetime, limit: int = 500) -> list[int]:
    """Missed response, resolution or revisit deadlines escalate one level, once per deadline; then
    the levels whose superior did not decide in time go one further up (R-HD-3)."""
    raised: list[int] = []
    for check in DEADLINE_CHECKS:
        kind, column = check.kind, check.due
        rows = session.scalars(
            select(Complaint)
            .where(check.runs(), column.is_not(None), column < now, Complaint.duplicate_of_id.is_(None))
            .order_by(column)
            .limit(limit)
        ).all()
        for complaint in rows:
            due = getattr(complaint, column.key)
            key = f"{kind.value}:{complaint.id}:{due.isoformat()}"
            if session.scalar(select(Escalation.id).where(Escalation.deadline_key == key)) is not None:
                continue
            esc = escalate(
                core,
                session,
                complaint,
                EscalationKind.DEADLINE_MISSED,
                f"{kind.value} deadline {due.isoformat()} missed",
                None,
                now,
                kind,
                key,
            )
            raised.append(esc.id)
    sweep_job_deadlines(core, session, now, limit)
    return raised + sweep_levels(core, session, now, limit)


def superior_overdue(complaint: Complaint, now: datetime, top: int) -> bool:
    """The superior at the complaint's level did not decide by the level's deadline, and there is
    a level above (pure twin of ``level_clause``)."""
    due = complaint.escalation_due_at
    return (
        due is not None
        and due < now
        and S(complaint.status) in DECIDABLE_STATES
        and complaint.escalation_level < top
        and complaint.duplicate_of_id is None
    )


def level_clause(now: datetime, top: int) -> ColumnElement[bool]:
    """SQL twin of :func:`superior_overdue`."""
    return and_(
        Complaint.escalation_due_at.is_not(None),
        Complaint.escalation_due_at < now,
        Complaint.status.in_(sorted(DECIDABLE_STATES)),
        Complaint.escalation_level < top,
        Complaint.duplicate_of_id.is_(None),
    )


def sweep_levels(core: App, session: Session, now: datetime, limit: int = 500) -> list[int]:
    """Each level whose superior did not decide in time passes the complaint one level up, with the
    next level's deadline (none at the top), once per level deadline (R-HD-3). A complaint that
    left the states in which a decision is taken stops its level's clock."""
    session.execute(
        update(Complaint)
        .where(Complaint.escalation_due_at.is_not(None), Complaint.status.not_in(sorted(DECIDABLE_STATES)))
        .values(escalation_due_at=None)
        .execution_options(synchronize_session=False)
    )
    top = top_level(core)
    rows = session.scalars(
        select(Complaint).where(level_clause(now, top)).order_by(Complaint.escalation_due_at).limit(limit)
    ).all()
    raised: list[int] = []
    for complaint in rows:
        due = complaint.escalation_due_at
        assert due is not None
        key = f"level:{complaint.id}:{due.isoformat()}"
        if session.scalar(select(Escalation.id).where(Escalation.deadline_key == key)) is not None:
            continue
        below = chain_role(core, complaint.escalation_level).value
        reason = f"no decision by the {below} (level {complaint.escalation_level}) by {due.isoformat()}"
        esc = escalate(core, session, complaint, EscalationKind.DEADLINE_MISSED, reason, None, now, None, key)
        raised.append(esc.id)
    return raised


#: A live job nobody is on site for yet: its on-site deadline runs.
NOT_ON_SITE = (WorkOrderStatus.REQUESTED, WorkOrderStatus.DISPATCHED)


def sweep_job_deadlines(core: App, session: Session, now: datetime, limit: int = 500) -> list[int]:
    """Live jobs nobody reached by their on-site deadline go to the department head, once per job and
    deadline: an ``overdue`` history row recorded after the deadline marks it told. A reopened job's
    new deadline lies after that row, so it may be missed, and told, again. The ids of the rows."""
    told = exists().where(
        WorkOrderEvent.work_order_id == WorkOrder.id,
        WorkOrderEvent.action == WorkOrderAction.OVERDUE,
        WorkOrderEvent.at > WorkOrder.on_site_due_at,
    )
    rows = session.scalars(
        select(WorkOrder)
        .where(
            WorkOrder.status.in_(NOT_ON_SITE),
            WorkOrder.on_site_due_at.is_not(None),
            WorkOrder.on_site_due_at < now,
            ~told,
        )
        .order_by(WorkOrder.on_site_due_at)
        .limit(limit)
    ).all()
    return [repairs.mark_overdue(core, session, order, now).id for order in rows]
