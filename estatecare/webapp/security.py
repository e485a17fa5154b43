"""Passwords (argon2) and CSRF tokens in the session."""

from __future__ import annotations

import base64
import secrets
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.low_level import ARGON2_VERSION

_hasher = PasswordHasher()


def _unmatchable_hash() -> str:
    """An argon2id hash with today's parameters that no password matches (its salt and digest are
    random bytes): checking a password against it costs what checking a real one does. Built
    without hashing, so importing this module does not take a hash's 64 MB and time."""

    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode("ascii").rstrip("=")

    h = _hasher
    salt, digest = secrets.token_bytes(h.salt_len), secrets.token_bytes(h.hash_len)
    params = f"m={h.memory_cost},t={h.time_cost},p={h.parallelism}"
    return f"$argon2{h.type.name.lower()}$v={ARGON2_VERSION}${params}${b64(salt)}${b64(digest)}"


_DUMMY_HASH = _unmatchable_hash()
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
