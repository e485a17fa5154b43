"""Passwords (argon2), CSRF tokens in the session, and rate limits by client address."""

from __future__ import annotations

import secrets
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
CSRF_FIELD = "csrf_token"


def hash_password(password: str) -> str:
    """The argon2id hash stored for ``password``."""
    return _hasher.hash(password)


def check_password(stored: str | None, password: str) -> bool:
    """True when ``password`` matches; an account without a password costs the same time and fails."""
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """The hash was made with weaker parameters than today's."""
    return _hasher.check_needs_rehash(stored)


def csrf_token(session: dict[str, Any]) -> str:
    """The session's CSRF token, created on first use."""
    token = session.get("csrf")
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def csrf_ok(session: dict[str, Any], sent: object) -> bool:
    """The form carried the session's token."""
    expected = session.get("csrf")
    return isinstance(expected, str) and isinstance(sent, str) and bool(sent) and secrets.compare_digest(expected, sent)


class RateLimit:
    """A moving-window limit per key (the client address), kept in this process's memory."""

    def __init__(self, rate: str) -> None:
        self.item = parse(rate)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def hit(self, key: str) -> bool:
        """Count one try; False when the limit is reached (the try is refused)."""
        return bool(self._limiter.hit(self.item, key))
