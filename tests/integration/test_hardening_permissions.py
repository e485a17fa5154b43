"""The permissions matrix through the REST API and the web app, on real SQLite and PostgreSQL:
who confirms a result (R-HD-6), who may touch a complaint assigned to someone else (progress,
transfer sheet, attachments), and another estate's references answered like unknown ones."""

from __future__ import annotations

import re
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select

from estatecare.demo import seed_demo
from estatecare.reads.tasks import my_tasks
from estatecare.server import create_app
from estatecare.services.people import Actor
from estatecare.webapp.accounts import set_password
from models import ComplaintAttachment, Escalation, Staff, WorkOrder
from tests.integration.test_security import BODIES
from tests.lifecycle_support import DOMAIN, LEAK, PASSWORD, World, make_world

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


@pytest.fixture
def world(db_url: str, tmp_path: Path) -> World:
    w = make_world(db_url, tmp_path, attachments_dir=tmp_path / "store", attachments_min_free_mb=0)
    with w.core.transaction() as s:
        for who in ("manager", "engineering-1", "cleaning-1"):
            set_password(s, f"{who}-ch@{DOMAIN}", PASSWORD)
    return w


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    with TestClient(create_app(world.core, clock=world.clock), raise_server_exceptions=False) as c:
        yield c


def assigned(client: TestClient, world: World, **overrides: Any) -> str:
    """An engineering complaint assigned to engineering-1 by the intake rules (R-HD-2)."""
    r = client.post("/api/complaints", json={**LEAK, **overrides})
    assert r.status_code == 201, r.text
    ref = str(r.json()["reference"])
    world.intake(ref, who="supervisor-tw" if overrides.get("estate") == "TW" else "supervisor")
    c = world.complaint(ref)
    assert c.status == "assigned"
    return ref


def post(client: TestClient, world: World, ref: str, step: str, who: str, body: dict[str, Any]) -> Any:
    return client.post(f"/api/complaints/{ref}/{step}", json=body, headers=world.auth(who))


def confirm_tasks(world: World, who: str) -> list[str]:
    """The references on ``who``'s task list (the web app's inbox) waiting for their confirmation."""
    with world.core.sessions() as s:
        staff = s.scalar(select(Staff).where(Staff.email == f"{who}-ch@{DOMAIN}"))
        assert staff is not None
        return [t.reference for t in my_tasks(s, Actor.of(staff), world.clock()) if t.kind == "confirm"]


def stored_files(world: World) -> list[Path]:
    return [p for p in world.core.settings.attachments_path.rglob("*") if p.is_file()]


# --------------------------------------------------------------------------- confirmation (R-HD-6)


def test_a_head_of_another_department_cannot_confirm_a_result(client: TestClient, world: World) -> None:
    ref = assigned(client, world)
    assert post(client, world, ref, "resolution", "engineering-1", {"result": "已更換水管接頭"}).status_code == 200
    for who in ("head-security", "head-cleaning"):
        r = post(client, world, ref, "resolution/confirmation", who, {"confirmed": True})
        assert r.status_code == 403 and "department" in r.json()["detail"], (who, r.text)
        r = post(client, world, ref, "resolution/confirmation", who, {"confirmed": False, "note": "重做"})
        assert r.status_code == 403, (who, r.text)
    assert world.complaint(ref).status == "resolved"
    r = post(client, world, ref, "resolution/confirmation", "head-engineering", {"confirmed": True})
    assert r.status_code == 200 and r.json()["status"] == "revisit_due"


def test_a_head_of_another_department_cannot_record_the_result_either(client: TestClient, world: World) -> None:
    ref = assigned(client, world)
    r = post(client, world, ref, "resolution", "head-security", {"result": "已處理"})
    assert r.status_code == 403, r.text
    assert world.complaint(ref).status == "assigned"


def test_the_head_who_recorded_the_result_cannot_confirm_it(client: TestClient, world: World) -> None:
    ref = assigned(client, world)
    assert post(client, world, ref, "resolution", "head-engineering", {"result": "我親自修好"}).status_code == 200
    r = post(client, world, ref, "resolution/confirmation", "head-engineering", {"confirmed": True})
    assert r.status_code == 403 and "yourself" in r.json()["detail"], r.text
    assert world.complaint(ref).status == "resolved"
    # engineering has no other head: the confirmation goes one level up, to the estate's supervisor
    [task] = world.mails("confirm_task", ref)
    assert task.recipient_email.startswith("supervisor-ch@")
    assert confirm_tasks(world, "supervisor") == [ref] and confirm_tasks(world, "head-engineering") == []
    r = post(client, world, ref, "resolution/confirmation", "supervisor", {"confirmed": True})
    assert r.status_code == 200 and r.json()["status"] == "revisit_due"


