"""Staff passwords for the web app (argon2id)."""

from __future__ import annotations

import secrets

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from estatecare.services.errors import NotFound
from estatecare.webapp.security import hash_password
from models import Staff

MIN_PASSWORD = 10


def set_password(session: Session, email: str, password: str) -> Staff:
    """Set a staff member's password (at least ``MIN_PASSWORD`` characters)."""
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"a password needs at least {MIN_PASSWORD} characters")
    staff = session.scalar(select(Staff).where(func.lower(Staff.email) == email.lower()))
    if staff is None:
        raise NotFound(f"no staff member with email {email!r}")
    staff.password_hash = hash_password(password)
    return staff


def give_demo_passwords(session: Session) -> dict[str, str]:
    """A random password for every staff member who has none (demo set-up); email -> password."""
    given: dict[str, str] = {}
    for staff in session.scalars(select(Staff).where(Staff.password_hash.is_(None)).order_by(Staff.id)):
        password = secrets.token_urlsafe(9)
        staff.password_hash = hash_password(password)
        given[staff.email] = password
    return given
