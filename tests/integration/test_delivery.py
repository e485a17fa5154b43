"""Delivery of the outbox to a real SMTP server (aiosmtpd on localhost)."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from models import Notification, utcnow
from models.enums import Locale, NotificationStatus
from notifications.outbox import queue
from notifications.samples import SAMPLE_CONTEXTS
from notifications.sender import DeliveryReport, SmtpConfig, _connect, _transact, deliver_pending
from tests.smtp_server import SmtpTestServer

TZ = "Asia/Shanghai"


def queue_acks(sessions: sessionmaker[Session], n: int, *, prefix: str = "r", content: str | None = None) -> list[int]:
    ctx = dict(SAMPLE_CONTEXTS["complaint_ack"])
    if content is not None:
        ctx["content"] = content
    with sessions() as s, s.begin():
        rows = [
            queue(
                s,
                template="complaint_ack",
                to_email=f"{prefix}{i}@example.com",
                locale=Locale.ZH_HANT,
                context=ctx,
                key=f"{prefix}-{i}",
            )
            for i in range(n)
        ]
        s.flush()
        return [r.id for r in rows]


def config_for(server: SmtpTestServer, connections: int = 2, *, render_helper: bool = False) -> SmtpConfig:
    return SmtpConfig(
        host="127.0.0.1", port=server.port, timeout=5, connections=connections, render_helper=render_helper
    )


def statuses(sessions: sessionmaker[Session]) -> dict[int, Notification]:
    with sessions() as s:
        return {n.id: n for n in s.scalars(select(Notification))}


def test_queued_messages_are_sent_once_with_their_message_id_and_marked_sent(
    sessions: sessionmaker[Session], smtp_server: SmtpTestServer
) -> None:
    ids = queue_acks(sessions, 5)
    report = asyncio.run(deliver_pending(sessions, config_for(smtp_server), TZ))
    assert sorted(report.sent) == ids and not report.failed and not report.deferred
    rows = statuses(sessions)
    assert {rows[i].status for i in ids} == {NotificationStatus.SENT}
    assert all(rows[i].sent_at is not None for i in ids)
    assert smtp_server.message_ids() == {rows[i].message_id: 1 for i in ids}
    again = asyncio.run(deliver_pending(sessions, config_for(smtp_server), TZ))
    assert again.claimed == 0 and len(smtp_server.messages) == 5


def test_a_script_in_the_complaint_arrives_escaped_in_the_html_part(
    sessions: sessionmaker[Session], smtp_server: SmtpTestServer
) -> None:
    evil = '<script>alert("x")</script><b onclick="steal()">漏水</b> & more'
    queue_acks(sessions, 1, content=evil)
    asyncio.run(deliver_pending(sessions, config_for(smtp_server), TZ))
    (msg,) = smtp_server.messages
    html = msg.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    text = msg.get_body(preferencelist=("plain",)).get_content()  # type: ignore[union-attr]
    assert "<script>" not in html and "<b onclick" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "&amp; more" in html
    assert evil in text  # the plain part is plain


@pytest.mark.parametrize(
    ("message", "arrives"),
    [
        # built messages: CRLF lines, sent without aiosmtplib's rewriting, dots stuffed
        (b"Subject: a\r\n\r\n.first\r\nmiddle\r\n..two\r\n.\r\nend\r\n", None),
        # anything else goes through SMTP.data, which normalises the line ends
        (b"Subject: b\n\n.first\rmiddle\r\nend", b"Subject: b\r\n\r\n.first\r\nmiddle\r\nend\r\n"),
    ],
)
def test_message_data_arrives_byte_for_byte_with_lines_that_start_with_a_dot(
    smtp_server: SmtpTestServer, message: bytes, arrives: bytes | None
) -> None:
    async def send() -> None:
        smtp = await _connect(config_for(smtp_server))
        try:
            await _transact(smtp, "no-reply@example.com", "r@example.com", message)
        finally:
            await smtp.quit()

    asyncio.run(send())
    assert smtp_server.raw == [arrives or message]


def test_a_5xx_answer_marks_the_notification_failed_with_the_reason_and_it_is_not_retried(
    sessions: sessionmaker[Session], smtp_server: SmtpTestServer
) -> None:
    ids = queue_acks(sessions, 3)
    smtp_server.reject["r1@example.com"] = 550
    report = asyncio.run(deliver_pending(sessions, config_for(smtp_server, connections=1), TZ))
    assert report.failed == [ids[1]] and sorted(report.sent) == [ids[0], ids[2]]
    assert "550" in report.failures[ids[1]]
    row = statuses(sessions)[ids[1]]
    assert row.status is NotificationStatus.FAILED and "550" in row.last_error and row.attempts == 1
    later = utcnow() + timedelta(days=30)
    again = asyncio.run(deliver_pending(sessions, config_for(smtp_server), TZ, now=later))
    assert again.claimed == 0
    assert smtp_server.rcpt_attempts["r1@example.com"] == 1


def test_a_4xx_answer_defers_the_notification_with_a_backoff(
    sessions: sessionmaker[Session], smtp_server: SmtpTestServer
) -> None:
    (nid,) = queue_acks(sessions, 1)
    smtp_server.reject["r0@example.com"] = 451
    t0 = utcnow()
    report = asyncio.run(deliver_pending(sessions, config_for(smtp_server), TZ, now=t0))
    assert report.deferred == [nid]
    row = statuses(sessions)[nid]
    assert row.status is NotificationStatus.PENDING and row.attempts == 1 and "451" in row.last_error
    assert row.next_attempt_at >= t0 + timedelta(seconds=30)
    assert asyncio.run(deliver_pending(sessions, config_for(smtp_server), TZ, now=t0)).claimed == 0
    del smtp_server.reject["r0@example.com"]
    done = asyncio.run(deliver_pending(sessions, config_for(smtp_server), TZ, now=t0 + timedelta(hours=1)))
    assert done.sent == [nid] and len(smtp_server.messages) == 1


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_30_second_outage_delays_but_every_one_of_100_messages_arrives_exactly_once(
    sessions: sessionmaker[Session], smtp_server: SmtpTestServer
) -> None:
    ids = queue_acks(sessions, 100)
    smtp_server.stop()
    config = config_for(smtp_server, connections=4)
    start = time.monotonic()
    tick = 0
    reports: list[DeliveryReport] = []
    while time.monotonic() - start < 30:  # a real 30 s outage; the sweep keeps trying
        tick += 1
        report = asyncio.run(deliver_pending(sessions, config, TZ, now=utcnow() + timedelta(days=tick)))
        assert not report.sent and not report.failed
        reports.append(report)
        time.sleep(2)
    assert sum(len(r.deferred) for r in reports) >= 100
    rows = statuses(sessions)
    assert all(rows[i].status is NotificationStatus.PENDING and rows[i].attempts >= 1 for i in ids)
    smtp_server.start()
    while True:  # back up: sweeps drain the outbox, honouring the backoff schedule
        tick += 1
        report = asyncio.run(deliver_pending(sessions, config, TZ, now=utcnow() + timedelta(days=tick)))
        if report.claimed == 0:
            break
    rows = statuses(sessions)
    assert {rows[i].status for i in ids} == {NotificationStatus.SENT}
    assert smtp_server.message_ids() == {rows[i].message_id: 1 for i in ids}


def test_mail_deferred_while_the_server_was_unreachable_goes_out_at_the_first_sweep_after_it_returns(
    sessions: sessionmaker[Session], smtp_server: SmtpTestServer
) -> None:
    [row_id] = queue_acks(sessions, 1)
    smtp_server.stop()
    config = config_for(smtp_server, connections=1)
    for _ in range(6):  # a long outage: six sweeps could not connect
        report = asyncio.run(deliver_pending(sessions, config, TZ))
        assert report.deferred == [row_id]
    row = statuses(sessions)[row_id]
    assert row.status is NotificationStatus.PENDING and row.attempts == 6 and "Connect" in row.last_error
    smtp_server.start()
    report = asyncio.run(deliver_pending(sessions, config, TZ))  # the very next sweep, not after a backoff
    assert report.sent == [row_id]
    assert smtp_server.message_ids() == {statuses(sessions)[row_id].message_id: 1}


def test_two_concurrent_senders_send_each_message_once(
    sessions: sessionmaker[Session], smtp_server: SmtpTestServer
) -> None:
    ids = queue_acks(sessions, 200)
    config = config_for(smtp_server, connections=2)

    async def both() -> list[DeliveryReport]:
        # each sender runs in its own thread with its own event loop and connections
        return list(
            await asyncio.gather(
                asyncio.to_thread(asyncio.run, deliver_pending(sessions, config, TZ, limit=120)),
                asyncio.to_thread(asyncio.run, deliver_pending(sessions, config, TZ, limit=120)),
            )
        )

    first, second = asyncio.run(both())
    assert not set(first.sent) & set(second.sent)
    rest = asyncio.run(deliver_pending(sessions, config, TZ))
    assert sorted(first.sent + second.sent + rest.sent) == ids
    counts = smtp_server.message_ids()
    assert len(counts) == 200 and set(counts.values()) == {1}


def test_attachments_and_a_chinese_recipient_name_arrive_intact(
    sessions: sessionmaker[Session], smtp_server: SmtpTestServer
) -> None:
    blob = bytes(range(256)) * 40
    with sessions() as s, s.begin():
        queue(
            s,
            template="monthly_summary",
            to_email="gm@example.com",
            to_name="總經理 王先生",
            locale="zh-Hans",
            context=SAMPLE_CONTEXTS["monthly_summary"],
            key="m-1",
            attachments=[("投訴統計 2026-11.xlsx", "application/vnd.ms-excel", blob), ("a.txt", "text/plain", b"x")],
        )
    report = asyncio.run(deliver_pending(sessions, config_for(smtp_server), TZ))
    assert len(report.sent) == 1
    (msg,) = smtp_server.messages
    assert str(msg["To"]) == "總經理 王先生 <gm@example.com>"
    assert str(msg["Subject"]) == "2026年11月投诉及回访月报：翠湖花園"
    files = {a.get_filename(): a.get_content() for a in msg.iter_attachments()}
    assert files == {"投訴統計 2026-11.xlsx": blob, "a.txt": "x"}
    html = msg.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    assert "未达标" in html


def test_two_sender_processes_send_each_message_once(
    db_url: str, sessions: sessionmaker[Session], smtp_server: SmtpTestServer
) -> None:
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from tests.sender_process import deliver_in_batches

    ids = queue_acks(sessions, 120)
    smtp_server.delay = 0.02  # a slowish server, so neither sender can drain the outbox alone
    ctx = multiprocessing.get_context("spawn")
    with ctx.Manager() as manager, ProcessPoolExecutor(2, mp_context=ctx) as pool:
        barrier = manager.Barrier(2)  # both processes are imported and connected before either claims
        futures = [pool.submit(deliver_in_batches, db_url, smtp_server.port, barrier) for _ in range(2)]
        first, second = (f.result(timeout=120) for f in futures)
    assert first and second  # both really worked at the same time
    assert not set(first) & set(second)
    assert sorted(first + second) == ids
    counts = smtp_server.message_ids()
    assert len(counts) == 120 and set(counts.values()) == {1}


def test_a_claim_takes_at_most_its_limit_and_never_a_claimed_row(sessions: sessionmaker[Session]) -> None:
    from notifications.sender import claim

    ids = queue_acks(sessions, 25)
    now = utcnow()
    first = claim(sessions, now=now, limit=10)
    second = claim(sessions, now=now, limit=10)
    third = claim(sessions, now=now, limit=10)
    assert first == ids[:10] and second == ids[10:20] and third == ids[20:]
    assert claim(sessions, now=now, limit=10) == []
    assert len(claim(sessions, now=now + timedelta(hours=1), limit=100)) == 25  # leases expired: reclaimable


def helper_up() -> ProcessPoolExecutor:
    """Start the render helper process and wait until it is up."""
    from notifications import render_pool

    deadline = time.monotonic() + 60
    while (pool := render_pool.HELPER.ready()) is None:
        assert time.monotonic() < deadline, "the render helper did not start"
        time.sleep(0.2)
    return pool


def test_a_large_batch_built_in_the_helper_process_arrives_once_each_with_refusals_and_render_errors_recorded(
    sessions: sessionmaker[Session], smtp_server: SmtpTestServer
) -> None:
    from notifications import render_pool

    helper_up()
    before = render_pool.HELPER.chunks_built
    ids = queue_acks(sessions, 207)  # several chunks of the helper
    assert len(ids) >= render_pool.MIN_ROWS
    with sessions() as s, s.begin():  # a row whose context no longer renders: its template needs "reference"
        broken = s.get(Notification, ids[150])
        assert broken is not None
        broken.context = {k: v for k, v in broken.context.items() if k != "reference"}
    smtp_server.reject["r40@example.com"] = 550
    report = asyncio.run(deliver_pending(sessions, config_for(smtp_server, 4, render_helper=True), TZ, limit=len(ids)))
    assert sorted(report.failed) == [ids[40], ids[150]]
    assert "550" in report.failures[ids[40]] and "cannot render" in report.failures[ids[150]]
    rows = statuses(sessions)
    assert sorted(report.sent) == sorted(set(ids) - {ids[40], ids[150]})
    assert smtp_server.message_ids() == {rows[i].message_id: 1 for i in report.sent}
    assert render_pool.HELPER.chunks_built - before >= 3, "the helper process built the batch"


def test_a_helper_process_that_dies_leaves_its_chunks_to_the_sender(
    sessions: sessionmaker[Session], smtp_server: SmtpTestServer
) -> None:
    import os
    import signal

    from notifications import render_pool

    pool = helper_up()
    for pid in list(pool._processes):  # the test kills the helper on purpose
        os.kill(pid, signal.SIGKILL)
    ids = queue_acks(sessions, render_pool.MIN_ROWS + 20)
    report = asyncio.run(deliver_pending(sessions, config_for(smtp_server, 2, render_helper=True), TZ, limit=len(ids)))
    assert sorted(report.sent) == ids and not report.failed
    rows = statuses(sessions)
    assert smtp_server.message_ids() == {rows[i].message_id: 1 for i in ids}
