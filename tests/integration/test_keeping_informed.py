"""Keeping the complainant informed (R-HD-4, R-HD-5): the promised next reply date is tracked and
reminded of, every complainant of the problem is told when it closes, and the timeline says
"replied" only when a reply was sent or recorded. On SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from estatecare.reads import complaint_pages
from estatecare.services import lifecycle
from estatecare.services.records import in_transaction
from models import Complaint, ComplaintEvent
from notifications.sender import SmtpConfig, deliver_pending
from tests.lifecycle_support import DOMAIN, LEAK, SIGNATURE_PNG, World
from tests.smtp_server import SmtpTestServer


def post(client: TestClient, world: World, ref: str, step: str, who: str, body: dict[str, Any]) -> dict[str, Any]:
    r = client.post(f"/api/complaints/{ref}/{step}", json=body, headers=world.auth(who))
    assert r.status_code == 200, r.text
    return dict(r.json())


def assigned(client: TestClient, world: World, **overrides: Any) -> str:
    """A complaint the supervisor assessed (not the keyword rules) and assigned to engineering-1."""
    staff = world.auth("reception") if overrides.get("reply_only") else None  # registered by staff
    r = client.post("/api/complaints", json={**LEAK, **overrides}, headers=staff)
    assert r.status_code == 201, r.text
    ref = str(r.json()["reference"])
    post(client, world, ref, "assessment", "supervisor", {"valid": True, "category": "facility"})
    staff = f"engineering-1-ch@{DOMAIN}"
    post(client, world, ref, "assignment", "supervisor", {"department": "engineering", "staff_email": staff})
    return ref


def resolved_and_confirmed(client: TestClient, world: World, ref: str, **confirmation: Any) -> None:
    post(client, world, ref, "resolution", "engineering-1", {"result": "已更換水管接頭"})
    post(client, world, ref, "resolution/confirmation", "head-engineering", {"confirmed": True, **confirmation})


def remind(world: World) -> lifecycle.Reminded:
    core, now = world.core, world.clock()
    return in_transaction(core.sessions, lambda s: lifecycle.send_reminders(core, s, now))


def test_a_promised_reply_date_is_tracked_and_reminded_once_until_the_result_clears_it(
    client: TestClient, world: World
) -> None:
    ref = assigned(client, world)
    past = (world.clock() - timedelta(hours=1)).isoformat()
    r = client.post(
        f"/api/complaints/{ref}/progress",
        json={"message": "等材料", "next_reply_at": past},
        headers=world.auth("engineering-1"),
    )
    assert r.status_code == 422 and "next_reply_at" in r.text and "future" in r.text
    promised = world.clock() + timedelta(days=2)
    post(client, world, ref, "progress", "engineering-1", {"message": "等材料", "next_reply_at": promised.isoformat()})
    assert world.complaint(ref).next_reply_due_at == promised

    world.clock.advance(days=1)
    assert remind(world).next_replies == []
    world.clock.advance(days=1, minutes=5)
    assert remind(world).next_replies == [world.complaint(ref).id]
    assert remind(world).next_replies == []  # the date moved on: once per promised date
    [told] = [m for m in world.mails("progress_update", ref) if m.context.get("still_handling")]
    assert told.recipient_email == "wong@example.test"
    next_at = world.complaint(ref).next_reply_due_at
    assert next_at is not None and next_at > world.clock() and told.context["next_reply_at"] == next_at.isoformat()
    [reminder] = world.mails("reply_due_reminder", ref)
    assert reminder.recipient_email.startswith("engineering-1-")
    assert reminder.context["due_at"] == promised.isoformat()
    assert f"/staff/complaints/{ref}/resolution?t=" in reminder.context["action_url"]  # signed, to the progress step

    post(client, world, ref, "resolution", "engineering-1", {"result": "已更換水管接頭"})
    assert world.complaint(ref).next_reply_due_at is None
    world.clock.advance(days=10)
    assert remind(world).next_replies == []
    assert len(world.mails("reply_due_reminder", ref)) == 1


def test_a_later_progress_replaces_the_promised_date(client: TestClient, world: World) -> None:
    ref = assigned(client, world)
    first = world.clock() + timedelta(days=1)
    post(client, world, ref, "progress", "engineering-1", {"message": "已約師傅", "next_reply_at": first.isoformat()})
    second = world.clock() + timedelta(days=3)
    post(client, world, ref, "progress", "engineering-1", {"message": "等材料", "next_reply_at": second.isoformat()})
    assert world.complaint(ref).next_reply_due_at == second
    world.clock.advance(days=2)
    assert remind(world).next_replies == []
    post(client, world, ref, "progress", "engineering-1", {"message": "師傅今天到"})
    assert world.complaint(ref).next_reply_due_at is None  # the result is the next word


def test_every_complainant_of_a_handled_problem_is_told_it_is_closed(client: TestClient, world: World) -> None:
    ref = assigned(client, world)
    r = client.post("/api/complaints", json={**LEAK, "complainant_name": "黃太", "contact_email": "mrs@example.test"})
    dup = str(r.json()["reference"])
    post(client, world, dup, "assessment", "supervisor", {"valid": True, "category": "facility", "duplicate_of": ref})
    resolved_and_confirmed(client, world, ref)
    assert world.mails("closing_notice") == []
    body = {"method": "on_site", "satisfaction": "satisfied", "signature_png_base64": SIGNATURE_PNG}
    post(client, world, ref, "revisits", "manager", body)
    assert world.after_revisit(ref) == "closed"
    assert world.after_revisit(ref) == "nothing"
    notices = world.mails("closing_notice")
    assert sorted(m.recipient_email for m in notices) == ["mrs@example.test", "wong@example.test"]
    assert {m.complaint_id for m in notices} == {world.complaint(ref).id, world.complaint(dup).id}
    assert all(m.context["resolution_text"] == "已更換水管接頭" and m.context["closed_at"] for m in notices)


def test_a_reply_only_complaint_is_told_when_it_closes_and_an_invalid_one_only_gets_its_explanation(
    client: TestClient, world: World
) -> None:
    ref = assigned(client, world, reply_only=True, channel="superior_body")
    resolved_and_confirmed(client, world, ref)
    assert world.complaint(ref).status == "closed"
    [notice] = world.mails("closing_notice", ref)
    assert notice.recipient_email == "wong@example.test"

    r = client.post("/api/complaints", json={**LEAK, "content": "開發商承諾的會所至今沒有建成"})
    invalid = str(r.json()["reference"])
    post(client, world, invalid, "assessment", "supervisor", {"valid": False, "explanation": "屬開發商責任"})
    assert world.complaint(invalid).status == "closed"
    assert len(world.mails("invalid_explanation", invalid)) == 1 and world.mails("closing_notice", invalid) == []


def _status_page(client: TestClient, ref: str, contact: str) -> str:
    form = client.get(f"/status/{ref}").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token
    page = client.post("/status", data={"reference": ref, "contact": contact, "csrf_token": token.group(1)})
    assert page.status_code == 200, page.text
    return page.text


def _state(world: World, ref: str) -> str | None:
    with world.core.sessions() as s:
        complaint = s.scalar(select(Complaint).where(Complaint.reference == ref))
        assert complaint is not None
        state = complaint_pages.reply_state(s, complaint)
        return state[0] if state else None


def test_the_timeline_says_replied_only_once_the_reply_was_sent_or_recorded(
    client: TestClient, world: World, smtp_server: SmtpTestServer
) -> None:
    by_email = assigned(client, world)
    assert _state(world, by_email) is None
    resolved_and_confirmed(client, world, by_email)
    assert _state(world, by_email) == "reply_pending"
    page = _status_page(client, by_email, "13900000001")
    assert "結果已確認" in page and "回覆發送中" in page and "已回覆" not in page
    config = SmtpConfig(host="127.0.0.1", port=smtp_server.port, timeout=5, connections=1)
    asyncio.run(deliver_pending(world.core.sessions, config, "Asia/Shanghai"))
    assert _state(world, by_email) == "reply_sent"
    assert "已回覆" in _status_page(client, by_email, "13900000001")

    no_email = assigned(client, world, contact_email="", contact_phone="13900000002")
    resolved_and_confirmed(client, world, no_email)
    assert _state(world, no_email) == "reply_none"
    page = _status_page(client, no_email, "13900000002")
    assert "尚未回覆" in page and "已回覆" not in page

    by_phone = assigned(client, world, contact_email="", contact_phone="13900000003")
    r = client.post(
        f"/api/complaints/{by_phone}/resolution/confirmation",
        json={"confirmed": True, "reply_by": "fax"},
        headers=world.auth("head-engineering"),
    )
    assert r.status_code == 422  # only phone, in person or letter
    resolved_and_confirmed(client, world, by_phone, reply_by="phone")
    assert _state(world, by_phone) == "reply_recorded"
    assert "已以電話、面談或書面回覆" in _status_page(client, by_phone, "13900000003")
    with world.core.sessions() as s:
        data = s.scalars(
            select(ComplaintEvent.data).where(
                ComplaintEvent.complaint_id == world.complaint(by_phone).id, ComplaintEvent.action == "confirm"
            )
        ).all()
    assert data == [{"reply_by": "phone"}]
