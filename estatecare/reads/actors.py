"""Who acts in the web app: the signed-in staff member, or the one an email link names."""

from __future__ import annotations

from sqlalchemy.orm import Session

from estatecare.services.people import Actor
from models import Staff, UsedLink


def active_staff(session: Session, staff_id: object) -> Staff | None:
    """The active staff member with id ``staff_id`` (as a session keeps it), or None."""
    if not isinstance(staff_id, int):
        return None
    staff = session.get(Staff, staff_id)
    return staff if staff is not None and staff.active else None


def signed_in(session: Session, staff_id: object, version: object) -> Actor | None:
    """The staff member a session names, while it was signed in with their current session version.

    Sign-out and a password change raise the version: sessions signed in before end.
    """
    staff = active_staff(session, staff_id)
    return Actor.of(staff) if staff is not None and staff.session_version == version else None


def link_holder(session: Session, staff_id: int, jti: str) -> tuple[Actor | None, bool]:
    """The active staff member an email link names (or None), and whether the link was used."""
    staff = active_staff(session, staff_id)
    used = session.get(UsedLink, jti) is not None
    return (Actor.of(staff) if staff else None), used
