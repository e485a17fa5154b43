"""Delivery of the outbox with aiosmtplib: claim due rows, render, send, record.

Claiming is one conditional UPDATE (``status``/``lease_until`` checked in the WHERE
clause, ``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so two senders in two processes
never claim the same row. Many messages go over one SMTP connection (or a small pool
of ``SmtpConfig.connections``); results are written back in bulk. Temporary failures
(timeouts, dropped connections, 4xx) go back to pending with an exponential backoff; when
no connection can be made at all, nothing about the messages failed, so they are due again
at the next sweep and go out as soon as the server is back; permanent ones (5xx) are
marked failed with the reason and never retried. A row is marked sent right after the
server accepted it; only a crash between the two can resend it, with the same Message-ID
so receivers can drop the duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import re
from collections import deque
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parseaddr
from typing import Any, cast

import aiosmtplib
from aiosmtplib.typing import SMTPStatus
from sqlalchemy import Table, and_, bindparam, or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from estatecare.settings import Settings
from models import Notification, NotificationAttachment, utcnow
from models.enums import NotificationStatus
from notifications import render_pool
from notifications.mime import Built, build_many

#: How long a claimed row stays ours; a sender that dies frees its rows after this.
LEASE = timedelta(minutes=10)
#: Rows claimed per round trip; a batch is sent well within the lease.
CLAIM_BATCH = 500
#: Backoff after a temporary failure: BASE * 2**(attempts-1), capped, with up to 10 % jitter.
BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)
#: Tries to record outcomes when the database connection drops meanwhile.
FLUSH_ATTEMPTS = 3


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to send mail."""

    host: str = "127.0.0.1"
    port: int = 1025
    starttls: bool = False
    use_tls: bool = False  # implicit TLS (SMTPS, usually port 465)
    username: str = ""
    password: str = ""
    timeout: float = 10.0
    mail_from: str = "Estate Care <no-reply@estatecare.localhost>"
    connections: int = 1  # parallel SMTP connections per deliver_pending call
    # build large batches in a helper process (notifications.render_pool); default: if worthwhile here
    render_helper: bool = field(default_factory=render_pool.worthwhile)

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpConfig:
        """The SMTP settings of ``settings`` (ESTATECARE_SMTP_*)."""
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            starttls=settings.smtp_starttls,
            use_tls=settings.smtp_ssl,
            username=settings.smtp_username,
            password=settings.smtp_password,
            timeout=settings.smtp_timeout,
            mail_from=settings.mail_from,
            connections=settings.smtp_connections,
            render_helper=render_pool.worthwhile()
            if settings.smtp_render_helper is None
            else settings.smtp_render_helper,
        )


def _or_auto(choice: bool | None) -> bool:
    return render_pool.worthwhile() if choice is None else choice


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


class _Permanent(Exception):
    """A failure that retrying will not fix (5xx, invalid address, bad template)."""


class _Temporary(Exception):
    """A failure worth retrying later (connection, timeout, 4xx)."""


def _classify(exc: BaseException) -> Exception:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [e.code for e in exc.recipients]
        reason = "; ".join(f"{e.recipient}: {e.code} {e.message}" for e in exc.recipients)
        return _Permanent(reason) if codes and all(c >= 500 for c in codes) else _Temporary(reason)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        reason = f"{exc.code} {exc.message}"
        return _Permanent(reason) if exc.code >= 500 else _Temporary(reason)
    if isinstance(exc, ValueError | aiosmtplib.SMTPNotSupported):
        return _Permanent(f"{type(exc).__name__}: {exc}")
    return _Temporary(f"{type(exc).__name__}: {exc}")


@dataclass
class _Outgoing:
    id: int
    attempts: int
    recipient: str
    data: bytes


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


async def _connect(config: SmtpConfig) -> aiosmtplib.SMTP:
    smtp = aiosmtplib.SMTP(
        hostname=config.host,
        port=config.port,
        use_tls=config.use_tls,
        start_tls=config.starttls if config.starttls else False,
        timeout=config.timeout,
        username=config.username or None,
        password=config.password or None,
    )
    await smtp.connect()
    if smtp.is_ehlo_or_helo_needed:  # MAIL is sent directly (see _transact): greet first
        try:
            await smtp.ehlo()
        except aiosmtplib.SMTPHeloError:
            await smtp.helo()
    return smtp


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


#: What may stand between the angle brackets of MAIL FROM / RCPT TO: no spaces, brackets or controls.
_MAILBOX = re.compile(r"[^\s<>()\[\]\\,;:\"]+@[^\s<>()\[\]\\,;:\"@]+", re.ASCII)


