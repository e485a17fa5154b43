"""Signed, expiring, single-purpose action links for emails to staff.

A link names one staff member and one page (``/staff/complaints/<ref>/<task>``); its
token is signed with the installation's secret key (itsdangerous), carries the time it
was issued and a random id. The web app refuses a link that was altered, has expired,
is opened on another page, or was already used (the id is recorded with the step it
performed, in the same transaction). R-IN-6: only the named person acts through it.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from itsdangerous import BadSignature, URLSafeSerializer

from estatecare.settings import Settings

SALT = "estatecare.action-link.v1"
QUERY_KEY = "t"


def secret_key(settings: Settings) -> str:
    """ESTATECARE_SECRET_KEY, or a random key kept in ``var/secret-key`` (created once, mode 600).

    Every process of one installation (web, flow server) reads the same file, so a link
    queued by one is accepted by the other.
    """
    if settings.secret_key:
        return settings.secret_key
    path = Path(settings.var_dir) / "secret-key"
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    candidate = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process was first: use its key
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(candidate)
    return candidate


@dataclass(frozen=True)
class LinkClaim:
    """What a valid token says: who may open which page, since when, under which id."""

    staff_id: int
    path: str
    issued_at: datetime
    jti: str


class LinkError(Exception):
    """A link that cannot be used; ``reason`` is one of: invalid, expired, wrong_page."""

    def __init__(self, reason: str, claim: LinkClaim | None = None) -> None:
        self.reason = reason
        self.claim = claim
        super().__init__(reason)


def _serializer(settings: Settings) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key(settings), salt=SALT)


def make_token(settings: Settings, staff_id: int, path: str, issued_at: datetime | None = None) -> str:
    """A token for ``staff_id`` to open ``path`` (a URL path, no query)."""
    at = issued_at or datetime.now(UTC)
    payload: dict[str, Any] = {"s": staff_id, "p": path, "i": int(at.timestamp()), "j": secrets.token_urlsafe(12)}
    return str(_serializer(settings).dumps(payload))


def sign_url(settings: Settings, staff_id: int, url: str, issued_at: datetime | None = None) -> str:
    """``url`` with a token for ``staff_id`` appended (``?t=...``)."""
    parts = urlsplit(url)
    token = make_token(settings, staff_id, parts.path, issued_at)
    query = f"{parts.query}&" if parts.query else ""
    return urlunsplit((parts.scheme, parts.netloc, parts.path, f"{query}{QUERY_KEY}={token}", parts.fragment))


def read_token(settings: Settings, token: str, path: str | None, now: datetime) -> LinkClaim:
    """The claim of a token opened on ``path`` at ``now``; :class:`LinkError` when it is not usable.

    ``path`` None leaves the page check to the caller (e.g. a photo of the link's complaint).
    Whether it was used already is the caller's check (it needs the database).
    """
    try:
        payload = _serializer(settings).loads(token)
        claim = LinkClaim(
            staff_id=int(payload["s"]),
            path=str(payload["p"]),
            issued_at=datetime.fromtimestamp(int(payload["i"]), UTC),
            jti=str(payload["j"]),
        )
    except (BadSignature, KeyError, TypeError, ValueError) as exc:
        raise LinkError("invalid") from exc
    if now - claim.issued_at > timedelta(hours=settings.link_max_age_hours):
        raise LinkError("expired", claim)
    if path is not None and claim.path.rstrip("/") != path.rstrip("/"):
        raise LinkError("wrong_page", claim)
    return claim
