"""Passwords (argon2), CSRF tokens in the session, and rate limits by client address."""

from __future__ import annotations

import base64
import math
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any, Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.low_level import ARGON2_VERSION
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

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


class RateLimit:
    """A moving-window limit per key (the client address), kept in this process's memory."""

    def __init__(self, rate: str) -> None:
        self.item = parse(rate)
        self._limiter = MovingWindowRateLimiter(MemoryStorage())

    def hit(self, key: str) -> bool:
        """Count one try; False when the limit is reached (the try is refused)."""
        return bool(self._limiter.hit(self.item, key))

    def allows(self, key: str) -> bool:
        """One more try would be allowed (nothing is counted)."""
        return bool(self._limiter.test(self.item, key))

    def retry_after(self, key: str) -> int:
        """Whole seconds until ``key`` may try again (at least 1): for a ``Retry-After`` header."""
        reset = self._limiter.get_window_stats(self.item, key).reset_time
        return max(1, math.ceil(reset - time.time()))


@dataclass(frozen=True)
class Refusal:
    """Why a try was refused (``address``: this client's limit; ``overall``: everyone's) and
    the seconds until it may be made again."""

    limit: Literal["address", "overall"]
    retry_after: int


class IntakeLimits:
    """Public intake (the online form and the API without a staff token): complaints per client
    address and from all addresses together, shared by the web form and the API."""

    _ALL = "all"

    def __init__(self, per_address: str, overall: str) -> None:
        self.per_address = RateLimit(per_address)
        self.overall = RateLimit(overall)
        self._lock = threading.Lock()

    def admit(self, address: str) -> Refusal | None:
        """Count one complaint from ``address``, or say why it is refused (nothing counted then)."""
        with self._lock:
            if not self.per_address.allows(address):
                return Refusal("address", self.per_address.retry_after(address))
            if not self.overall.allows(self._ALL):
                return Refusal("overall", self.overall.retry_after(self._ALL))
            self.per_address.hit(address)
            self.overall.hit(self._ALL)
            return None
