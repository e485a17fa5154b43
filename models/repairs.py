"""The rules of repair and service requests (報修 → 派工 → 完工 → 回訪), pure: the kind a job
counts as for its revisit (R-RV-4..6), its on-site deadline, and the moves of its status."""

from __future__ import annotations

from datetime import datetime, timedelta

from models.enums import Trade, Urgency, WorkOrderKind, WorkOrderStatus
from models.policy import Repairs

S = WorkOrderStatus

#: (status, step) -> the status after it; a step not listed for a status is refused. The steps are
#: ``WorkOrderAction`` values.
MOVES: dict[tuple[WorkOrderStatus, str], WorkOrderStatus] = {
    (S.REQUESTED, "dispatch"): S.DISPATCHED,
    (S.REQUESTED, "reassign"): S.DISPATCHED,
    (S.DISPATCHED, "reassign"): S.DISPATCHED,
    (S.ARRIVED, "reassign"): S.DISPATCHED,  # the new technician has still to get there
    (S.DISPATCHED, "arrive"): S.ARRIVED,
    (S.ARRIVED, "complete"): S.COMPLETED,
    (S.COMPLETED, "close"): S.CLOSED,
    # an unsatisfied revisit (R-RV-11): requested again, then dispatched as a new request is
    (S.COMPLETED, "reopen"): S.REQUESTED,
}


def next_status(status: WorkOrderStatus, step: str) -> WorkOrderStatus | None:
    """The status after ``step``, or None when the step is not taken in ``status``."""
    return MOVES.get((status, step))


def job_kind(trade: Trade, urgency: Urgency) -> WorkOrderKind:
    """The kind the revisit rules and the monthly draw know a job by: urgent jobs get an immediate
    revisit (R-RV-4), a renovation completion one on site within days (R-RV-5), general repair and
    cleaning join the month's draw (R-RV-6)."""
    if urgency is Urgency.URGENT:
        return WorkOrderKind.URGENT_REPAIR
    if trade is Trade.RENOVATION_COMPLETION:
        return WorkOrderKind.RENOVATION
    if trade is Trade.CLEANING:
        return WorkOrderKind.CLEANING
    return WorkOrderKind.REPAIR


def on_site_due(rules: Repairs, requested_at: datetime, urgency: Urgency, preferred_at: datetime | None) -> datetime:
    """When the technician must be on site: urgent within minutes; otherwise at the time the resident
    booked, or within hours of the request."""
    if urgency is Urgency.URGENT:
        return requested_at + timedelta(minutes=rules.urgent_on_site_minutes)
    if preferred_at is not None:
        return preferred_at
    return requested_at + timedelta(hours=rules.normal_on_site_hours)