def test_a_supervisor_does_not_confirm_while_the_department_head_can(client: TestClient, world: World) -> None:
    ref = assigned(client, world)
    assert post(client, world, ref, "resolution", "engineering-1", {"result": "已更換水管接頭"}).status_code == 200
    [task] = world.mails("confirm_task", ref)
    assert task.recipient_email.startswith("head-engineering-ch@")
    assert confirm_tasks(world, "head-engineering") == [ref] and confirm_tasks(world, "supervisor") == []
    assert confirm_tasks(world, "head-security") == []
    for who in ("supervisor", "manager", "gm"):
        r = post(client, world, ref, "resolution/confirmation", who, {"confirmed": True})
        assert r.status_code == 403, (who, r.text)
    assert world.complaint(ref).status == "resolved"


# --------------------------------------------------------------------------- a case assigned to someone else


def test_a_handler_not_assigned_gets_403_for_progress_transfer_and_attachments(
    client: TestClient, world: World
) -> None:
    ref = assigned(client, world)
    before = world.complaint(ref).version
    for who in ("cleaning-1", "engineering-2", "head-cleaning", "reception"):
        r = post(client, world, ref, "progress", who, {"message": "已安排"})
        assert r.status_code == 403, (who, "progress", r.text)
        r = post(client, world, ref, "escalation", who, {"reason": "需要上級決定"})
        assert r.status_code == 403, (who, "escalation", r.text)
        r = client.get(f"/api/complaints/{ref}/attachments", headers=world.auth(who))
        assert r.status_code == 403, (who, "list attachments", r.text)
        r = client.post(
            f"/api/complaints/{ref}/attachments",
            params={"filename": "a.png"},
            content=PNG,
            headers={**world.auth(who), "content-type": "image/png"},
        )
        assert r.status_code == 403, (who, "upload", r.text)
    assert world.complaint(ref).version == before
    assert world.mails("progress_update", ref) == [] and world.mails("transfer_sheet", ref) == []
    assert stored_files(world) == []
    with world.core.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Escalation)) == 0
        assert s.scalar(select(func.count()).select_from(ComplaintAttachment)) == 0


def test_the_assignee_the_department_head_and_the_supervisors_may(client: TestClient, world: World) -> None:
    ref = assigned(client, world)
    for who in ("engineering-1", "head-engineering", "supervisor", "manager", "gm"):
        r = post(client, world, ref, "progress", who, {"message": f"{who} 跟進中"})
        assert r.status_code == 200, (who, r.text)
        r = client.post(
            f"/api/complaints/{ref}/attachments",
            params={"filename": f"{who}.png"},
            content=PNG,
            headers={**world.auth(who), "content-type": "image/png"},
        )
        assert r.status_code == 201, (who, r.text)
        r = client.get(f"/api/complaints/{ref}/attachments", headers=world.auth(who))
        assert r.status_code == 200 and len(r.json()) >= 1, (who, r.text)
    assert len(world.mails("progress_update", ref)) == 5
    r = post(client, world, ref, "escalation", "engineering-1", {"reason": "需要更換整條立管"})
    assert r.status_code == 200 and r.json()["escalation_level"] == 1


def _png() -> bytes:
    buf = BytesIO()
    Image.new("RGB", (40, 30), (200, 80, 80)).save(buf, format="PNG")
    return buf.getvalue()


