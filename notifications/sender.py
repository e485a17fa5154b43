"""Delivery of the outbox with aiosmtplib: claim due rows, render, send, record.

Claiming is one conditional UPDATE (``status``/``lease_until`` checked in the WHERE
clause, ``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so two senders in two processes
never claim the same row. Many messages go over one SMTP connection (or a small pool
of ``SmtpConfig.connections``); results are written back in bulk. Temporary failures
(connection refused, timeouts, 4xx) go back to pending with an exponential backoff;
permanent ones (5xx) are marked failed with the reason and never retried. A row is
marked sent right after the server accepted it; only a crash between the two can
resend it, with the same Message-ID so receivers can drop the duplicate.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.header import Header
from email.utils import format_datetime as rfc2822_date
from email.utils import formataddr, parseaddr
from typing import Any, cast
from urllib.parse import quote

import aiosmtplib
from sqlalchemy import Table, and_, bindparam, or_, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from estatecare.settings import Settings
from models import Notification, NotificationAttachment, utcnow
from models.enums import NotificationStatus
from notifications.render import render

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
        )


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


def build_message(
    row: dict[str, Any], attachments: Sequence[tuple[str, str, bytes]], config: SmtpConfig, tz: str, now: datetime
) -> bytes:
    """The RFC 5322 bytes of one notification: multipart/alternative (text + HTML), plus attachments.

    Assembled directly (base64 parts, RFC 2047 headers) rather than through
    ``email.message``: several times faster, which matters when a sweep sends thousands.
    """
    rendered = render(row["template"], row["context"], row["locale"], tz)
    token = hashlib.blake2b(str(row["message_id"]).encode(), digest_size=12).hexdigest()
    alt = f"=_alt_{token}"  # "=_" never occurs in base64 bodies, so it is a safe boundary
    name = " ".join(str(row["recipient_name"]).split())
    to = formataddr((name, row["recipient_email"]), charset="utf-8") if name else row["recipient_email"]
    head = [
        f"Subject: {Header(rendered.subject, 'utf-8', header_name='Subject').encode()}",
        f"From: {_address(config.mail_from)}",
        f"To: {to}",
        f"Date: {rfc2822_date(now)}",
        f"Message-ID: {row['message_id']}",
        "MIME-Version: 1.0",
        f"Content-Language: {row['locale']}",
        "Auto-Submitted: auto-generated",
        f"X-EstateCare-Template: {row['template']}",
    ]
    body = [
        f"--{alt}",
        'Content-Type: text/plain; charset="utf-8"',
        "Content-Transfer-Encoding: base64",
        "",
        _b64(rendered.text.encode()),
        f"--{alt}",
        'Content-Type: text/html; charset="utf-8"',
        "Content-Transfer-Encoding: base64",
        "",
        _b64(rendered.html.encode()),
        f"--{alt}--",
    ]
    if not attachments:
        lines = [*head, f'Content-Type: multipart/alternative; boundary="{alt}"', "", *body, ""]
        return "\r\n".join(lines).encode("ascii")
    mixed = f"=_mix_{token}"
    lines = [*head, f'Content-Type: multipart/mixed; boundary="{mixed}"', "", f"--{mixed}"]
    lines += [f'Content-Type: multipart/alternative; boundary="{alt}"', "", *body]
    for filename, content_type, data in attachments:
        lines += [
            f"--{mixed}",
            f"Content-Type: {content_type}",
            "Content-Transfer-Encoding: base64",
            f"Content-Disposition: attachment; {_filename_param(filename)}",
            "",
            _b64(data),
        ]
    lines += [f"--{mixed}--", ""]
    return "\r\n".join(lines).encode("ascii")


def _b64(data: bytes) -> str:
    return base64.encodebytes(data).decode("ascii").rstrip("\n").replace("\n", "\r\n")


def _filename_param(filename: str) -> str:
    """``filename="x.xlsx"``, or the RFC 2231 form for non-ASCII names."""
    if filename.isascii() and '"' not in filename and "\\" not in filename:
        return f'filename="{filename}"'
    return f"filename*=utf-8''{quote(filename, safe='')}"


def _address(value: str) -> str:
    """``Name <addr>`` with a non-ASCII name encoded (RFC 2047)."""
    name, addr = parseaddr(value)
    if not name:
        return addr or value
    return formataddr((name, addr), charset="utf-8")


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
                    "b_next": self.now + backoff(a + 1),
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


async def _send_worker(
    config: SmtpConfig, queue: asyncio.Queue[_Outgoing | None], rec: _Recorder, flush_every: int
) -> None:
    """Send from ``queue`` over one connection; on a broken connection defer the rest."""
    smtp: aiosmtplib.SMTP | None = None
    sender = parseaddr(config.mail_from)[1] or config.mail_from
    down: str | None = None
    try:
        while True:
            item = await queue.get()
            if item is None:
                return
            if down is not None:
                rec.deferred.append((item.id, item.attempts, down))
                continue
            try:
                if smtp is None or not smtp.is_connected:
                    smtp = await _connect(config)
                await smtp.sendmail(sender, [item.recipient], item.data)
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
                kind = _classify(exc)
                if isinstance(kind, _Permanent):
                    rec.failed.append((item.id, item.attempts, str(kind)))
                else:
                    rec.deferred.append((item.id, item.attempts, str(kind)))
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
    workers: int,
    rec: _Recorder,
) -> None:
    """Render while the connections send, so the server works on earlier messages meanwhile."""
    for row in rows:
        try:
            data = build_message(row, files.get(row["id"], ()), config, tz, now)
        except Exception as exc:  # a template or context error will not fix itself
            rec.failed.append((row["id"], row["attempts"], f"cannot render: {type(exc).__name__}: {exc}"))
            continue
        await queue.put(_Outgoing(row["id"], row["attempts"], row["recipient_email"], data))
        await asyncio.sleep(0)
    for _ in range(workers):
        await queue.put(None)


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
    remaining = limit
    while remaining > 0:
        batch = claim(sessions, now=now, limit=min(CLAIM_BATCH, remaining), ids=ids, lease=lease)
        if not batch:
            break
        remaining -= len(batch)
        rows, files = _load(sessions, batch)
        workers = max(1, min(config.connections, len(rows)))
        queue: asyncio.Queue[_Outgoing | None] = asyncio.Queue(maxsize=4 * workers)

        await asyncio.gather(
            _produce(rows, files, config, tz, now, queue, workers, rec),
            *(_send_worker(config, queue, rec, 200) for _ in range(workers)),
        )
        rec.flush()
        if rec.down is not None:
            break  # the server is down: leave the rest for the next sweep
    return report
