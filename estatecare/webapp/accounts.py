"""Staff passwords for the web app (argon2id)."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from estatecare.services.errors import NotFound
from estatecare.webapp.security import hash_password
from models import Estate, Staff

if TYPE_CHECKING:
    from estatecare.app import App

MIN_PASSWORD = 10


def set_password(session: Session, email: str, password: str) -> Staff:
    """Set a staff member's password (at least ``MIN_PASSWORD`` characters); ends their sessions."""
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"a password needs at least {MIN_PASSWORD} characters")
    staff = session.scalar(select(Staff).where(func.lower(Staff.email) == email.lower()))
    if staff is None:
        raise NotFound(f"no staff member with email {email!r}")
    staff.password_hash = hash_password(password)
    end_sessions(session, staff.id)
    return staff


def end_sessions(session: Session, staff_id: int) -> None:
    """End every web session of the staff member (each carries the version it was signed in with)."""
    session.execute(update(Staff).where(Staff.id == staff_id).values(session_version=Staff.session_version + 1))


def give_demo_passwords(session: Session, estate_code: str | None = None) -> dict[str, str]:
    """A random password for every staff member who has none (demo set-up): of estate ``estate_code``
    and the company-wide leaders, or (None) of every estate; email -> password."""
    query = select(Staff).where(Staff.password_hash.is_(None))
    if estate_code is not None:
        estate = select(Estate.id).where(Estate.code == estate_code).scalar_subquery()
        query = query.where(or_(Staff.estate_id == estate, Staff.estate_id.is_(None)))
    given: dict[str, str] = {}
    for staff in session.scalars(query.order_by(Staff.id)):
        password = secrets.token_urlsafe(9)
        staff.password_hash = hash_password(password)
        given[staff.email] = password
    return given


def write_demo_passwords(core: App, code: str = "CH") -> Path:
    """Give the staff of estate ``code`` (and company-wide leaders) without a password one, and list
    them in ``var/demo-passwords-<code>.txt`` (mode 600)."""
    with core.transaction() as session:
        given = give_demo_passwords(session, code)
    path = Path(core.settings.var_dir) / f"demo-passwords-{code}.txt"
    with path.open("a", encoding="utf-8") as fh:
        fh.writelines(f"{email}\t{password}\n" for email, password in given.items())
    path.chmod(0o600)
    return path
