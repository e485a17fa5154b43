"""Distributed mode and its faults, on real processes (docs/operations.md, "Distributed mode").

PostgreSQL for our data and for the Prefect server, the deployments on a process work
pool, two workers, the web process starting deployment runs, a real SMTP server. The
tests share one cluster and run in order: the 500-complaint run, then each fault while
complaints are being processed. Every test ends by checking exactly-once effects: one
assignment and one history record per step for each complaint, and each email received
once by the SMTP server. (SMTP down and back is covered by
tests/integration/test_delivery.py; Prefect down at intake by tests/e2e/test_prefect_outage.py.)
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from models import Complaint, Notification
from tests.conftest import PG_ADMIN_URL, _pg_admin
from tests.distributed_support import Cluster, terminate_our_connections, wait_for
from tests.smtp_server import SmtpTestServer

pytestmark = [pytest.mark.postgres, pytest.mark.prefect]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    admin = _pg_admin()
    if admin is None:
        pytest.skip(f"PostgreSQL not reachable at {PG_ADMIN_URL} (required when CI=true)")
    smtp = SmtpTestServer()
    smtp.start()
    made = Cluster.create(admin, tmp_path_factory.mktemp("distributed"), smtp)
    try:
        made.start()
        yield made
    finally:
        made.stop()
        smtp.stop()
        admin.dispose()


def _acked(cluster: Cluster, refs: list[str]) -> int:
    return int(
        cluster.scalar(
            select(func.count())
            .select_from(Notification)
            .join(Complaint, Complaint.id == Notification.complaint_id)
            .where(Complaint.reference.in_(refs), Notification.template == "complaint_ack")
        )
    )


def test_500_complaints_on_two_workers_are_each_assigned_once_and_each_email_sent_once(cluster: Cluster) -> None:
    start = time.monotonic()
    refs, codes = cluster.post(500, tag="bulk")
    assert codes == {201: 500}, codes
    try:
        cluster.wait_processed(refs, timeout=420)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{cluster.logs()}") from exc
    took = time.monotonic() - start
    counts = cluster.check_exactly_once(refs)
    assert counts["emails"] == 1000
    submitted = {w: cluster.log(f"worker-{w}", 10**7).count("submitting flow run") for w in ("w1", "w2")}
    assert all(submitted.values()), f"both workers should have run flows: {submitted}"
    print(f"500 complaints through intake on 2 workers in {took:.0f} s; flow runs per worker: {submitted}")


def test_dropped_database_connections_give_503_or_a_retry_and_nothing_half_written(cluster: Cluster) -> None:
    assert cluster.engine is not None
    database = cluster.engine.url.database
    assert database is not None
    dropped = 0

    async def traffic_and_drops() -> tuple[list[str], dict[int, int]]:
        async def drops() -> None:
            nonlocal dropped
            for _ in range(12):
                await asyncio.sleep(0.4)
                dropped += await asyncio.to_thread(terminate_our_connections, cluster.admin, database)

        task = asyncio.create_task(drops())
        refs, codes = await asyncio.to_thread(cluster.post, 100, tag="dbdrop", concurrency=10)
        await task
        return refs, dict(codes)

    refs, codes = asyncio.run(traffic_and_drops())
    assert dropped > 0
    assert set(codes) <= {201, 503}, f"only 201 or a clear 503 may be answered: {codes}"
    assert len(refs) == 100, codes  # the client retried each 503 and every complaint got in
    # Nothing half-written: every stored complaint has its first history record.
    orphans = cluster.scalar(
        select(func.count())
        .select_from(Complaint)
        .where(~Complaint.events.any())
        .where(Complaint.content.like("%dbdrop%"))
    )
    assert orphans == 0
    stored = cluster.scalar(select(func.count()).select_from(Complaint).where(Complaint.content.like("%dbdrop%")))
    assert stored >= len(refs)
    # Drop connections again while the workers process them: their steps retry.
    for _ in range(5):
        terminate_our_connections(cluster.admin, database)
        time.sleep(1)
    try:
        cluster.wait_processed(refs, timeout=300)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{cluster.logs()}") from exc
    cluster.check_exactly_once(refs)
    print(f"{dropped} connections dropped; answers {codes}")


def test_a_prefect_server_restart_mid_run_loses_no_complaint_and_doubles_none(cluster: Cluster) -> None:
    refs, codes = cluster.post(80, tag="restart")
    assert codes == {201: 80}
    wait_for("intake under way", lambda: _acked(cluster, refs) > 0, 180, every=0.2)
    cluster.stop_server()
    more, codes = cluster.post(20, tag="restart-down")  # intake never waits for Prefect
    assert codes == {201: 20}
    time.sleep(3)
    cluster.start_server()
    refs += more
    try:
        cluster.wait_processed(refs, timeout=360)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{cluster.logs()}") from exc
    cluster.check_exactly_once(refs)
    assert all(w.poll() is None for w in cluster.workers.values()), "a worker did not survive the restart"


def test_a_worker_killed_mid_flow_has_its_work_recovered_without_duplicates(cluster: Cluster) -> None:
    refs, codes = cluster.post(150, tag="sigkill")
    assert codes == {201: 150}
    # The middle of a flow: some complaints of the batch acknowledged, most not yet.
    wait_for("an intake run half-way", lambda: 0 < _acked(cluster, refs) < len(refs), 180, every=0.05)
    busy = {name: _descendants(w.pid) for name, w in cluster.workers.items()}
    victim = next((name for name, kids in busy.items() if kids), None)
    assert victim is not None, "no worker is running a flow"
    acked_at_kill = _acked(cluster, refs)
    # SIGKILL the worker and the flow-run process it started (Prefect puts that in its own session).
    for pid in busy[victim]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    cluster.kill_worker(victim)
    assert 0 < acked_at_kill < len(refs)
    try:
        cluster.wait_processed(refs, timeout=360)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{cluster.logs()}") from exc
    cluster.check_exactly_once(refs)
    cluster.start_worker(victim)  # leave the cluster whole
    print(f"killed worker {victim} and its flow run ({acked_at_kill}/{len(refs)} acknowledged); all recovered")


def _descendants(pid: int) -> list[int]:
    """Every live process started (directly or not) by ``pid``."""
    children: dict[int, list[int]] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(proc.name))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found
