"""The revisit rules: the service-centre manager makes a valid complaint's first revisit in person
(R-RV-3), the visitor is reminded before a revisit is due and late records can be counted
(R-RV-13), and a resident's suggestion gets its own revisit (R-RV-2). On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient
from sqlalchemy import select

from estatecare.services import lifecycle
from estatecare.services.records import in_transaction
from estatecare.webapp.accounts import set_password
from models import Revisit
from models.enums import RevisitKind, RevisitMethod
from tests.integration.test_keeping_informed import assigned, post, resolved_and_confirmed
from tests.integration.test_webapp import sign_in
from tests.lifecycle_support import DOMAIN, PASSWORD, SIGNATURE_PNG, World, csrf_in

ON_SITE = {"method": "on_site", "satisfaction": "satisfied", "signature_png_base64": SIGNATURE_PNG}


def revisit_due(client: TestClient, world: World) -> str:
    ref = assigned(client, world)
    resolved_and_confirmed(client, world, ref)
    return ref


def revisits(world: World, **where: Any) -> list[Revisit]:
    with world.core.sessions() as s:
        return list(s.scalars(select(Revisit).filter_by(**where).order_by(Revisit.id)))


def test_only_the_service_centre_manager_makes_a_valid_complaints_first_revisit(
    client: TestClient, world: World
) -> None:
    ref = revisit_due(client, world)
    for who in ("supervisor", "reception"):
        r = client.post(f"/api/complaints/{ref}/revisits", json=ON_SITE, headers=world.auth(who))
        assert r.status_code == 403 and "R-RV-3" in r.json()["detail"], (who, r.text)
    assert (
        world.complaint(ref).status == "revisit_due"
        and revisits(world, complaint_id=world.complaint(ref).id)[0].done_at is None
    )
    unsatisfied = {**ON_SITE, "satisfaction": "unsatisfied", "shortcomings": "仍有水漬"}
    post(client, world, ref, "revisits", "manager", unsatisfied)
    assert world.after_revisit(ref) == "reopened"
    resolved_and_confirmed(client, world, ref)
    # from the 2nd revisit on others may, by phone (R-RV-10)
    post(client, world, ref, "revisits", "supervisor", {"method": "phone", "satisfaction": "satisfied"})
    assert world.after_revisit(ref) == "closed"


def remind(world: World) -> list[int]:
    core, now = world.core, world.clock()
    return in_transaction(core.sessions, lambda s: lifecycle.send_reminders(core, s, now)).revisits


def test_the_visitor_is_reminded_once_before_a_complaint_or_work_order_revisit_is_due(
    client: TestClient, world: World
) -> None:
    ref = revisit_due(client, world)
    [complaint_revisit] = revisits(world, complaint_id=world.complaint(ref).id)
    r = client.post(
        "/api/work-orders",
        json={"estate": "CH", "kind": "major_repair", "completed_at": world.clock().isoformat()},
        headers=world.auth("manager"),
    )
    assert r.status_code == 201, r.text
    [order_revisit] = revisits(world, complaint_id=None)
    hours = world.core.policy.deadlines.revisit_reminder_hours

    world.clock.now = order_revisit.due_at - timedelta(hours=hours + 1)
    assert remind(world) == []
    world.clock.now = order_revisit.due_at - timedelta(hours=hours - 1)
    assert remind(world) == [order_revisit.id]
    assert remind(world) == []  # once per revisit
    [mail] = world.mails("revisit_reminder")
    assert mail.recipient_email.startswith("manager-") and mail.context["overdue"] is False
    assert f"/staff/revisits/{order_revisit.id}?t=" in mail.context["action_url"]

    world.clock.now = complaint_revisit.due_at - timedelta(hours=hours - 1)
    assert remind(world) == [complaint_revisit.id]
    [mail] = world.mails("revisit_reminder", ref)
    assert mail.recipient_email.startswith("manager-") and mail.context["subject_ref"] == ref
    assert f"/staff/complaints/{ref}/revisit?t=" in mail.context["action_url"]
    assert "complainant_phone" not in mail.context  # R-IN-6
    assert remind(world) == []


def test_a_late_revisit_record_is_stored_so_that_it_can_be_counted(client: TestClient, world: World) -> None:
    ref = revisit_due(client, world)
    done_at = world.clock()
    world.clock.advance(days=3)
    post(client, world, ref, "revisits", "manager", {**ON_SITE, "done_at": done_at.isoformat()})
    [revisit] = revisits(world, complaint_id=world.complaint(ref).id)
    assert revisit.done_at == done_at and revisit.recorded_at == world.clock()
    assert revisit.recorded_at is not None
    from models.revisit import is_late_record  # imported here: the rule this test is about

    assert is_late_record(revisit.recorded_at, world.core.deadlines.revisit_record_due(done_at))


def test_a_suggestion_made_during_a_revisit_gets_its_own_revisit_outside_the_complaint(
    client: TestClient, world: World
) -> None:
    ref = revisit_due(client, world)
    cid = world.complaint(ref).id
    post(client, world, ref, "revisits", "manager", {**ON_SITE, "suggestions": "希望大堂加裝座椅"})
    [source] = revisits(world, complaint_id=cid)
    [suggestion] = revisits(world, kind=RevisitKind.SUGGESTION)
    assert (suggestion.source_revisit_id, suggestion.complaint_id, suggestion.work_order_id) == (source.id, None, None)
    assert suggestion.method is RevisitMethod.PHONE and suggestion.sequence == 1
    assert suggestion.due_at == world.core.deadlines.complaint_revisit_due(world.clock())
    # the complaint closes on its own revisit: the suggestion's open revisit is not its
    assert world.after_revisit(ref) == "closed"
    [task] = [m for m in world.mails("revisit_task") if m.context["kind"] == "suggestion"]
    assert task.recipient_email.startswith("supervisor-") and task.context["summary"] == "希望大堂加裝座椅"
    assert f"/staff/revisits/{suggestion.id}?t=" in task.context["action_url"]

    listed = client.get("/api/revisits", params={"done": "false"}, headers=world.auth("supervisor")).json()
    [item] = [i for i in listed["items"] if i["id"] == suggestion.id]
    assert (item["kind"], item["subject"], item["suggestion"], item["unit"]) == (
        "suggestion",
        ref,
        "希望大堂加裝座椅",
        "1座 101",
    )
    assert item["visitor"] == f"supervisor-ch@{DOMAIN}" and item["source_revisit_id"] == source.id

    with world.core.transaction() as s:
        set_password(s, f"supervisor-ch@{DOMAIN}", PASSWORD)
    sign_in(client, "supervisor")
    page = client.get(f"/staff/revisits/{suggestion.id}")
    assert page.status_code == 200 and 'id="revisit-form"' in page.text
    r = client.post(
        f"/api/revisits/{suggestion.id}",
        json={"method": "phone", "satisfaction": "satisfied", "suggestions": "座椅款式可再商量"},
        headers=world.auth("supervisor"),
    )
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["work_order"] is None and answer["source_revisit_id"] == source.id
    [again] = [rv for rv in revisits(world, kind=RevisitKind.SUGGESTION) if rv.source_revisit_id == suggestion.id]
    assert answer["suggestion_revisit_id"] == again.id
    assert world.complaint(ref).status == "closed"
    # the done suggestion revisit waits for another supervisor's review (R-RV-9), named by its subject
    with world.core.transaction() as s:
        set_password(s, f"manager-ch@{DOMAIN}", PASSWORD)
    sign_in(client, "manager")
    home = client.get("/staff")
    assert home.status_code == 200, home.text
    assert f'href="/staff/revisits/{suggestion.id}"' in home.text and ref in home.text


def test_a_suggestion_made_during_a_work_orders_revisit_gets_its_own_revisit(client: TestClient, world: World) -> None:
    r = client.post(
        "/api/work-orders",
        json={"estate": "CH", "kind": "urgent_repair", "completed_at": world.clock().isoformat()},
        headers=world.auth("manager"),
    )
    order_ref = r.json()["reference"]
    [order_revisit] = revisits(world, complaint_id=None)
    r = client.post(
        f"/api/revisits/{order_revisit.id}",
        json={"method": "phone", "satisfaction": "satisfied", "suggestions": "維修前請先電話通知"},
        headers=world.auth("reception"),
    )
    assert r.status_code == 200, r.text
    [suggestion] = revisits(world, kind=RevisitKind.SUGGESTION)
    assert r.json()["suggestion_revisit_id"] == suggestion.id and suggestion.source_revisit_id == order_revisit.id
    listed = client.get("/api/revisits", params={"done": "false"}, headers=world.auth("manager")).json()
    [item] = [i for i in listed["items"] if i["id"] == suggestion.id]
    assert item["subject"] == order_ref and item["suggestion"] == "維修前請先電話通知"


def test_the_visitor_records_a_suggestion_revisit_from_the_signed_link_of_the_task_email(
    client: TestClient, world: World
) -> None:
    ref = revisit_due(client, world)
    post(client, world, ref, "revisits", "manager", {**ON_SITE, "suggestions": "希望大堂加裝座椅"})
    [suggestion] = revisits(world, kind=RevisitKind.SUGGESTION)
    [task] = [m for m in world.mails("revisit_task") if m.context["kind"] == "suggestion"]
    link = urlsplit(task.context["action_url"])
    token = parse_qs(link.query)["t"][0]
    page = client.get(f"{link.path}?{link.query}")  # nobody signed in: the link names the visitor
    assert page.status_code == 200 and 'id="revisit-form"' in page.text, page.text
    form = {"csrf_token": csrf_in(page.text), "t": token, "method": "phone", "satisfaction": "satisfied"}
    r = client.post(link.path, data=form)
    assert r.status_code == 200, r.text
    [done] = [rv for rv in revisits(world, kind=RevisitKind.SUGGESTION) if rv.id == suggestion.id]
    assert done.done_at is not None and done.visitor_id is not None
    assert client.get(f"{link.path}?{link.query}").status_code == 410  # the link is spent with the step
