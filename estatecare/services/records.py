"""Loading complaints and units, and committing changes under the optimistic lock."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from estatecare.services.errors import ConflictError, InvalidInput, NotFound
from estatecare.services.people import Actor, check_step, complaint_case
from models import Building, Complaint, Estate, Unit
from models.permissions import Step

T = TypeVar("T")


def get_complaint(session: Session, reference: str, expected_version: int | None = None) -> Complaint:
    """The complaint with ``reference``; :class:`ConflictError` when it moved past ``expected_version``."""
    complaint = session.scalar(
        select(Complaint).where(Complaint.reference == reference).options(selectinload(Complaint.events))
    )
    if complaint is None:
        raise unknown_reference(reference)
    _check_version(complaint, expected_version)
    return complaint


def complaint_for(
    session: Session, reference: str, actor: Actor | None, step: Step, expected_version: int | None = None
) -> Complaint:
    """The complaint with ``reference`` once ``actor`` may take ``step`` on it (the permissions matrix).

    Another estate's complaint is answered exactly like an unknown reference, before its version
    is compared, so that no answer tells whether it exists.
    """
    complaint = get_complaint(session, reference)
    check_step(actor, step, complaint_case(session, complaint, step), hidden=unknown_reference(reference))
    _check_version(complaint, expected_version)
    return complaint


def unknown_reference(reference: str) -> NotFound:
    """The answer for a reference that does not exist (or is hidden: another estate's)."""
    return NotFound(f"no complaint with reference {reference!r}")


def unit_in_estate(session: Session, estate: Estate, building: str | None, unit: str) -> int:
    """The id of unit ``unit`` of ``estate``, in ``building`` when named: :class:`InvalidInput` on
    ``unit`` when there is none, on ``building`` when the number is found in several buildings."""
    query = select(Unit).join(Building).where(Unit.estate_id == estate.id, Unit.number == unit)
    if building:
        query = query.where(Building.name == building)
    units = list(session.scalars(query.limit(2)))
    if not units:
        raise InvalidInput("unit", f"no unit {building} {unit} in estate {estate.code}".replace("  ", " "))
    if len(units) > 1:
        raise InvalidInput("building", f"unit {unit} exists in several buildings: name the building")
    return units[0].id


def _check_version(complaint: Complaint, expected_version: int | None) -> None:
    if expected_version is not None and complaint.version != expected_version:
        raise ConflictError(
            f"complaint {complaint.reference} changed since version {expected_version} "
            f"(now version {complaint.version}, state {complaint.status}); reload and try again"
        )


def in_transaction(sessions: sessionmaker[Session], work: Callable[[Session], T]) -> T:
    """Run ``work`` in one transaction; a concurrent write to the same complaint is a ConflictError."""
    try:
        with sessions() as session, session.begin():
            return work(session)
    except StaleDataError as exc:
        raise ConflictError(
            f"the complaint was changed by someone else at the same time; reload and try again ({exc})"
        ) from exc
