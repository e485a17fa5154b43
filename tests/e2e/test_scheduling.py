"""Scheduled flows really run: `estatecare run` as a user starts it (its own Prefect server
on SQLite, the flow server serving the shipped deployments), with nothing but the schedules
to make things happen.

- scheduled deployments produce completed runs within a bounded wait, and `estatecare
  doctor` says so;
- a missed deadline escalates with no API call at all (the deadline-sweep schedule);
- mail deferred during an SMTP outage is delivered within two sender intervals after the
  server returns (the deliver-outbox schedule);
- the complaint page's link opens that complaint's runs, filtered, in the Prefect UI that
  ships with the pinned Prefect.

The sweeps run every 15 s here instead of every minute or five: the same code, sooner.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from estatecare.app import App
from estatecare.health import ScheduleStatus, check
from estatecare.services import lifecycle
from estatecare.services.records import in_transaction
from estatecare.services.schemas import ComplaintIn
from estatecare.settings import Settings
from flows._naming import runs_page
from models import Complaint, Escalation, Notification
from models.enums import NotificationStatus
from tests.e2e.browser_support import chromium_path
from tests.e2e.run_support import start_run
from tests.lifecycle_support import trusting_policy
from tests.smtp_server import SmtpTestServer, free_port

SWEEP_EVERY = 15  # seconds, for deliver-outbox and deadline-sweep
STARTUP = 300.0


@dataclass
class Running:
    """`estatecare run` in a subprocess, its settings, and its console output so far."""

    proc: subprocess.Popen[str]
    env: dict[str, str]
    settings: Settings
    core: App
    smtp: SmtpTestServer
    output: list[str] = field(default_factory=list)

    def doctor(self) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "estatecare", "doctor"], env=self.env, capture_output=True, text=True, timeout=120
        )

    def health(self) -> Any:
        return asyncio.run(check(self.settings))

    def submit(self, content: str, **fields: str) -> str:
        """A complaint registered at the front desk (no API call; the web process's sweep takes it on)."""
        data = ComplaintIn.model_validate({"estate": "CH", "channel": "front_desk", "content": content, **fields})
        return in_transaction(
            self.core.sessions, lambda s: lifecycle.submit(self.core, s, data, datetime.now(UTC)).reference
        )

    def complaint(self, reference: str) -> Complaint:
        with self.core.sessions() as s:
            found = s.scalar(select(Complaint).where(Complaint.reference == reference))
            assert found is not None
            return found


def wait_for(check: Callable[[], Any], timeout: float, what: str, every: float = 1.0) -> Any:
    until = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > until:
            raise AssertionError(f"not within {timeout:.0f} s: {what}")
        time.sleep(every)


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    tmp = tmp_path_factory.mktemp("scheduling")
    smtp = SmtpTestServer()
    smtp.start()
    prefect_port, web_port = free_port(), free_port()
    policy = trusting_policy(tmp)  # the rules assess alone: the subject here is the scheduled work
    run = start_run(
        tmp / "var",
        policy_file=str(policy),
        prefect_port=str(prefect_port),
        web_port=str(web_port),
        smtp_port=str(smtp.port),
        mail_catcher="false",
        outbox_every_seconds=str(SWEEP_EVERY),
        deadline_sweep_every_seconds=str(SWEEP_EVERY),
        sweep_every_seconds="2",
        sweep_age_seconds="1",
    )
    proc, output = run.proc, run.lines
    settings = Settings(
        var_dir=tmp / "var",
        policy_file=policy,
        prefect_port=prefect_port,
        web_port=web_port,
        smtp_port=smtp.port,
        mail_catcher=False,
        outbox_every_seconds=SWEEP_EVERY,
        deadline_sweep_every_seconds=SWEEP_EVERY,
    )
    try:
        wait_for(
            lambda: proc.poll() is not None or any("Press Ctrl-C to stop." in line for line in output),
            STARTUP,
            "estatecare run printed that it is running",
        )
        assert proc.poll() is None, "".join(output)
        core = App.from_settings(settings)
        yield Running(proc, run.env, settings, core, smtp, output)
        core.engine.dispose()
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(90)
            except subprocess.TimeoutExpired:
                proc.kill()
        smtp.stop()
        print("".join(output))


def test_scheduled_deployments_complete_runs_by_themselves_and_doctor_says_so(running: Running) -> None:
    def outbox_ran_twice() -> bool:
        by_name = {s.deployment: s for s in running.health().schedules}
        return by_name["deliver-outbox/deliver-outbox"].completed_runs >= 2 and (
            by_name["deadline-sweep/deadline-sweep"].completed_runs >= 1
        )

    try:
        wait_for(outbox_ran_twice, 180, "deliver-outbox completed 2 scheduled runs and deadline-sweep 1", every=3)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{running.doctor().stdout}") from None
    health = running.health()
    assert all(p.up for p in health.parts), health.parts
    assert {s.deployment for s in health.schedules} == {
        "deliver-outbox/deliver-outbox",
        "deadline-sweep/deadline-sweep",
        "intake-sweep/intake-sweep",
        "monthly-sampling/monthly-sampling",
        "monthly-summary/monthly-summary",
    }
    for schedule in health.schedules:  # every schedule is in the scheduler's hands: it has a next run
        assert schedule.status is ScheduleStatus.OK, schedule
        assert schedule.next_scheduled_at is not None, schedule
    doctor = running.doctor()
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "deliver-outbox/deliver-outbox" in doctor.stdout and "all parts up" in doctor.stdout
    body = httpx.get(f"http://127.0.0.1:{running.settings.web_port}/api/health", timeout=30).json()
    assert body["status"] == "ok" and set(body["parts"].values()) == {"up"}
    log = (running.settings.var_dir / "prefect-server.log").read_text(encoding="utf-8", errors="replace")
    assert "bulk DML" not in log


def test_a_missed_deadline_escalates_with_no_api_call(running: Running) -> None:
    ref = running.submit("電梯經常故障停運，長者上落很不方便", building="1座", unit="101", complainant_name="陳太")
    wait_for(lambda: running.complaint(ref).status == "assigned", 120, f"{ref} assigned by the intake sweep")
    assert running.complaint(ref).escalation_level == 0
    with running.core.transaction() as s:  # the deadline passes
        s.execute(
            update(Complaint)
            .where(Complaint.reference == ref)
            .values(resolution_due_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    started = time.monotonic()
    wait_for(lambda: running.complaint(ref).escalation_level == 1, 6 * SWEEP_EVERY, f"{ref} escalated")
    print(f"escalated {time.monotonic() - started:.1f} s after its deadline was set in the past")
    with running.core.sessions() as s:
        complaint_id = running.complaint(ref).id
        assert s.scalar(select(func.count(Escalation.id)).where(Escalation.complaint_id == complaint_id)) == 1


def test_mail_deferred_in_an_smtp_outage_goes_out_within_two_sender_intervals(running: Running) -> None:
    running.smtp.stop()
    ref = running.submit("大堂的燈壞了一個星期", building="2座", unit="302", contact_email="lee@example.test")

    def deferred_ack() -> Notification | None:
        with running.core.sessions() as s:
            row = s.scalar(
                select(Notification).where(
                    Notification.recipient_email == "lee@example.test", Notification.template == "complaint_ack"
                )
            )
            return row if row is not None and row.attempts >= 1 else None

    row = wait_for(deferred_ack, 120, f"the acknowledgement of {ref} tried while the server is down")
    assert row.status is not NotificationStatus.SENT and "refused" in row.last_error, row.last_error
    time.sleep(SWEEP_EVERY)  # a longer outage: the scheduled sender tries again and fails again
    running.smtp.start()
    back = time.monotonic()

    def sent() -> bool:
        with running.core.sessions() as s:
            return s.get(Notification, row.id).status is NotificationStatus.SENT  # type: ignore[union-attr]

    wait_for(sent, 2 * SWEEP_EVERY + 5, "the deferred acknowledgement sent", every=0.5)
    print(f"sent {time.monotonic() - back:.1f} s after the SMTP server came back")
    assert [m["To"] for m in running.smtp.messages if "lee@example.test" in str(m["To"])] == ["lee@example.test"]


def test_the_complaint_pages_prefect_link_shows_only_that_complaints_runs(running: Running) -> None:
    path = chromium_path()
    if path is None:
        message = "chromium is not installed (make .venv/.installed installs Debian's chromium as root)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import expect, sync_playwright

    with running.core.sessions() as s:
        # the last two registered: the demo history's complaints come before them
        refs = list(s.scalars(select(Complaint.reference).order_by(Complaint.id.desc()).limit(2)))[::-1]
    assert len(refs) >= 2, "the tests before this one registered two complaints"
    mine, other = refs[0], refs[1]
    ui = f"http://127.0.0.1:{running.settings.prefect_port}"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=path,
            args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-background-networking", "--no-first-run"],
        )
        try:
            page = browser.new_page()
            page.goto(runs_page(ui, mine))
            expect(page.get_by_text(f"intake {mine}").first).to_be_visible(timeout=60_000)
            expect(page.get_by_text(f"intake {other}")).to_have_count(0)
            shots = Path(os.environ.get("ESTATECARE_TEST_ARTIFACTS", "var/test-artifacts")) / "browser"
            shots.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shots / "prefect-ui-complaint-runs.png"), full_page=True)
        finally:
            browser.close()
