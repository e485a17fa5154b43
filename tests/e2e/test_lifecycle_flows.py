"""End to end: the REST API, the lifecycle flows on a real Prefect server, and a real SMTP
server (aiosmtpd) receiving every email."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from estatecare import runtime
from estatecare.dispatch import Dispatcher
from estatecare.server import create_app
from estatecare.services import lifecycle
from flows.deadline_sweep import deadline_sweep_flow
from flows.intake import intake_flow
from models import Assignment, Escalation
from tests.lifecycle_support import SIGNATURE_PNG, World, assess_via_api, make_world, resolve_and_confirm
from tests.smtp_server import SmtpTestServer

pytestmark = pytest.mark.prefect

LEAK = {
    "estate": "CH",
    "building": "1座",
    "unit": "101",
    "content": "浴室天花板漏水，請盡快處理 <script>alert(1)</script>",
    "complainant_name": "黃先生",
    "contact_phone": "13900000001",
    "contact_email": "wong@example.test",
}


@pytest.fixture
def world(prefect_api: str, smtp_server: SmtpTestServer, tmp_path: Path) -> Iterator[World]:
    w = make_world(f"sqlite:///{tmp_path / 'e2e.db'}", tmp_path, smtp_port=smtp_server.port)
    runtime.use_app(w.core)
    runtime.use_clock(w.clock)
    yield w
    runtime.use_app(None)
    runtime.use_clock(None)


@pytest.fixture
def dispatcher() -> Dispatcher:
    return Dispatcher(linger=0.05)


@pytest.fixture
def client(world: World, dispatcher: Dispatcher) -> Iterator[TestClient]:
    with TestClient(create_app(world.core, dispatcher, clock=world.clock)) as c:
        yield c


def settle(client: TestClient, dispatcher: Dispatcher) -> None:
    """Wait until every flow the API dispatched has run."""
    assert client.portal is not None
    client.portal.call(dispatcher.idle)


def received(smtp: SmtpTestServer, to: str) -> list[EmailMessage]:
    with smtp.lock:
        return [m for m in smtp.messages if to in str(m["To"])]


def wait_for(check: Callable[[], Any], timeout: float = 30.0) -> Any:
    until = time.monotonic() + timeout
    while time.monotonic() < until:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def post(client: TestClient, headers: dict[str, str] | None = None, **overrides: Any) -> str:
    r = client.post("/api/complaints", json={**LEAK, **overrides}, headers=headers)
    assert r.status_code == 201, r.text
    return str(r.json()["reference"])


def test_a_complaint_travels_from_post_to_closed_with_each_email_received(
    client: TestClient, dispatcher: Dispatcher, world: World, smtp_server: SmtpTestServer
) -> None:
    ref = post(client)
    settle(client, dispatcher)
    assert world.complaint(ref).status == "received"  # the keyword rules only suggest (R-AS-1..4)
    [assess_task] = received(smtp_server, "supervisor-ch@")
    assert ref in assess_task.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assess_via_api(client, world, ref)
    settle(client, dispatcher)
    assert world.complaint(ref).status == "assigned"
    [ack] = received(smtp_server, "wong@example.test")
    assert ref in str(ack["Subject"]) or ref in ack.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = ack.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "<script>" not in html and "&lt;script&gt;" in html
    [notice] = received(smtp_server, "engineering-1-ch@")
    assert ref in notice.get_body(("plain",)).get_content()  # type: ignore[union-attr]

    world.clock.advance(hours=2)
    r = client.post(
        f"/api/complaints/{ref}/resolution", json={"result": "已更換防水層"}, headers=world.auth("engineering-1")
    )
    assert r.status_code == 200, r.text
    settle(client, dispatcher)
    assert len(received(smtp_server, "head-engineering-ch@")) == 1
    client.post(
        f"/api/complaints/{ref}/resolution/confirmation",
        json={"confirmed": True},
        headers=world.auth("head-engineering"),
    )
    settle(client, dispatcher)
    assert len(received(smtp_server, "wong@example.test")) == 2  # acknowledgement, final reply
    [task] = received(smtp_server, "manager-ch@")
    assert ref in task.get_body(("plain",)).get_content()  # type: ignore[union-attr]

    world.clock.advance(days=1)
    r = client.post(
        f"/api/complaints/{ref}/revisits",
        headers=world.auth("manager"),
        json={"method": "on_site", "satisfaction": "satisfied", "signature_png_base64": SIGNATURE_PNG},
    )
    assert r.status_code == 200, r.text
    settle(client, dispatcher)
    detail = client.get(f"/api/complaints/{ref}", headers=world.auth("manager")).json()
    assert detail["status"] == "closed"
    assert [h["action"] for h in detail["history"]] == [
        "receive",
        "assess",
        "assign",
        "resolve",
        "confirm",
        "revisit",
        "close",
    ]
    assert sum(smtp_server.message_ids().values()) == len(smtp_server.message_ids())  # nothing sent twice


def test_a_missed_resolution_deadline_escalates_to_the_next_level_exactly_once(
    client: TestClient, dispatcher: Dispatcher, world: World, smtp_server: SmtpTestServer
) -> None:
    ref = post(client)
    settle(client, dispatcher)
    assess_via_api(client, world, ref)
    settle(client, dispatcher)
    due = world.complaint(ref).resolution_due_at
    assert due is not None
    world.clock.now = due
    world.clock.advance(minutes=1)
    assert client.portal is not None
    assert client.portal.call(deadline_sweep_flow) == 1
    world.clock.advance(minutes=5)
    assert client.portal.call(deadline_sweep_flow) == 0
    assert world.complaint(ref).escalation_level == 1
    with world.core.sessions() as s:
        assert s.scalar(select(func.count(Escalation.id))) == 1
    _, mail = received(smtp_server, "supervisor-ch@")  # the assess task, then the escalation
    assert ref in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_an_invalid_complaint_is_explained_and_closed(
    client: TestClient, dispatcher: Dispatcher, world: World, smtp_server: SmtpTestServer
) -> None:
    ref = post(client, content="開發商承諾的會所至今沒有建成")
    settle(client, dispatcher)
    assert len(received(smtp_server, "supervisor-ch@")) == 1  # the assessment task
    r = client.post(
        f"/api/complaints/{ref}/assessment",
        headers=world.auth("supervisor"),
        json={"valid": False, "explanation": "會所屬開發商責任，已轉交開發商跟進"},
    )
    assert r.json()["status"] == "closed"
    settle(client, dispatcher)
    mails = received(smtp_server, "wong@example.test")
    assert len(mails) == 2 and "開發商" in mails[-1].get_body(("plain",)).get_content()  # type: ignore[union-attr]


def test_an_unsatisfied_revisit_reopens_the_case_and_reassigns_it(
    client: TestClient, dispatcher: Dispatcher, world: World, smtp_server: SmtpTestServer
) -> None:
    ref = post(client)
    settle(client, dispatcher)
    assess_via_api(client, world, ref)
    settle(client, dispatcher)
    resolve_and_confirm(client, world, ref)
    r = client.post(
        f"/api/complaints/{ref}/revisits",
        headers=world.auth("manager"),
        json={
            "method": "on_site",
            "satisfaction": "unsatisfied",
            "shortcomings": "仍然滲水",
            "refusal_note": "住戶不肯簽名",
        },
    )
    assert r.status_code == 200, r.text
    settle(client, dispatcher)
    c = world.complaint(ref)
    assert c.status == "assigned"
    assert len(received(smtp_server, "engineering-1-ch@")) == 2  # the first notice and the one after reopening


def test_a_duplicate_is_linked_to_its_first_report_and_not_assigned_again(
    client: TestClient, dispatcher: Dispatcher, world: World, smtp_server: SmtpTestServer
) -> None:
    first = post(client)
    settle(client, dispatcher)
    assess_via_api(client, world, first)
    settle(client, dispatcher)
    second = post(client, complainant_name="周女士", contact_email="chow@example.test")
    settle(client, dispatcher)
    assert world.complaint(second).duplicate_of_id == world.complaint(first).id
    with world.core.sessions() as s:
        assert s.scalar(select(func.count(Assignment.id))) == 1
    assert len(received(smtp_server, "chow@example.test")) == 1  # acknowledged all the same


def test_a_written_complaint_reaches_leadership(
    client: TestClient, dispatcher: Dispatcher, world: World, smtp_server: SmtpTestServer
) -> None:
    ref = post(client, channel="letter", headers=world.auth("reception"))  # staff register letters
    settle(client, dispatcher)
    [mail] = received(smtp_server, "deputy-gm@")
    body = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert ref in body and "13900000001" not in body  # masked phone only (R-IN-6)


def test_the_intake_flow_run_twice_makes_one_assignment_and_sends_one_email(
    client: TestClient, world: World, smtp_server: SmtpTestServer
) -> None:
    from estatecare.services.records import in_transaction
    from estatecare.services.schemas import ComplaintIn

    core = world.core
    complaint = in_transaction(core.sessions, lambda s: lifecycle.submit(core, s, ComplaintIn(**LEAK), world.clock()))
    refs = in_transaction(core.sessions, lambda s: lifecycle.describe(s, [complaint.id]))
    assert client.portal is not None
    client.portal.call(intake_flow, refs)
    client.portal.call(intake_flow, refs)
    assert len(received(smtp_server, "supervisor-ch@")) == 1  # one assess task (R-AS-1..4)
    assess_via_api(client, world, complaint.reference)
    client.portal.call(intake_flow, refs)
    client.portal.call(intake_flow, refs)
    with core.sessions() as s:
        assert s.scalar(select(func.count(Assignment.id))) == 1
    assert len(received(smtp_server, "engineering-1-ch@")) == 1
    assert len(received(smtp_server, "wong@example.test")) == 1