def _csrf(text: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', text)
    assert match, text[:500]
    return match.group(1)


def sign_in(client: TestClient, who: str) -> None:
    client.cookies.clear()
    token = _csrf(client.get("/staff/login").text)
    r = client.post(
        "/staff/login",
        data={"email": f"{who}-ch@{DOMAIN}", "password": PASSWORD, "next": "/staff", "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text


def test_in_the_web_app_a_handler_not_assigned_sees_no_photos_and_cannot_post_progress_or_a_transfer(
    client: TestClient, world: World
) -> None:
    form = client.get("/complaints/new")
    r = client.post(
        "/complaints/new",
        data={**{k: v for k, v in LEAK.items()}, "csrf_token": _csrf(form.text)},
        files=[("photos", ("leak.png", _png(), "image/png"))],
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    ref = r.headers["location"].rsplit("/", 1)[-1]
    world.intake(ref)
    with world.core.sessions() as s:
        photo_id = s.scalar(select(ComplaintAttachment.id))
    photo = f"/staff/complaints/{ref}/photos/{photo_id}"

    sign_in(client, "cleaning-1")
    page = client.get(f"/staff/complaints/{ref}")
    assert page.status_code == 200 and photo not in page.text
    assert f"/staff/complaints/{ref}/resolution" not in page.text  # no "Handle" button for those who may not
    assert client.get(photo).status_code == 403
    form = client.get(f"/staff/complaints/{ref}/resolution")
    token = _csrf(form.text)
    for op, fields in (("progress", {"message": "已安排"}), ("transfer", {"reason": "需要上級決定"})):
        r = client.post(f"/staff/complaints/{ref}/resolution", data={"op": op, **fields, "csrf_token": token})
        assert r.status_code == 403, (op, r.text[:300])
    assert world.mails("progress_update", ref) == [] and world.mails("transfer_sheet", ref) == []

    sign_in(client, "engineering-1")  # the assignee
    page = client.get(f"/staff/complaints/{ref}")
    assert photo in page.text and client.get(photo).status_code == 200
    assert f"/staff/complaints/{ref}/resolution" in page.text


# --------------------------------------------------------------------------- another estate's references


@pytest.fixture
def theirs(client: TestClient, world: World) -> str:
    """A complaint of a second estate (TW), assigned and with an attachment."""
    with world.core.transaction() as s:
        tw = {m.email.split("@")[0]: m.token for m in seed_demo(s, world.core.policy, code="TW")}
    world.tokens["manager-tw"] = tw["manager-tw"]
    world.tokens["supervisor-tw"] = tw["supervisor-tw"]
    ref = assigned(client, world, estate="TW")
    r = client.post(
        f"/api/complaints/{ref}/attachments",
        params={"filename": "a.png"},
        content=PNG,
        headers={**world.auth("manager-tw"), "content-type": "image/png"},
    )
    assert r.status_code == 201, r.text
    return ref


def unknown_like(reference: str) -> str:
    """A reference of the same shape that does not exist."""
    return reference[:-6] + ("ZZZZZZ" if not reference.endswith("ZZZZZZ") else "YYYYYY")


def reference_requests(client: TestClient, reference: str) -> list[tuple[str, str, dict[str, Any]]]:
    """Every API route that takes a complaint reference, with valid arguments (and a stale version)."""
    out: list[tuple[str, str, dict[str, Any]]] = []
    for path, methods in client.get("/openapi.json").json()["paths"].items():
        if "{reference}" not in path:
            continue
        url = path.replace("{reference}", reference)
        for method in methods:
            if method == "post" and path.endswith("/attachments"):
                out.append(("POST", url, {"params": {"filename": "a.png"}, "content": PNG}))
            elif method == "post":
                body = next(b for suffix, b in BODIES.items() if path.endswith(suffix))
                out.append(("POST", url, {"json": body}))
                out.append(("POST", url, {"json": {**body, "version": 99}}))
            else:
                out.append((method.upper(), url, {}))
    return out


def test_the_api_answers_another_estates_reference_exactly_like_an_unknown_one(
    client: TestClient, world: World, theirs: str
) -> None:
    unknown = unknown_like(theirs)
    before = world.complaint(theirs).version
    requests = reference_requests(client, theirs)
    assert len({(m, u) for m, u, _ in requests}) >= 12
    for who in ("manager", "supervisor", "head-engineering", "engineering-1", "reception"):
        for method, url, kwargs in requests:
            foreign = client.request(method, url, headers=world.auth(who), **kwargs)
            missing = client.request(method, url.replace(theirs, unknown), headers=world.auth(who), **kwargs)
            assert foreign.status_code == missing.status_code == 404, (who, method, url, foreign.text)
            assert foreign.text.replace(theirs, "REF") == missing.text.replace(unknown, "REF"), (who, method, url)
    assert world.complaint(theirs).version == before  # nothing moved


def test_the_web_pages_answer_another_estates_reference_exactly_like_an_unknown_one(
    client: TestClient, world: World, theirs: str
) -> None:
    unknown = unknown_like(theirs)
    before = world.complaint(theirs).version
    with world.core.sessions() as s:
        photo_id = s.scalar(select(ComplaintAttachment.id))
    pages = [
        "/staff/complaints/{ref}",
        *(f"/staff/complaints/{{ref}}/{task}" for task in ("assessment", "resolution", "confirmation", "revisit")),
        "/staff/complaints/{ref}/decision",
        "/staff/complaints/{ref}/escalation",
        f"/staff/complaints/{{ref}}/photos/{photo_id}",
        "/staff/complaints/{ref}/revisits/1/signature.png",
    ]
    posts = [
        ("assessment", {"op": "assess", "valid": "yes", "category": "facility"}),
        ("resolution", {"op": "progress", "message": "已安排"}),
        ("resolution", {"op": "resolve", "result": "已修好"}),
        ("confirmation", {"op": "confirm", "confirmed": "yes"}),
    ]
    for who in ("manager", "engineering-1"):
        sign_in(client, who)
        token = _csrf(client.get("/staff").text)
        for page in pages:
            foreign = client.get(page.format(ref=theirs))
            missing = client.get(page.format(ref=unknown))
            assert foreign.status_code == missing.status_code == 404, (who, page, foreign.status_code)
            assert foreign.text.replace(theirs, "REF") == missing.text.replace(unknown, "REF"), (who, page)
        for task, data in posts:
            foreign = client.post(f"/staff/complaints/{theirs}/{task}", data={**data, "csrf_token": token})
            missing = client.post(f"/staff/complaints/{unknown}/{task}", data={**data, "csrf_token": token})
            assert foreign.status_code == missing.status_code == 404, (who, task, foreign.status_code)
            assert foreign.text.replace(theirs, "REF") == missing.text.replace(unknown, "REF"), (who, task)
    assert world.complaint(theirs).version == before


def test_a_work_order_links_only_to_a_complaint_of_its_own_estate(
    client: TestClient, world: World, theirs: str
) -> None:
    ours = assigned(client, world, building="2座", unit="202")
    order = {"estate": "CH", "kind": "repair", "description": "更換水管"}
    # staff of CH: another estate's reference is answered exactly like an unknown one
    foreign = client.post("/api/work-orders", json={**order, "complaint": theirs}, headers=world.auth("manager"))
    missing = client.post(
        "/api/work-orders", json={**order, "complaint": unknown_like(theirs)}, headers=world.auth("manager")
    )
    assert foreign.status_code == missing.status_code == 404, foreign.text
    assert foreign.text.replace(theirs, "REF") == missing.text.replace(unknown_like(theirs), "REF")
    # a leader sees both estates, and still cannot put a CH order on a TW complaint
    r = client.post("/api/work-orders", json={**order, "complaint": theirs}, headers=world.auth("gm"))
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "complaint"], r.text
    with world.core.sessions() as s:
        assert s.scalar(select(func.count()).select_from(WorkOrder)) == 0
    r = client.post("/api/work-orders", json={**order, "complaint": ours}, headers=world.auth("manager"))
    assert r.status_code == 201, r.text
    with world.core.sessions() as s:
        [linked] = s.scalars(select(WorkOrder)).all()
        assert linked.complaint_id == world.complaint(ours).id


def test_a_duplicate_of_another_estate_is_answered_like_an_unknown_reference(
    client: TestClient, world: World, theirs: str
) -> None:
    r = client.post("/api/complaints", json={**LEAK, "content": "管理費太貴了"})
    ref = str(r.json()["reference"])
    body = {"valid": True, "category": "facility"}
    foreign = post(client, world, ref, "assessment", "supervisor", {**body, "duplicate_of": theirs})
    missing = post(client, world, ref, "assessment", "supervisor", {**body, "duplicate_of": unknown_like(theirs)})
    assert foreign.status_code == missing.status_code, (foreign.text, missing.text)
    assert foreign.text.replace(theirs, "REF") == missing.text.replace(unknown_like(theirs), "REF")
    assert world.complaint(ref).status == "received"
