"""What staff see and record on their pages: a leader's task list holds the major complaints to
decide (R-AS-4), a suggestion revisit is a task with its suggestion (R-RV-2), the result may be
marked as a rectification (R-KP-1) and a reply given by phone is recorded (R-HD-4)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from estatecare.server import create_app
from estatecare.webapp.accounts import set_password
from models import ComplaintEvent, Revisit, Staff
from models.enums import RevisitKind, RevisitMethod, Satisfaction
from tests.lifecycle_support import DOMAIN, LEAK, PASSWORD, World, csrf_in, make_world, sign_in


@pytest.fixture
def world(db_url: str, tmp_path: Path) -> World:
    w = make_world(db_url, tmp_path)
    with w.core.transaction() as s:
        for who in ("supervisor", "engineering-1", "head-engineering", "deputy-gm"):
            email = f"{who}@{DOMAIN}" if who == "deputy-gm" else f"{who}-ch@{DOMAIN}"
            set_password(s, email, PASSWORD)
    return w


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    with TestClient(create_app(world.core, clock=world.clock)) as c:
        yield c


def registered(client: TestClient, world: World, unit: str = "101", **fields: Any) -> str:
    r = client.post("/api/complaints", json={**LEAK, "unit": unit, "contact_email": ""})
    assert r.status_code == 201, r.text
    ref = str(r.json()["reference"])
    world.run_intake(ref)
    world.assess(ref, **fields)
    return ref


def post_step(client: TestClient, path: str, op: str, **fields: str) -> None:
    page = client.get(path)
    assert page.status_code == 200, page.text[:300]
    assert all(f'name="{name}"' in page.text for name in fields), "the page's form offers every field"
    version = re.search(r'name="version" value="(\d+)"', page.text)
    data = {"op": op, "csrf_token": csrf_in(page.text), **fields, **({"version": version.group(1)} if version else {})}
    r = client.post(path, data=data, follow_redirects=False)
    assert r.status_code in (200, 303), r.text[:500]


def test_the_deputy_gm_finds_a_major_complaint_to_decide_among_the_tasks(client: TestClient, world: World) -> None:
    ref = registered(client, world, severity="major")
    sign_in(client, f"deputy-gm@{DOMAIN}")
    tasks = client.get("/staff").text
    assert f"/staff/complaints/{ref}/decision" in tasks


def test_a_suggestion_revisit_is_the_visitors_task_and_its_page_shows_the_suggestion(
    client: TestClient, world: World
) -> None:
    ref = registered(client, world)
    complaint = world.complaint(ref)
    now = world.clock()
    with world.core.transaction() as s:
        supervisor = s.query(Staff).filter_by(email=f"supervisor-ch@{DOMAIN}").one()
        source = Revisit(
            estate_id=complaint.estate_id,
            complaint_id=complaint.id,
            kind=RevisitKind.COMPLAINT,
            method=RevisitMethod.ON_SITE,
            due_at=now,
            done_at=now,
            recorded_at=now,
            satisfaction=Satisfaction.SATISFIED,
            answers={"suggestions": "大堂加裝長椅"},
        )
        s.add(source)
        s.flush()
        s.add(
            Revisit(
                estate_id=complaint.estate_id,
                kind=RevisitKind.SUGGESTION,
                method=RevisitMethod.PHONE,
                visitor_id=supervisor.id,
                due_at=now,
                source_revisit_id=source.id,
            )
        )
    sign_in(client, f"supervisor-ch@{DOMAIN}")
    tasks = client.get("/staff").text
    link = re.search(r'href="(/staff/revisits/\d+)"', tasks)
    assert link and "大堂加裝長椅" in tasks
    page = client.get(link.group(1)).text
    assert f"建議回訪（關於 {ref}）" in page and "None" not in page


def test_the_handler_marks_a_rectification_and_the_head_records_a_reply_by_phone(
    client: TestClient, world: World
) -> None:
    ref = registered(client, world)
    sign_in(client, f"engineering-1-ch@{DOMAIN}")
    post_step(client, f"/staff/complaints/{ref}/resolution", "resolve", result="更換老化水管", rectification="yes")
    assert world.complaint(ref).rectification is True
    sign_in(client, f"head-engineering-ch@{DOMAIN}")
    post_step(client, f"/staff/complaints/{ref}/confirmation", "confirm", confirmed="yes", reply_by="phone")
    with world.core.transaction() as s:
        confirm = s.scalars(
            select(ComplaintEvent).where(
                ComplaintEvent.complaint_id == world.complaint(ref).id, ComplaintEvent.action == "confirm"
            )
        ).one()
        assert confirm.data["reply_by"] == "phone"


def test_the_supervisor_links_a_report_to_its_first_report_from_the_page_and_undoes_it(
    client: TestClient, world: World
) -> None:
    first = registered(client, world)
    second = registered(client, world, unit="102")
    sign_in(client, f"supervisor-ch@{DOMAIN}")
    assert f"/staff/complaints/{second}/duplicate" in client.get(f"/staff/complaints/{second}").text
    post_step(client, f"/staff/complaints/{second}/duplicate", "link", first_report=first, note="同一條喉管")
    linked = world.complaint(second)
    assert linked.duplicate_of_id == world.complaint(first).id and linked.status == "assessed"
    post_step(client, f"/staff/complaints/{second}/duplicate", "unlink", reason="樓上另一條喉管")
    assert world.complaint(second).duplicate_of_id is None
    history = client.get(f"/staff/complaints/{second}").text
    assert "已關聯至較早的投訴" in history and "已取消與較早報告的關聯" in history
