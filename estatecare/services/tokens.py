"""Staff API tokens: issued with an expiry, stored as a digest, checked on every staff request.

A token is a random string shown once; the database keeps its SHA-256 digest and the
time it expires. A missing, unknown, expired or expiry-less token, or one of a staff
member who left (inactive), is refused with the reason.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from estatecare.demo import hash_token
from estatecare.services.errors import NotFound
from estatecare.services.people import Actor
from models import Staff

DEFAULT_DAYS = 90


class TokenRefused(Exception):
    """The request carries no usable staff token; the message says why."""


def issue_token(session: Session, email: str, now: datetime, days: float = DEFAULT_DAYS) -> tuple[str, datetime]:
    """A new token for the staff member with ``email`` (replacing any earlier one); returns it and its expiry."""
    if days <= 0:
        raise ValueError("days must be greater than 0")
    staff = session.scalar(select(Staff).where(func.lower(Staff.email) == email.lower()))
    if staff is None or not staff.active:
        raise NotFound(f"no active staff member with email {email!r}")
    token = secrets.token_urlsafe(32)
    staff.api_token_hash = hash_token(token)
    staff.api_token_expires_at = now + timedelta(days=days)
    return token, staff.api_token_expires_at


def revoke_token(session: Session, email: str) -> None:
    """Remove the staff member's token: requests with it are refused from now on."""
    staff = session.scalar(select(Staff).where(func.lower(Staff.email) == email.lower()))
    if staff is None:
        raise NotFound(f"no staff member with email {email!r}")
    staff.api_token_hash = None
    staff.api_token_expires_at = None


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header; refused when missing or malformed."""
    if not authorization or not authorization.lower().startswith("bearer ") or not authorization[7:].strip():
        raise TokenRefused("send the staff API token as 'Authorization: Bearer <token>'")
    return authorization[7:].strip()


def authenticate(session: Session, token: str, now: datetime) -> Actor:
    """The staff member holding ``token``; :class:`TokenRefused` naming why not."""
    staff = session.scalar(select(Staff).where(Staff.api_token_hash == hash_token(token)))
    if staff is None or not staff.active:
        raise TokenRefused("the API token is not valid")
    expires = staff.api_token_expires_at
    if expires is None or expires <= now:
        raise TokenRefused("the API token has expired; ask for a new one (estatecare staff issue-token)")
    return Actor.of(staff)
