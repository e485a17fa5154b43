"""A person assesses every complaint (R-AS-1..4): the keyword rules only suggest, the task goes to
the supervisor or, for a suggested major one, the service-centre manager; the page and the API
show the suggestion with its evidence, and confirming it is one submit."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from estatecare.server import create_app
from models import ComplaintEvent
from models.policy import DEFAULT_POLICY_FILE
from tests.lifecycle_support import PASSWORD, World, make_world


@pytest.fixture
def world(db_url: str, tmp_path: Path) -> World:
    return make_world(db_url, tmp_path)


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    with TestClient(create_app(world.core, clock=world.clock)) as c:
        yield c


def submit(client: TestClient, content: str, **more: Any) -> str:
    body = {"estate": "CH", "building": "1座", "unit": "101", "content": content, "contact_phone": "13900000001"}
    r = client.post("/api/complaints", json={**body, **more})
    assert r.status_code == 201, r.text
    return str(r.json()["reference"])


@pytest.mark.parametrize("content", ["樓上住戶發火罵人", "走廊有人抽煙", "樓下火鍋店油煙", "保安態度差"])
def test_near_misses_wait_for_the_supervisor_and_reach_no_leader(
    client: TestClient, world: World, content: str
) -> None:
    ref = submit(client, content)
    world.run_intake(ref)
    c = world.complaint(ref)
    assert (c.status, c.severity, c.urgency) == ("received", "general", "normal")
    assert [m.recipient_email.split("@")[0] for m in world.mails("assess_task", ref)] == ["supervisor-ch"]
    assert world.mails("escalation", ref) == []


def test_a_suggested_major_one_goes_to_the_service_centre_manager_with_its_evidence(
    client: TestClient, world: World
) -> None:
    ref = submit(client, "3座電梯困人，有人被困，撳警鐘冇人應")
    world.run_intake(ref)
    c = world.complaint(ref)
    assert c.status == "received" and c.response_due_at is not None
    assert (c.response_due_at - c.received_at).total_seconds() == 30 * 60  # suggested urgent (R-HD-1)
    [task] = world.mails("assess_task", ref)
    assert task.recipient_email.startswith("manager-ch@")
    severity = next(f for f in task.context["suggestion"] if f["field"] == "severity")
    assert severity["value"] == "major" and severity["evidence"][0]["rule"] == "trapped now"
    assert "被困" in severity["evidence"][0]["words"] and severity["confident"] is False


def test_the_api_shows_the_suggestion_only_to_staff_who_may_assess(client: TestClient, world: World) -> None:
    ref = submit(client, "小區門口的市政道路有個大坑")
    world.run_intake(ref)
    seen = client.get(f"/api/complaints/{ref}", headers=world.auth("supervisor")).json()["suggestion"]
    assert seen["valid"] is False and seen["assessor_role"] == "property_supervisor"
    [valid] = [f for f in seen["fields"] if f["field"] == "valid"]
    assert valid == {"field": "valid", "value": "no", "confident": False, "evidence": [
        {"rule": "municipal", "words": ["市政"]}
    ]}  # fmt: skip
    assert client.get(f"/api/complaints/{ref}", headers=world.auth("engineering-1")).json()["suggestion"] is None


def _sign_in(client: TestClient, world: World, who: str) -> None:
    from estatecare.services.records import in_transaction
    from estatecare.webapp.accounts import set_password

    email = f"{who}-ch@estatecare.localhost"
    in_transaction(world.core.sessions, lambda s: set_password(s, email, PASSWORD))
    page = client.get("/staff/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    r = client.post(
        "/staff/login",
        data={"email": email, "password": PASSWORD, "csrf_token": token.group(1)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text


def test_the_page_is_filled_in_with_the_suggestion_so_one_submit_confirms_it(client: TestClient, world: World) -> None:
    ref = submit(client, "廚房天花板漏水，已經滴了兩天")
    world.run_intake(ref)
    _sign_in(client, world, "supervisor")
    page = client.get(f"/staff/complaints/{ref}/assessment")
    assert page.status_code == 200
    assert re.search(r'id="suggested-category".*?漏水', page.text, re.S)
    assert re.search(r'<option value="facility" selected>', page.text)
    assert re.search(r'<option value="repairs" selected>', page.text)
    form = {
        name: value
        for name, value in re.findall(r'<input type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page.text)
    }
    form.update({"valid": "yes", "category": "facility", "service_area": "repairs"})
    form.update({"severity": "general", "urgency": "normal", "explanation": ""})
    r = client.post(f"/staff/complaints/{ref}/assessment", data=form)
    assert r.status_code == 200, r.text[:500]
    c = world.complaint(ref)
    assert (c.status, c.category, c.service_area) == ("assessed", "facility", "repairs")
    with world.core.sessions() as s:
        record = s.scalars(select(ComplaintEvent).where(ComplaintEvent.action == "assess")).one()
    assert record.data["corrected"] == [] and record.data["suggested"]["category"] == "facility"


def test_a_policy_trusting_its_rules_for_every_field_assesses_without_a_person(db_url: str, tmp_path: Path) -> None:
    leak = (
        'service_area = "repairs"\napply_alone = ["category", "service_area"]\n\n[[assessment.rules]]\nname = "no power'
    )
    every = 'service_area = "repairs"\napply_alone = ["category", "service_area", "urgency", "severity", "valid"]\n'
    text = DEFAULT_POLICY_FILE.read_text(encoding="utf-8")
    assert leak in text
    text = text.replace(leak, every + '\n[[assessment.rules]]\nname = "no power')
    policy = tmp_path / "trusting.toml"
    policy.write_text(text, encoding="utf-8")
    world = make_world(db_url, tmp_path, policy_file=policy)
    with TestClient(create_app(world.core, clock=world.clock)) as client:
        ref = submit(client, "廚房天花板漏水，已經滴了兩天")
        world.run_intake(ref)
    c = world.complaint(ref)
    assert (c.status, c.category, c.valid) == ("assigned", "facility", True)
    assert world.mails("assess_task", ref) == []
