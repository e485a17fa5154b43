"""Claims on intake work, so that several workers (distributed mode) never run the same
complaint's intake at once, and the work of a run that died is picked up again.

A claim is a lease: ``complaint.intake_lease_until`` set by one conditional UPDATE that
re-checks the claimable condition (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so two
claims running at the same moment take disjoint sets without waiting on each other).
A run releases its claims when it ends; a run killed mid-way leaves them to expire.
The lease is an optimisation of who does the work, not the guarantee of exactly once:
every step stays idempotent (state checks, the optimistic lock, unique outbox keys).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, or_, select, update
from sqlalchemy.orm import Session

from models import Complaint
from models.enums import ComplaintStatus

_TABLE = cast(Table, Complaint.__table__)


def lease_free(now: datetime) -> Any:
    """No run holds the complaint's intake (never claimed, released, or the claim expired)."""
    return or_(Complaint.intake_lease_until.is_(None), Complaint.intake_lease_until < now)


def _intake_work() -> Any:
    """There is intake work to do: not through intake yet, or assessed by a person and not yet assigned."""
    return or_(
        Complaint.intake_done.is_(False),
        Complaint.status.in_([ComplaintStatus.RECEIVED, ComplaintStatus.ASSESSED]),
    )


def claim_intake(
    session: Session,
    now: datetime,
    lease: timedelta,
    ids: Sequence[int],
) -> list[int]:
    """Claim the intake of those of ``ids`` that are free and have work left; returns the ids claimed."""
    if not ids:
        return []
    pick = (
        select(Complaint.id).where(Complaint.id.in_(list(ids)), lease_free(now), _intake_work()).order_by(Complaint.id)
    )
    if session.get_bind().dialect.name == "postgresql":
        # A locking CTE is evaluated once; the planner may re-run a plain IN-subquery per row.
        picked = pick.with_for_update(skip_locked=True).cte("picked")
        target = _TABLE.c.id == picked.c.id
    else:
        target = _TABLE.c.id.in_(pick.scalar_subquery())  # SQLite serialises writers
    stmt = (
        update(_TABLE)
        .where(target, or_(_TABLE.c.intake_lease_until.is_(None), _TABLE.c.intake_lease_until < now))
        .values(intake_lease_until=now + lease)
        .returning(_TABLE.c.id)
    )
    return sorted(session.scalars(stmt).all())


def release_intake(session: Session, ids: Sequence[int]) -> None:
    """Give up the claims on ``ids`` (work left over goes back to the sweep at once)."""
    if ids:
        session.execute(update(_TABLE).where(_TABLE.c.id.in_(list(ids))).values(intake_lease_until=None))


def unclaimed_pending(now: datetime) -> Any:
    """Waiting for intake and not held by a live run: what a sweep should take on."""
    return and_(Complaint.intake_done.is_(False), lease_free(now))
