"""Intake loses nothing: with the Prefect server down, complaints are still accepted (201);
when it comes back, the web process's sweep takes every one of them through intake.

Runs the real processes: `estatecare web` and `prefect server start`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import create_engine, func, select, text

from estatecare import prefect_server
from estatecare.app import App
from estatecare.demo import seed_demo
from estatecare.migrate import upgrade
from estatecare.settings import Settings
from models import Complaint, Notification
from tests.smtp_server import SmtpTestServer, free_port

pytestmark = pytest.mark.prefect


@pytest.fixture
def web_without_prefect(tmp_path: Path, smtp_server: SmtpTestServer) -> Iterator[tuple[str, dict[str, str], str]]:
    """`estatecare web` on a free port, pointed at a Prefect API port where nothing listens yet."""
    db = f"sqlite:///{tmp_path / 'outage.db'}"
    upgrade(db)
    core = App.from_settings(Settings(database_url=db, var_dir=tmp_path))
    with core.transaction() as s:
        seed_demo(s, core.policy)
    core.engine.dispose()
    web_port, prefect_port = free_port(), free_port()
    env = {
        **prefect_server.prefect_env(tmp_path, prefect_port),
        "ESTATECARE_DATABASE_URL": db,
        "ESTATECARE_VAR_DIR": str(tmp_path),
        "ESTATECARE_WEB_PORT": str(web_port),
        "ESTATECARE_SMTP_PORT": str(smtp_server.port),
        "ESTATECARE_PUBLIC_FORM_RATE": "1000/minute",  # every complaint comes from this one address
        "ESTATECARE_MAIL_CATCHER": "false",
        "ESTATECARE_SWEEP_EVERY_SECONDS": "2",
        "ESTATECARE_SWEEP_AGE_SECONDS": "1",
    }
    log = (tmp_path / "web.log").open("ab")
    web = subprocess.Popen(
        [sys.executable, "-m", "estatecare", "web"], env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{web_port}"
    try:
        _wait(base, web)
        yield base, env, db
    finally:
        web.terminate()
        try:
            # With the Prefect server already stopped, a sweep run still in flight makes Prefect's
            # event client retry before exiting; that slow stop is not what this test is about.
            web.wait(60)
        except subprocess.TimeoutExpired:
            web.kill()
            web.wait()


def _wait(base: str, proc: subprocess.Popen[bytes]) -> None:
    import time

    until = time.monotonic() + 120
    while time.monotonic() < until:
        if proc.poll() is not None:
            raise RuntimeError(f"the web process exited with code {proc.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise TimeoutError("the web process did not start")


def test_complaints_posted_while_prefect_is_down_are_all_processed_when_it_returns(
    web_without_prefect: tuple[str, dict[str, str], str], tmp_path: Path
) -> None:
    import time

    base, env, db = web_without_prefect
    refs = []
    for i in range(20):
        r = httpx.post(
            f"{base}/api/complaints",
            json={
                "estate": "CH",
                "building": "2座",
                "unit": f"{1 + i % 5}0{1 + i % 2}",
                "content": f"{i} 號單位門外水管漏水",
                "complainant_name": "林太太",
                "contact_email": f"r{i}@example.test",
            },
            timeout=30,
        )
        assert r.status_code == 201, r.text
        refs.append(r.json()["reference"])
    engine = create_engine(db)
    with engine.connect() as conn:
        assert conn.execute(text("select count(*) from complaint where intake_done")).scalar() == 0

    server = prefect_server.start_child(
        ["prefect", "server", "start", "--host", "127.0.0.1", "--port", env["PREFECT_SERVER_API_PORT"]],
        tmp_path / "prefect-server.log",
        env,
    )
    try:
        prefect_server.wait_healthy(env["PREFECT_API_URL"], proc=server)
        until = time.monotonic() + 180
        done = 0
        while time.monotonic() < until:
            with engine.connect() as conn:
                done = conn.execute(select(func.count()).select_from(Complaint).where(Complaint.intake_done)).scalar()
            if done == 20:
                break
            time.sleep(1)
        assert done == 20, (tmp_path / "web.log").read_text()[-3000:]
        with engine.connect() as conn:
            statuses = conn.execute(select(Complaint.reference, Complaint.status)).all()
            tasked = set(
                conn.execute(
                    select(Complaint.reference)
                    .join(Notification, Notification.complaint_id == Complaint.id)
                    .where(Notification.template == "assess_task")
                ).scalars()
            )
        assert {ref for ref, _ in statuses} == set(refs)
        waiting = {ref for ref, status in statuses if status == "received"}
        assert waiting and waiting <= tasked  # each waits for the supervisor, its assess task queued (R-AS-1..4)
    finally:
        prefect_server.stop_process(server)
        engine.dispose()
