"""Rate limits by client address, kept in this process's memory: sign-in tries and public
intake (shared by the web form and the REST API)."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Literal

from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter


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
