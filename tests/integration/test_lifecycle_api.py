"""The REST API over the lifecycle services, on real SQLite and PostgreSQL (no Prefect here:
the automatic steps are run the way the flows run them)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from estatecare.services import lifecycle
from estatecare.services.records import in_transaction
from models import Assignment, Escalation
from tests.lifecycle_support import LEAK, SIGNATURE_PNG, World, resolve_and_confirm


def submit(client: TestClient, headers: dict[str, str] | None = None, **overrides: Any) -> str:
    r = client.post("/api/complaints", json={**LEAK, **overrides}, headers=headers)
    assert r.status_code == 201, r.text
    return str(r.json()["reference"])


def actions(client: TestClient, world: World, ref: str) -> list[str]:
    r = client.get(f"/api/complaints/{ref}", headers=world.auth("manager"))
    assert r.status_code == 200, r.text
    return [h["action"] for h in r.json()["history"]]


def test_a_complaint_goes_from_post_to_closed_with_every_email_and_history_record(
    client: TestClient, world: World
) -> None:
    ref = submit(client)
    assert world.complaint(ref).status == "received"
    world.run_intake(ref)
    assert world.complaint(ref).status == "received"  # the rules only suggest: the supervisor assesses
    [task] = world.mails("assess_task", ref)
    assert task.recipient_email.startswith("supervisor-")
    suggested = client.get(f"/api/complaints/{ref}", headers=world.auth("supervisor")).json()["suggestion"]
    assert (suggested["category"], suggested["service_area"]) == ("facility", "repairs")
    r = client.post(
        f"/api/complaints/{ref}/assessment",
        headers=world.auth("supervisor"),
        json={"valid": True, "category": "facility", "service_area": "repairs", "urgency": "urgent"},
    )
    assert r.json()["status"] == "assessed", r.text
    world.run_intake(ref)  # what the assessment's follow-up runs: the assignment
    detail = client.get(f"/api/complaints/{ref}", headers=world.auth("manager")).json()
    assert (detail["status"], detail["category"], detail["urgency"], detail["department"]) == (
        "assigned",
        "facility",
        "urgent",
        "engineering",
    )
    assert detail["assignee"].startswith("engineering-1")
    assert [m.recipient_email for m in world.mails("complaint_ack", ref)] == ["wong@example.test"]
    [notice] = world.mails("work_arrangement", ref)
    assert notice.recipient_email.startswith("engineering-1") and notice.context["complainant_phone"] == "13900000001"

    world.clock.advance(hours=3)
    r = client.post(
        f"/api/complaints/{ref}/resolution", json={"result": "已更換水管接頭"}, headers=world.auth("engineering-1")
    )
    assert r.json()["status"] == "resolved"
    assert [m.recipient_email.split("-ch@")[0] for m in world.mails("confirm_task", ref)] == ["head-engineering"]
    r = client.post(
        f"/api/complaints/{ref}/resolution/confirmation",
        json={"confirmed": True},
        headers=world.auth("head-engineering"),
    )
    assert r.json()["status"] == "revisit_due"
    assert [m.recipient_email for m in world.mails("final_reply", ref)] == ["wong@example.test"]
    [task] = world.mails("revisit_task", ref)
    assert task.recipient_email.startswith("manager-")

    world.clock.advance(days=1)
    r = client.post(
        f"/api/complaints/{ref}/revisits",
        headers=world.auth("manager"),
        json={"method": "on_site", "satisfaction": "satisfied", "quality": "好", "signature_png_base64": SIGNATURE_PNG},
    )
    assert r.status_code == 200, r.text
    assert world.after_revisit(ref) == "closed"
    assert world.after_revisit(ref) == "nothing"
    assert actions(client, world, ref) == ["receive", "assess", "assign", "resolve", "confirm", "revisit", "close"]
    detail = client.get(f"/api/complaints/{ref}", headers=world.auth("manager")).json()
    assert detail["status"] == "closed" and detail["revisits"][0]["signed"] is True


def test_running_intake_twice_makes_one_assignment_and_one_email(client: TestClient, world: World) -> None:
    ref = submit(client)
    world.intake(ref)
    world.intake(ref)
    with world.core.sessions() as s:
        assert s.scalar(select(func.count(Assignment.id))) == 1
    assert len(world.mails("work_arrangement", ref)) == 1
    assert len(world.mails("complaint_ack", ref)) == 1


def test_a_text_the_rules_cannot_assess_goes_to_the_supervisor_who_can_declare_it_invalid(
    client: TestClient, world: World
) -> None:
    ref = submit(client, content="開發商承諾的會所至今沒有建成")
    world.run_intake(ref)
    assert world.complaint(ref).status == "received"
    [task] = world.mails("assess_task", ref)
    assert task.recipient_email.startswith("supervisor-")
    r = client.post(f"/api/complaints/{ref}/assessment", json={"valid": False}, headers=world.auth("supervisor"))
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "explanation"]
    r = client.post(
        f"/api/complaints/{ref}/assessment",
        headers=world.auth("supervisor"),
        json={"valid": False, "explanation": "會所屬開發商責任，已轉交開發商跟進"},
    )
    assert r.json()["status"] == "closed"
    [mail] = world.mails("invalid_explanation", ref)
    assert mail.context["explanation"].startswith("會所屬開發商")
    assert actions(client, world, ref) == ["receive", "reject_invalid", "close"]


def test_an_unsatisfied_revisit_reopens_and_reassigns_the_complaint(client: TestClient, world: World) -> None:
    ref = submit(client)
    world.intake(ref)
    resolve_and_confirm(client, world, ref)
    r = client.post(
        f"/api/complaints/{ref}/revisits",
        headers=world.auth("manager"),
        json={
            "method": "on_site",
            "satisfaction": "unsatisfied",
            "shortcomings": "仍然滴水",
            "refusal_note": "住戶拒絕簽名，態度不滿",
        },
    )
    assert r.status_code == 200, r.text
    assert world.after_revisit(ref) == "reopened"
    c = world.complaint(ref)
    assert c.status == "assigned"
    assert actions(client, world, ref)[-3:] == ["revisit", "reopen", "assign"]
    assert len(world.mails("work_arrangement", ref)) == 2


def test_two_flats_each_reporting_their_own_leak_are_both_handled(client: TestClient, world: World) -> None:
    """R-IN-5 links one problem reported several times; the flat next door has a leak of its own."""
    first = submit(client)
    world.intake(first)
    world.clock.advance(hours=1)
    second = submit(client, unit="102", complainant_name="周女士", contact_email="chow@example.test")
    world.intake(second)
    detail = client.get(f"/api/complaints/{second}", headers=world.auth("manager")).json()
    assert detail["duplicate_of"] is None and detail["status"] == "assigned" and detail["assignee"] is not None
    assert client.get(f"/api/complaints/{first}", headers=world.auth("manager")).json()["duplicates"] == []


def test_renovation_noise_goes_to_the_management_office_not_to_cleaning(client: TestClient, world: World) -> None:
    """R-HD-2: the service area names the responsible department before the category does."""
    ref = submit(client, content="樓上單位裝修，每日朝早八點開始電鑽，嘈到瞓唔到")
    world.intake(ref, category="environment", service_area="housing")
    detail = client.get(f"/api/complaints/{ref}", headers=world.auth("manager")).json()
    assert detail["department"] == "management_office", detail


def test_a_later_report_of_the_same_problem_is_linked_to_the_first(client: TestClient, world: World) -> None:
    first = submit(client)
    world.intake(first)
    world.clock.advance(hours=1)
    second = submit(client, complainant_name="周女士", contact_email="chow@example.test")
    world.run_intake(second)
    detail = client.get(f"/api/complaints/{second}", headers=world.auth("manager")).json()
    assert detail["duplicate_of"] == first and detail["status"] == "assessed" and detail["assignee"] is None
    assert client.get(f"/api/complaints/{first}", headers=world.auth("manager")).json()["duplicates"] == [second]
    resolve_and_confirm(client, world, first)
    assert sorted(m.recipient_email for m in world.mails("final_reply")) == ["chow@example.test", "wong@example.test"]


def test_a_written_complaint_reaches_leadership(client: TestClient, world: World) -> None:
    ref = submit(client, channel="letter", headers=world.auth("reception"))  # staff register letters
    world.run_intake(ref)
    [mail] = world.mails("escalation", ref)
    assert mail.recipient_email.startswith("deputy-gm@") and mail.context["kind"] == "written"
    assert "complainant_phone" not in mail.context and mail.context["masked_phone"] == "*******0001"


def test_a_missed_resolution_deadline_escalates_one_level_exactly_once(client: TestClient, world: World) -> None:
    ref = submit(client)
    world.intake(ref)
    due = world.complaint(ref).resolution_due_at
    assert due is not None
    world.clock.now = due
    core = world.core
    assert in_transaction(core.sessions, lambda s: lifecycle.sweep_deadlines(core, s, world.clock())) == []
    world.clock.advance(seconds=1)
    assert len(in_transaction(core.sessions, lambda s: lifecycle.sweep_deadlines(core, s, world.clock()))) == 1
    world.clock.advance(minutes=5)
    assert in_transaction(core.sessions, lambda s: lifecycle.sweep_deadlines(core, s, world.clock())) == []
    c = world.complaint(ref)
    assert c.escalation_level == 1
    with core.sessions() as s:
        [esc] = s.scalars(select(Escalation).where(Escalation.complaint_id == c.id)).all()
    assert (esc.kind, esc.deadline_kind, esc.to_role) == ("deadline_missed", "resolution", "property_supervisor")
    [mail] = world.mails("escalation", ref)
    assert mail.recipient_email.startswith("supervisor-") and mail.context["kind"] == "deadline_missed"


def test_a_transfer_sheet_goes_to_the_superior_who_decides(client: TestClient, world: World) -> None:
    ref = submit(client)
    world.intake(ref)
    r = client.post(
        f"/api/complaints/{ref}/escalation",
        json={"reason": "需要更換整條立管，超出權限"},
        headers=world.auth("engineering-1"),
    )
    assert r.json()["escalation_level"] == 1
    [sheet] = world.mails("transfer_sheet", ref)
    assert sheet.recipient_email.startswith("supervisor-")
    r = client.post(
        f"/api/complaints/{ref}/escalation/decision",
        headers=world.auth("engineering-1"),
        json={"department": "engineering"},
    )
    assert r.status_code == 403
    r = client.post(
        f"/api/complaints/{ref}/escalation/decision",
        headers=world.auth("supervisor"),
        json={
            "department": "engineering",
            "staff_email": "engineering-2-ch@estatecare.localhost",
            "due_at": "2026-11-06T10:00:00+08:00",
            "note": "聯繫供應商",
        },
    )
    assert r.status_code == 200, r.text
    notices = world.mails("work_arrangement", ref)
    assert len(notices) == 2 and notices[-1].recipient_email.startswith("engineering-2")
    assert notices[-1].locale == "en" and notices[-1].context["instructions"] == "聯繫供應商"


def test_bad_input_is_refused_naming_each_field(client: TestClient) -> None:
    r = client.post("/api/complaints", json={"estate": "CH", "contact_email": "not-an-email", "channel": "pigeon"})
    assert r.status_code == 422
    fields = {tuple(e["loc"]) for e in r.json()["detail"]}
    assert {("body", "content"), ("body", "contact_email"), ("body", "channel")} <= fields
    r = client.post("/api/complaints", json={**LEAK, "estate": "NOPE"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "estate"]
    r = client.post("/api/complaints", json={**LEAK, "unit": "9999"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "unit"]


def test_an_illegal_step_answers_409_naming_the_state_and_unknown_references_404(
    client: TestClient, world: World
) -> None:
    ref = submit(client, content="管理費太貴了")
    r = client.post(f"/api/complaints/{ref}/resolution", json={"result": "x"}, headers=world.auth("supervisor"))
    assert r.status_code == 409 and r.json()["state"] == "received" and "'received'" in r.json()["detail"]
    r = client.get("/api/complaints/CH-000000-NOPE", headers=world.auth("supervisor"))
    assert r.status_code == 404


def test_staff_endpoints_refuse_missing_and_invalid_tokens(client: TestClient) -> None:
    assert client.get("/api/complaints").status_code == 401
    assert client.get("/api/complaints", headers={"Authorization": "Bearer wrong"}).status_code == 401


def test_the_register_filters_and_hides_contact_from_people_not_handling_the_case(
    client: TestClient, world: World
) -> None:
    ref = submit(client)
    other = submit(client, content="垃圾桶很臭", unit="102", contact_phone="13900000002")
    world.intake(ref)
    page = client.get("/api/complaints?status=assigned", headers=world.auth("manager")).json()
    assert [i["reference"] for i in page["items"]] == [ref]
    mine = client.get("/api/complaints?assignee=me", headers=world.auth("engineering-1")).json()
    assert [i["reference"] for i in mine["items"]] == [ref]
    world.clock.advance(days=3)
    overdue = client.get("/api/complaints?overdue=true", headers=world.auth("manager")).json()
    assert {i["reference"] for i in overdue["items"]} == {ref, other}
    seen = client.get(f"/api/complaints/{other}", headers=world.auth("engineering-2")).json()
    assert seen["contact_visible"] is False and seen["complainant_name"] is None
    assert seen["contact_phone"] == "*******0002"
    mine = client.get(f"/api/complaints/{ref}", headers=world.auth("engineering-1")).json()
    assert mine["contact_visible"] is True and mine["complainant_name"] == "黃先生"
    client.post(f"/api/complaints/{ref}/resolution", json={"result": "已修好"}, headers=world.auth("engineering-1"))
    after = client.get(f"/api/complaints/{ref}", headers=world.auth("engineering-1")).json()
    assert after["status"] == "resolved" and after["contact_visible"] is False  # R-IN-6: only while assigned
