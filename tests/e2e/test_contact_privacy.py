"""Residents' contact data never appears in logs (R-IN-6).

A full lifecycle runs through the real processes: `estatecare web` (REST API, dispatcher,
lifecycle flows) against the session's Prefect server, and an aiosmtpd server that
refuses one resident's address (so a failed delivery is logged too). Then every log is
searched for the residents' names, phone numbers and email addresses: the web process's
output (uvicorn, our loggers, Prefect's console logs) and the Prefect run logs read back
through the API, with the flow runs' names, tags and parameters.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.lifecycle_support import SIGNATURE_PNG, World, make_world
from tests.smtp_server import SmtpTestServer, free_port

pytestmark = pytest.mark.prefect

HAPPY = {"complainant_name": "歐陽錦繡", "contact_phone": "13987654321", "contact_email": "jinxiu.ouyang@example.test"}
BOUNCING = {"complainant_name": "司徒美玉", "contact_phone": "13812340000", "contact_email": "meiyu.szeto@example.test"}
SECRETS = [*HAPPY.values(), *BOUNCING.values(), "jinxiu.ouyang", "meiyu.szeto", "87654321", "12340000"]


@pytest.fixture
def web(prefect_api: str, smtp_server: SmtpTestServer, tmp_path: Path) -> Iterator[tuple[str, World, Path]]:
    """`estatecare web` on a free port, on a seeded SQLite database, using the session's Prefect server."""
    db = f"sqlite:///{tmp_path / 'privacy.db'}"
    world = make_world(db, tmp_path)
    world.core.engine.dispose()
    port = free_port()
    (tmp_path / "prefect").mkdir()
    env = {
        **os.environ,
        "PREFECT_API_URL": prefect_api,
        "PREFECT_HOME": str(tmp_path / "prefect"),
        "PREFECT_LOGGING_LEVEL": "DEBUG",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "ESTATECARE_DATABASE_URL": db,
        "ESTATECARE_VAR_DIR": str(tmp_path),
        "ESTATECARE_WEB_PORT": str(port),
        "ESTATECARE_SMTP_PORT": str(smtp_server.port),
        "ESTATECARE_MAIL_CATCHER": "false",
    }
    log_path = tmp_path / "web.log"
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "estatecare", "web"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: proc.poll() is None and _healthy(base), timeout=300, what="the web process to start")
        yield base, world, log_path
    finally:
        proc.terminate()
        proc.wait(30)


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def wait_for(check: Callable[[], Any], timeout: float = 90.0, what: str = "the condition") -> Any:
    until = time.monotonic() + timeout
    while time.monotonic() < until:
        value = check()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


async def prefect_records() -> str:
    """Every Prefect log line, and every flow run's name, tags and parameters, as one text."""
    from prefect.client.orchestration import get_client

    parts: list[str] = []
    async with get_client() as client:
        offset = 0
        while batch := await client.read_logs(limit=200, offset=offset):
            parts.extend(f"{log.name} {log.message}" for log in batch)
            offset += len(batch)
        offset = 0
        while runs := await client.read_flow_runs(limit=200, offset=offset):
            parts.extend(f"{r.name} {r.tags} {r.parameters}" for r in runs)
            offset += len(runs)
        offset = 0
        while tasks := await client.read_task_runs(limit=200, offset=offset):
            parts.extend(f"{t.name} {t.tags}" for t in tasks)
            offset += len(tasks)
    return "\n".join(parts)


def test_no_log_of_a_full_run_contains_a_residents_name_phone_or_email(
    web: tuple[str, World, Path], smtp_server: SmtpTestServer
) -> None:
    import asyncio

    base, world, log_path = web
    smtp_server.reject[BOUNCING["contact_email"]] = 550
    complaint = {"estate": "CH", "building": "1座", "unit": "102", "content": "浴室天花板漏水，請盡快處理"}
    with httpx.Client(base_url=base, timeout=30) as http:

        def detail(ref: str) -> dict[str, Any]:
            r = http.get(f"/api/complaints/{ref}", headers=world.auth("manager"))
            assert r.status_code == 200, r.text
            return dict(r.json())

        def step(ref: str, path: str, who: str, body: dict[str, Any]) -> None:
            r = http.post(f"/api/complaints/{ref}/{path}", json=body, headers=world.auth(who))
            assert r.status_code == 200, r.text

        happy = http.post("/api/complaints", json={**complaint, **HAPPY}).json()["reference"]
        bouncing = http.post(
            "/api/complaints", json={**complaint, "unit": "201", "content": "電梯故障，困了十分鐘", **BOUNCING}
        ).json()["reference"]
        for ref in (happy, bouncing):  # the supervisor assesses each once its intake ran (R-AS-1..4)
            wait_for(lambda ref=ref: world.complaint(ref).intake_done, what=f"the intake of {ref}")
            step(ref, "assessment", "supervisor", {"valid": True, "category": "facility", "service_area": "repairs"})
        for ref in (happy, bouncing):
            wait_for(lambda ref=ref: detail(ref)["status"] == "assigned", what=f"{ref} to be assigned")
        handler = detail(happy)["assignee"].split("@")[0].removesuffix("-ch")
        step(happy, "resolution", handler, {"result": "已更換防水層"})
        step(happy, "resolution/confirmation", "head-engineering", {"confirmed": True})
        wait_for(lambda: detail(happy)["status"] == "revisit_due", what="the revisit to be due")
        revisit = {"method": "on_site", "satisfaction": "satisfied", "signature_png_base64": SIGNATURE_PNG}
        step(happy, "revisits", "manager", revisit)
        wait_for(lambda: detail(happy)["status"] == "closed", what="the complaint to close")
        # every email went out, and the refused one was tried and failed (so its failure is logged)
        wait_for(lambda: smtp_server.rcpt_attempts[BOUNCING["contact_email"]] >= 1, what="the refused address")
        with smtp_server.lock:
            to_resident = [m for m in smtp_server.messages if HAPPY["contact_email"] in str(m["To"])]
        assert len(to_resident) >= 2  # acknowledgement and final reply did reach the resident
    time.sleep(1.0)  # Prefect ships run logs in the background every ~0.5 s
    web_output = log_path.read_text(encoding="utf-8", errors="replace")
    prefect_logs = asyncio.run(prefect_records())
    assert happy in prefect_logs and bouncing in prefect_logs  # the runs and their logs are there
    assert "POST /api/complaints" in web_output  # the web process's output is captured
    leaks = {
        where: [s for s in SECRETS if s in text]
        for where, text in {"web process output": web_output, "Prefect run logs": prefect_logs}.items()
    }
    assert leaks == {"web process output": [], "Prefect run logs": []}
