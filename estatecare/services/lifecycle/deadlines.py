"""The deadline sweep: a missed response, resolution or revisit deadline escalates one level,
once per deadline (R-HD-1, R-HD-3).

A deadline is swept in the states in which it is the complaint's current one, as
``Complaint.current_deadline`` reads it; a resolved complaint waits for its department head,
not its handler, and is not escalated (``Complaint.is_overdue``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from estatecare.app import App
from estatecare.services.lifecycle.common import S
from estatecare.services.lifecycle.escalate import escalate
from models import Complaint, Escalation
from models.enums import DeadlineKind, EscalationKind
from models.lifecycle import ASSIGNED_STATES


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
    """Missed response, resolution or revisit deadlines escalate one level, once per deadline (R-HD-3)."""
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
    return raised
