"""Staff sign-in with a lockout per account and a growing wait.

After ``after`` failed sign-ins in a row an account refuses every sign-in, the right password
too, for ``first``; each further failure once the lock has ended locks it twice as long, up to
``longest``. A success resets the count; failures are forgotten a day after the last lock ended.
Known accounts keep the count in ``staff.failed_logins`` and ``staff.locked_until`` (shared by
every process); an unknown address gets the same answers at the same times from a count kept
in this process's memory, so that no answer tells whether an account exists.
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, TypeVar

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from estatecare.settings import Settings
from estatecare.webapp.security import check_password, hash_password, needs_rehash
from models import Staff

T = TypeVar("T")


class Runner(Protocol):
    """Runs ``work`` in one database transaction (``App.run``)."""

    def __call__(self, work: Callable[[Session], T]) -> Awaitable[T]: ...


#: Failures are forgotten this long after the last lock ended.
FORGET_AFTER = timedelta(days=1)
#: Unknown addresses whose failures are remembered (the oldest are forgotten first).
REMEMBERED = 10_000


@dataclass(frozen=True)
class Lockout:
    """When failures lock an account, and for how long."""

    after: int
    first: timedelta
    longest: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> Lockout:
        return cls(
            after=settings.login_lockout_after,
            first=timedelta(seconds=settings.login_lockout_seconds),
            longest=timedelta(seconds=settings.login_lockout_max_seconds),
        )

    def lock_for(self, failures: int) -> timedelta | None:
        """How long ``failures`` in a row lock the account (None: not at all)."""
        if failures < self.after:
            return None
        doubled: timedelta = self.first * 2 ** min(failures - self.after, 30)
        return min(doubled, self.longest)


@dataclass(frozen=True)
class SignIn:
    """The outcome of one try: the staff member signed in (detached from the session), or
    ``retry_after`` seconds to wait when the account is locked, or neither (wrong)."""

    staff: Staff | None = None
    retry_after: int | None = None


def _seconds(delta: timedelta) -> int:
    return max(1, math.ceil(delta.total_seconds()))


class SignIns:
    """Checks passwords and keeps the lockout (see the module's description)."""

    def __init__(self, lockout: Lockout) -> None:
        self.lockout = lockout
        self._unknown: OrderedDict[str, tuple[int, datetime | None]] = OrderedDict()
        self._guard = threading.Lock()

    async def attempt(self, run: Runner, email: str, password: str, now: datetime) -> SignIn:
        """One sign-in try. The password is checked between two short transactions (``run``):
        on SQLite they share one writer thread, which must not wait for argon2."""
        found = await run(lambda s: self._account(s, email, now))
        if found is None:
            return await asyncio.to_thread(self._unknown_attempt, email.lower(), password, now)
        if isinstance(found, SignIn):
            return found
        staff_id, stored = found
        ok = stored is not None and await asyncio.to_thread(check_password, stored, password)
        rehashed = None
        if ok and stored is not None and needs_rehash(stored):
            rehashed = await asyncio.to_thread(hash_password, password)
        return await run(lambda s: self._record(s, staff_id, ok, rehashed, now))

    @staticmethod
    def _account(session: Session, email: str, now: datetime) -> tuple[int, str | None] | SignIn | None:
        """The account's id and password hash (None: inactive), a locked answer, or None (unknown)."""
        staff = session.scalar(select(Staff).where(func.lower(Staff.email) == email.lower()))
        if staff is None:
            return None
        if staff.locked_until is not None and now < staff.locked_until:
            return SignIn(retry_after=_seconds(staff.locked_until - now))
        return staff.id, staff.password_hash if staff.active else None

    def _record(self, session: Session, staff_id: int, ok: bool, rehashed: str | None, now: datetime) -> SignIn:
        """A success resets the count (and stores a rehashed password); a failure counts and may lock."""
        staff = session.get(Staff, staff_id)
        if staff is None:
            return SignIn()
        if ok:
            if rehashed is not None:
                staff.password_hash = rehashed
            staff.failed_logins, staff.locked_until = 0, None
            session.flush()
            session.expunge(staff)
            return SignIn(staff=staff)
        locked_until = staff.locked_until
        forget = locked_until is not None and now >= locked_until + FORGET_AFTER
        failures = session.scalar(  # counted in the database: concurrent failures all count
            update(Staff)
            .where(Staff.id == staff.id)
            .values(failed_logins=1 if forget else Staff.failed_logins + 1)
            .returning(Staff.failed_logins)
        )
        lock = self.lockout.lock_for(failures or 0)
        if lock is not None or forget:
            until = now + lock if lock is not None else None
            session.execute(update(Staff).where(Staff.id == staff.id).values(locked_until=until))
        return SignIn()

    def _unknown_attempt(self, key: str, password: str, now: datetime) -> SignIn:
        with self._guard:
            failures, locked_until = self._unknown.get(key, (0, None))
        if locked_until is not None and now < locked_until:
            return SignIn(retry_after=_seconds(locked_until - now))
        check_password(None, password)  # the same argon2 work as for an account
        forget = locked_until is not None and now >= locked_until + FORGET_AFTER
        failures = 1 if forget else failures + 1
        lock = self.lockout.lock_for(failures)
        until = now + lock if lock is not None else None if forget else locked_until
        with self._guard:
            self._unknown[key] = (failures, until)
            self._unknown.move_to_end(key)
            while len(self._unknown) > REMEMBERED:
                self._unknown.popitem(last=False)
        return SignIn()
