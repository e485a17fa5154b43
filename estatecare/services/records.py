"""Loading complaints and committing changes under the optimistic lock."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from estatecare.services.errors import ConflictError, NotFound
from models import Complaint

T = TypeVar("T")


def get_complaint(session: Session, reference: str, expected_version: int | None = None) -> Complaint:
    """The complaint with ``reference``; :class:`ConflictError` when it moved past ``expected_version``."""
    complaint = session.scalar(
        select(Complaint).where(Complaint.reference == reference).options(selectinload(Complaint.events))
    )
    if complaint is None:
        raise NotFound(f"no complaint with reference {reference!r}")
    if expected_version is not None and complaint.version != expected_version:
        raise ConflictError(
            f"complaint {reference} changed since version {expected_version} "
            f"(now version {complaint.version}, state {complaint.status}); reload and try again"
        )
    return complaint


def in_transaction(sessions: sessionmaker[Session], work: Callable[[Session], T]) -> T:
    """Run ``work`` in one transaction; a concurrent write to the same complaint is a ConflictError."""
    try:
        with sessions() as session, session.begin():
            return work(session)
    except StaleDataError as exc:
        raise ConflictError(
            f"the complaint was changed by someone else at the same time; reload and try again ({exc})"
        ) from exc