def _envelope_address(address: str) -> bytes | None:
    """``<addr>`` for an SMTP command, or None for an address that needs aiosmtplib's own
    handling (non-ASCII, SMTPUTF8) or that it will refuse (anything that could smuggle a command)."""
    if not (address.isascii() and _MAILBOX.fullmatch(address)):
        return None
    return f"<{address}>".encode("ascii")


def _wire_data(message: bytes) -> bytes | None:
    """The DATA payload of a message whose lines all end in CRLF (as built by
    :mod:`notifications.mime`): dot-stuffed and terminated; None for anything else.

    ``SMTP.data`` rewrites every line ending and scans every line with a regular expression
    for each message; for a message known to be clean a few byte counts are enough.
    """
    crlf = message.count(b"\r\n")
    if not message.endswith(b"\r\n") or message.count(b"\n") != crlf or message.count(b"\r") != crlf:
        return None
    if message.startswith(b"."):
        message = b"." + message
    return message.replace(b"\r\n.", b"\r\n..") + b".\r\n"


async def _send_data(smtp: aiosmtplib.SMTP, wire: bytes) -> None:
    """DATA with a payload from :func:`_wire_data`, as ``SMTP.data`` sends it."""
    answer = await smtp.execute_command(b"DATA")
    if answer.code != SMTPStatus.start_input:
        raise aiosmtplib.SMTPDataError(answer.code, answer.message)
    protocol = smtp.protocol
    if protocol is None:
        raise aiosmtplib.SMTPServerDisconnected("Connection lost")
    try:
        protocol.write(wire)
        # read_response marks the reply as expected before anything can arrive: the event
        # loop runs no callback between the write and this call.
        answer = await protocol.read_response(timeout=smtp.timeout)
    except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError):
        smtp.close()  # as SMTP.data does: the connection is out of step
        raise
    if answer.code != SMTPStatus.completed:
        raise aiosmtplib.SMTPDataError(answer.code, answer.message)


async def _transact(smtp: aiosmtplib.SMTP, sender: str, recipient: str, data: bytes) -> None:
    """MAIL, RCPT, DATA for one message, as ``SMTP.sendmail`` does for one recipient, but with
    plain addresses checked once by a pattern rather than parsed again for every command (that
    parsing was a third of the client's work per message). After a refusal the transaction is
    reset so the connection can carry the next message."""
    mail_from, rcpt_to = _envelope_address(sender), _envelope_address(recipient)
    if mail_from is None or rcpt_to is None:
        await smtp.sendmail(sender, [recipient], data)
        return
    try:
        answer = await smtp.execute_command(b"MAIL", b"FROM:" + mail_from)
        if answer.code != SMTPStatus.completed:
            raise aiosmtplib.SMTPSenderRefused(answer.code, answer.message, sender)
        answer = await smtp.execute_command(b"RCPT", b"TO:" + rcpt_to)
        if answer.code not in (SMTPStatus.completed, SMTPStatus.will_forward):
            raise aiosmtplib.SMTPRecipientRefused(answer.code, answer.message, recipient)
        wire = _wire_data(data)
        if wire is None:
            await smtp.data(data)
        else:
            await _send_data(smtp, wire)
    except aiosmtplib.SMTPResponseException:
        if smtp.is_connected:
            with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                await smtp.rset()
        raise


async def _send_worker(
    config: SmtpConfig, queue: asyncio.Queue[_Outgoing | None], rec: _Recorder, flush_every: int
) -> None:
    """Send from ``queue`` over one connection; on a broken connection defer the rest."""
    smtp: aiosmtplib.SMTP | None = None
    sender = parseaddr(config.mail_from)[1] or config.mail_from
    down: str | None = None
    unreachable = False
    try:
        while True:
            item = await queue.get()
            if item is None:
                return
            if down is not None:
                rec.deferred.append((item.id, item.attempts, down))
                if unreachable:
                    rec.unreachable.add(item.id)
                continue
            connecting = False
            try:
                if smtp is None or not smtp.is_connected:
                    connecting = True
                    smtp = await _connect(config)
                    connecting = False
                await _transact(smtp, sender, item.recipient, item.data)
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                kind = _classify(exc)
                if isinstance(kind, _Permanent):
                    rec.failed.append((item.id, item.attempts, str(kind)))
                else:
                    rec.deferred.append((item.id, item.attempts, str(kind)))
                    if connecting and not isinstance(exc, aiosmtplib.SMTPResponseException):
                        unreachable = True  # nothing was tried: the next sweep tries again, no backoff
                        rec.unreachable.add(item.id)
                    if not isinstance(exc, aiosmtplib.SMTPResponseException) or (
                        smtp is not None and not smtp.is_connected
                    ):
                        down = rec.down = str(kind)  # the server is unreachable: don't hammer it
                continue
            rec.sent.append(item.id)
            if len(rec.sent) >= flush_every:
                rec.flush()
    finally:
        if smtp is not None and smtp.is_connected:
            try:
                await smtp.quit()
            except (aiosmtplib.SMTPException, OSError):
                smtp.close()


