"""Delivery of the outbox with aiosmtplib: claim due rows, render, send, record.

This module is the pipeline; the outbox store (claiming, recording outcomes) is
:mod:`notifications.outbox_store` and the SMTP transport :mod:`notifications.smtp_transport`.
Claiming is one conditional UPDATE, so two senders in two processes never claim the same
row. Many messages go over one SMTP connection (or a small pool of
``SmtpConfig.connections``); results are written back in bulk. Temporary failures
(timeouts, dropped connections, 4xx) go back to pending with an exponential backoff; when
no connection can be made at all, nothing about the messages failed, so they are due again
at the next sweep and go out as soon as the server is back; permanent ones (5xx) are
marked failed with the reason and never retried. A row is marked sent right after the
server accepted it; only a crash between the two can resend it, with the same Message-ID
so receivers can drop the duplicate.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parseaddr
from typing import Any

import aiosmtplib
from sqlalchemy.orm import Session, sessionmaker

from models import utcnow
from notifications import render_pool
from notifications.mime import Built, build_many
from notifications.outbox_store import CLAIM_BATCH, LEASE, DeliveryReport, _load, _Recorder, claim
from notifications.smtp_transport import SmtpConfig, _classify, _connect, _Permanent, _transact

#: What callers import from here (the store and the transport live in their own modules).
__all__ = ["DeliveryReport", "SmtpConfig", "_connect", "_transact", "claim", "deliver_pending"]


@dataclass
class _Outgoing:
    id: int
    attempts: int
    recipient: str
    data: bytes


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
