"""The outbox as the sender sees it: claim due rows, load them, write outcomes back in bulk.

Claiming is one conditional UPDATE (``status``/``lease_until`` checked in the WHERE
clause, ``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so two senders in two processes
never claim the same row. Results are written back in bulk: sent; failed (permanent,
never retried); deferred (back to pending with an exponential backoff, or due again at
the next sweep when no connection could be made at all).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from models import Notification, NotificationAttachment
from models.enums import NotificationStatus

#: How long a claimed row stays ours; a sender that dies frees its rows after this.
LEASE = timedelta(minutes=10)
#: Rows claimed per round trip; a batch is sent well within the lease.
CLAIM_BATCH = 500
#: Backoff after a temporary failure: BASE * 2**(attempts-1), capped, with up to 10 % jitter.
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)
#: Tries to record outcomes when the database connection drops meanwhile.
FLUSH_ATTEMPTS = 3


@dataclass
class DeliveryReport:
    """What one ``deliver_pending`` call did, by notification id."""

    sent: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)  # permanent: status failed, never retried
    deferred: list[int] = field(default_factory=list)  # temporary: back to pending with a backoff
    failures: dict[int, str] = field(default_factory=dict)  # id -> reason, for failed and deferred

    @property
    def claimed(self) -> int:
        """How many rows this call handled."""
        return len(self.sent) + len(self.failed) + len(self.deferred)


def backoff(attempts: int, *, jitter: float | None = None) -> timedelta:
    """Delay before the next try after ``attempts`` failed tries (exponential, capped, jittered)."""
    delay = min(BACKOFF_BASE * (2 ** max(0, attempts - 1)), BACKOFF_MAX)
    share = random.random() if jitter is None else jitter  # noqa: S311 - jitter, not security
    result: timedelta = delay + delay * 0.1 * share
    return result


def _due(now: datetime) -> Any:
    return or_(
        and_(Notification.status == NotificationStatus.PENDING, Notification.next_attempt_at <= now),
        and_(Notification.status == NotificationStatus.SENDING, Notification.lease_until < now),
    )


def claim(
    sessions: sessionmaker[Session],
    *,
    now: datetime,
    limit: int,
    ids: Sequence[int] | None = None,
    lease: timedelta = LEASE,
) -> list[int]:
    """Mark up to ``limit`` due rows as ours (status sending, lease) and return their ids.

    The WHERE clause re-checks the due condition, so a row another sender claimed in the
    meantime is not taken; PostgreSQL additionally skips rows locked by another claim.
    """
    with sessions() as session, session.begin():
        pick = select(Notification.id).where(_due(now)).order_by(Notification.id).limit(limit)
        if ids is not None:
            pick = pick.where(Notification.id.in_(list(ids)))
        if session.get_bind().dialect.name == "postgresql":
            # A locking CTE is evaluated once; "IN (subquery ... LIMIT n FOR UPDATE)" may be
            # re-run per row by the planner and then claim far more than n rows.
            picked = pick.with_for_update(skip_locked=True).cte("picked")
            target = Notification.id == picked.c.id
        else:
            target = Notification.id.in_(pick.scalar_subquery())  # SQLite serialises writers
        stmt = (
            update(Notification)
            .where(target, _due(now))
            .values(status=NotificationStatus.SENDING, lease_until=now + lease)
            .returning(Notification.id)
            .execution_options(synchronize_session=False)
        )
        return sorted(session.scalars(stmt).all())


def _load(sessions: sessionmaker[Session], ids: list[int]) -> tuple[list[dict[str, Any]], dict[int, list[Any]]]:
    cols = (
        Notification.id,
        Notification.template,
        Notification.locale,
        Notification.recipient_email,
        Notification.recipient_name,
        Notification.context,
        Notification.message_id,
        Notification.attempts,
    )
    with sessions() as session:
        rows = [r._asdict() for r in session.execute(select(*cols).where(Notification.id.in_(ids)))]
        files: dict[int, list[Any]] = {}
        q = (
            select(
                NotificationAttachment.notification_id,
                NotificationAttachment.filename,
                NotificationAttachment.content_type,
                NotificationAttachment.data,
            )
            .where(NotificationAttachment.notification_id.in_(ids))
            .order_by(NotificationAttachment.id)
        )
        for nid, fname, ctype, data in session.execute(q):
            files.setdefault(nid, []).append((fname, ctype, data))
    return rows, files


class _Recorder:
    """Collects outcomes and writes them back in bulk."""

    def __init__(self, sessions: sessionmaker[Session], now: datetime, report: DeliveryReport) -> None:
        self.sessions = sessions
        self.now = now
        self.report = report
        self.sent: list[int] = []
        self.failed: list[tuple[int, int, str]] = []
        self.deferred: list[tuple[int, int, str]] = []
        self.down: str | None = None  # set when the server could not be reached
        # Deferred because no connection could be made: nothing about these messages failed,
        # so they are due again at the next sweep instead of after a backoff.
        self.unreachable: set[int] = set()

    def flush(self) -> None:
        if not (self.sent or self.failed or self.deferred):
            return
        sent, failed, deferred = self.sent, self.failed, self.deferred
        self.sent, self.failed, self.deferred = [], [], []
        for attempt in range(1, FLUSH_ATTEMPTS + 1):
            try:
                self._write(sent, failed, deferred)
                break
            except DBAPIError as exc:
                # A dropped connection rolled the write back: the mail is out, so record it on
                # a fresh connection rather than leave the row to be sent again after its lease.
                if not exc.connection_invalidated or attempt == FLUSH_ATTEMPTS:
                    raise
        self.report.sent.extend(sent)
        for i, _, reason in failed:
            self.report.failed.append(i)
            self.report.failures[i] = reason
        for i, _, reason in deferred:
            self.report.deferred.append(i)
            self.report.failures[i] = reason

    def _write(self, sent: list[int], failed: list[tuple[int, int, str]], deferred: list[tuple[int, int, str]]) -> None:
        table = cast(Table, Notification.__table__)
        with self.sessions() as session, session.begin():
            if sent:
                session.execute(
                    update(table)
                    .where(table.c.id.in_(sent), table.c.status == NotificationStatus.SENDING.value)
                    .values(
                        status=NotificationStatus.SENT.value,
                        sent_at=self.now,
                        lease_until=None,
                        attempts=table.c.attempts + 1,
                        last_error="",
                    )
                )
            params = [
                {
                    "b_id": i,
                    "b_status": NotificationStatus.FAILED.value,
                    "b_attempts": a + 1,
                    "b_error": reason[:2000],
                    "b_next": self.now,
                }
                for i, a, reason in failed
            ] + [
                {
                    "b_id": i,
                    "b_status": NotificationStatus.PENDING.value,
                    "b_attempts": a + 1,
                    "b_error": reason[:2000],
                    "b_next": self.now if i in self.unreachable else self.now + backoff(a + 1),
                }
                for i, a, reason in deferred
            ]
            if params:
                stmt = (
                    update(table)
                    .where(table.c.id == bindparam("b_id"))
                    .values(
                        status=bindparam("b_status"),
                        attempts=bindparam("b_attempts"),
                        last_error=bindparam("b_error"),
                        next_attempt_at=bindparam("b_next"),
                        lease_until=None,
                    )
                )
                session.connection().execute(stmt, params)