async def _produce(
    rows: list[dict[str, Any]],
    files: dict[int, list[Any]],
    config: SmtpConfig,
    tz: str,
    now: datetime,
    queue: asyncio.Queue[_Outgoing | None],
    rec: _Recorder,
) -> None:
    """Build the messages while the connections send: a large batch in the helper process,
    a few chunks ahead; a small one (or while the helper starts) here, one row at a time."""
    loop = asyncio.get_running_loop()
    attempts = {row["id"]: (row["attempts"], row["recipient_email"]) for row in rows}
    use_helper = config.render_helper and len(rows) >= render_pool.MIN_ROWS
    ahead: deque[tuple[asyncio.Future[list[Built]], ProcessPoolExecutor, list[dict[str, Any]]]] = deque()

    async def emit(built: list[Built]) -> None:
        for nid, data, error in built:
            tries, recipient = attempts[nid]
            if data is None:
                rec.failed.append((nid, tries, error))
            else:
                await queue.put(_Outgoing(nid, tries, recipient, data))

    async def settle(
        future: asyncio.Future[list[Built]], pool: ProcessPoolExecutor, chunk: list[dict[str, Any]]
    ) -> None:
        try:
            built = await future
            render_pool.HELPER.chunks_built += 1
        except BrokenProcessPool:
            render_pool.HELPER.broken(pool)
            built = build_many(chunk, files, config.mail_from, tz, now)
        await emit(built)

    for start in range(0, len(rows), render_pool.CHUNK):
        chunk = rows[start : start + render_pool.CHUNK]
        pool = render_pool.HELPER.ready() if use_helper else None
        if pool is not None:
            mine = {row["id"]: files[row["id"]] for row in chunk if row["id"] in files}
            try:
                future = loop.run_in_executor(pool, build_many, chunk, mine, config.mail_from, tz, now)
            except (BrokenProcessPool, RuntimeError):  # died, or shut down at exit
                render_pool.HELPER.broken(pool)
                pool = None
        if pool is None:
            for row in chunk:
                await emit(build_many([row], files, config.mail_from, tz, now))
                await asyncio.sleep(0)
            continue
        ahead.append((future, pool, chunk))
        if len(ahead) > render_pool.AHEAD:
            await settle(*ahead.popleft())
    while ahead:
        await settle(*ahead.popleft())


async def deliver_pending(
    sessions: sessionmaker[Session],
    config: SmtpConfig,
    tz: str,
    *,
    ids: Sequence[int] | None = None,
    limit: int = 1000,
    now: datetime | None = None,
    lease: timedelta = LEASE,
) -> DeliveryReport:
    """Send up to ``limit`` due notifications (only ``ids`` if given) and record each outcome.

    ``now`` (default: the current time) decides what is due and when a deferred row is
    tried again. Rendering errors count as permanent failures.
    """
    now = now or utcnow()
    report = DeliveryReport()
    rec = _Recorder(sessions, now, report)
    first = claim(sessions, now=now, limit=min(CLAIM_BATCH, limit), ids=ids, lease=lease)
    if not first:
        return report
    workers = max(1, min(config.connections, len(first)))
    queue: asyncio.Queue[_Outgoing | None] = asyncio.Queue(maxsize=4 * workers)

    async def feed() -> None:
        """Claim, load and build batch after batch while the connections send the queue:
        the connections stay open across batches and never wait for the next claim."""
        batch, remaining = first, limit - len(first)
        try:
            while True:
                rows, files = _load(sessions, batch)
                await _produce(rows, files, config, tz, now, queue, rec)
                if remaining <= 0 or rec.down is not None:
                    return  # done, or the server is down: leave the rest for the next sweep
                batch = claim(sessions, now=now, limit=min(CLAIM_BATCH, remaining), ids=ids, lease=lease)
                if not batch:
                    return
                remaining -= len(batch)
        finally:
            for _ in range(workers):
                await queue.put(None)

    await asyncio.gather(feed(), *(_send_worker(config, queue, rec, 200) for _ in range(workers)))
    rec.flush()
    return report
