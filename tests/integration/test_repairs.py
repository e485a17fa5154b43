"""Repair and service requests (報修 → 派工 → 完工 → 回訪) through the REST API, on SQLite and PostgreSQL:
a resident's request dispatched to the least busy technician of its trade's department, who gets the
job by email with a signed link, records arrival and completion with the resident's signature; the
finished job's revisit (R-RV-4, R-RV-5) or the month's draw (R-RV-6); the contact's visibility (R-IN-6)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from estatecare.demo import seed_demo
from estatecare.links import read_token
from estatecare.services import sampling
from models import Estate, Revisit, Staff, WorkOrder, WorkOrderEvent
from notifications.render import render
from tests.lifecycle_support import DOMAIN, SIGNATURE_PNG, T0, World

URGENT = {
    "estate": "CH",
    "building": "1座",
    "unit": "101",
    "trade": "water",
    "urgency": "urgent",
    "description": "廚房水喉爆裂，水流不停",
    "contact_name": "黃先生",
    "contact_phone": "13900000001",
    "contact_email": "wong@example.test",
}


def request(client: TestClient, body: dict[str, Any], headers: dict[str, str] | None = None) -> dict[str, Any]:
    r = client.post("/api/repairs", json=body, headers=headers or {})
    assert r.status_code == 201, r.text
    answer: dict[str, Any] = r.json()
    return answer


def job(client: TestClient, world: World, ref: str, who: str) -> dict[str, Any]:
    r = client.get(f"/api/work-orders/{ref}", headers=world.auth(who))
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


def finish(client: TestClient, world: World, ref: str, who: str, **extra: Any) -> dict[str, Any]:
    """Arrival, then completion with the resident's signature."""
    world.clock.advance(minutes=20)
    r = client.post(f"/api/work-orders/{ref}/arrival", json={}, headers=world.auth(who))
    assert r.status_code == 200, r.text
    world.clock.advance(hours=1)
    body = {"work_done": "換了一段水喉", "materials": "水喉 2 米", "signature_png_base64": SIGNATURE_PNG, **extra}
    r = client.post(f"/api/work-orders/{ref}/completion", json=body, headers=world.auth(who))
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


def email(world: World, who: str) -> str:
    return f"{who}-ch@{DOMAIN}"


def test_an_urgent_repair_goes_to_the_least_busy_technician_and_is_revisited_at_once_then_closed(
    client: TestClient, world: World
) -> None:
    first = request(client, {**URGENT, "urgency": "normal", "unit": "102", "contact_name": "陳太"})
    assert job(client, world, first["reference"], "head-engineering")["technician"] == email(world, "engineering-1")

    accepted = request(client, URGENT)  # a resident, without signing in
    ref = accepted["reference"]
    assert accepted["status"] == "dispatched"
    assert datetime.fromisoformat(accepted["on_site_due_at"]) == T0 + timedelta(minutes=30)
    mine = job(client, world, ref, "engineering-2")
    # engineering-1 has an open job already: the engineering department's next technician gets it
    assert (mine["technician"], mine["department"], mine["kind"]) == (
        email(world, "engineering-2"),
        "engineering",
        "urgent_repair",
    )
    assert (mine["resident_name"], mine["resident_phone"]) == ("黃先生", "13900000001")

    # the technician's email, with a link signed for them and the job's page only
    [mail] = [m for m in world.mails("job_task") if m.context["reference"] == ref]
    assert mail.recipient_email == email(world, "engineering-2")
    assert mail.context["complainant_phone"] == "13900000001" and mail.context["urgency"] == "urgent"
    url = urlsplit(mail.context["action_url"])
    claim = read_token(world.core.settings, parse_qs(url.query)["t"][0], url.path, world.clock())
    assert url.path == f"/staff/work-orders/{ref}" and claim.staff_id == mine_id(world, "engineering-2")

    # another technician of the department neither sees the contact nor records the job (R-IN-6)
    other = job(client, world, ref, "engineering-1")
    assert (
        other["resident_name"] is None and other["resident_phone"].endswith("0001") and "*" in other["resident_phone"]
    )
    r = client.post(f"/api/work-orders/{ref}/arrival", json={}, headers=world.auth("engineering-1"))
    assert r.status_code == 403 and "not assigned to you" in r.text
    r = client.post(
        f"/api/work-orders/{ref}/completion",
        json={"work_done": "x", "refusal_note": "-"},
        headers=world.auth("engineering-2"),
    )
    assert r.status_code == 409 and r.json()["state"] == "dispatched"  # on site first

    done = finish(client, world, ref, "engineering-2", charge="120.50")
    assert (done["status"], done["signed"], done["charge"]) == ("completed", True, "120.50")
    completed = datetime.fromisoformat(done["completed_at"])
    assert datetime.fromisoformat(done["revisit_due_at"]) == completed + timedelta(hours=24)  # R-RV-4

    # the immediate revisit is the service centre's, with the resident's contact (R-IN-6)
    r = client.get("/api/revisits", headers=world.auth("manager"))
    [item] = [i for i in r.json()["items"] if i["work_order"] == ref]
    assert (item["id"], item["kind"], item["resident_name"], item["resident_phone"]) == (
        done["revisit_id"],
        "service",
        "黃先生",
        "13900000001",
    )
    assert item["visitor"] == email(world, "manager")
    [task] = [m for m in world.mails("revisit_task") if m.context["subject_ref"] == ref]
    assert task.recipient_email == email(world, "manager") and task.context["complainant_name"] == "黃先生"

    record = {"method": "phone", "satisfaction": "satisfied", "punctuality": "準時", "quality": "好"}
    r = client.post(f"/api/revisits/{done['revisit_id']}", json=record, headers=world.auth("manager"))
    assert r.status_code == 200, r.text
    assert job(client, world, ref, "manager")["status"] == "closed"
    # the job is no longer theirs and open: its technician no longer sees the contact
    assert job(client, world, ref, "engineering-2")["resident_name"] is None


def mine_id(world: World, who: str) -> int:
    with world.core.sessions() as s:
        staff_id = s.scalar(select(Staff.id).where(Staff.email == email(world, who)))
        assert staff_id is not None
        return staff_id


def test_a_renovation_completion_is_revisited_on_site_within_seven_days(client: TestClient, world: World) -> None:
    body = {**URGENT, "trade": "renovation_completion", "urgency": "normal", "description": "裝修完工，請驗收"}
    booked = (T0 + timedelta(days=2)).isoformat()
    accepted = request(client, {**body, "preferred_at": booked})
    assert datetime.fromisoformat(accepted["on_site_due_at"]) == T0 + timedelta(days=2)  # the booked time is kept
    ref = accepted["reference"]
    assert job(client, world, ref, "manager")["department"] == "management_office"
    world.clock.advance(days=2)
    done = finish(client, world, ref, "management_office-1")
    assert datetime.fromisoformat(done["revisit_due_at"]) == datetime.fromisoformat(done["completed_at"]) + timedelta(
        days=7
    )
    with world.core.sessions() as s:
        revisit = s.get(Revisit, done["revisit_id"])
        assert revisit is not None and (revisit.kind.value, revisit.method.value) == ("renovation", "on_site")


def test_a_general_repair_waits_for_the_months_draw(client: TestClient, world: World) -> None:
    body = {**URGENT, "trade": "electrical", "urgency": "normal", "description": "客廳燈不亮"}
    accepted = request(client, body, world.auth("reception"))  # a phone call, registered by the front desk
    ref = accepted["reference"]
    assert datetime.fromisoformat(accepted["on_site_due_at"]) == T0 + timedelta(hours=24)
    done = finish(client, world, ref, "engineering-1", signature_png_base64="", refusal_note="住戶不在家，由家傭確認")
    assert (done["kind"], done["revisit_id"], done["signed"]) == ("repair", None, False)
    with world.core.transaction() as s:
        estate = s.scalar(select(Estate).where(Estate.code == "CH"))
        assert estate is not None
        [result] = sampling.draw(world.core, s, [estate], 2026, 11, datetime(2026, 11, 30, 11, tzinfo=UTC))
        order = s.scalar(select(WorkOrder).where(WorkOrder.reference == ref))
        assert order is not None and order.draw_id == result.draw_id and result.population == 1
    r = client.get("/api/revisits", headers=world.auth("reception"))
    [item] = [i for i in r.json()["items"] if i["work_order"] == ref]
    assert (item["sample_month"], item["resident_name"]) == ("2026-11", "黃先生")


def orders(world: World) -> int:
    with world.core.sessions() as s:
        return s.scalar(select(func.count(WorkOrder.id))) or 0


def test_bad_requests_are_refused_naming_the_field_and_write_nothing(client: TestClient, world: World) -> None:
    cases = [
        ({**URGENT, "unit": "9999"}, "unit"),
        ({**URGENT, "contact_phone": "", "contact_email": ""}, "contact_phone"),
        ({k: v for k, v in URGENT.items() if k != "contact_name"}, "contact_name"),
        ({**URGENT, "trade": "plumbing"}, "trade"),
        ({**URGENT, "estate": "XX"}, "estate"),
        ({**URGENT, "urgency": "normal", "preferred_at": (T0 - timedelta(hours=1)).isoformat()}, "preferred_at"),
    ]
    for body, field in cases:
        r = client.post("/api/repairs", json=body)
        assert r.status_code == 422, (field, r.text)
        assert field in r.text, (field, r.text)
    r = client.post("/api/repairs", json={**URGENT, "channel": "phone"})
    assert r.status_code == 403 and "registered by staff" in r.text
    assert orders(world) == 0


def test_another_estates_staff_cannot_act_on_a_job(client: TestClient, world: World) -> None:
    ref = request(client, URGENT)["reference"]
    with world.core.transaction() as s:
        tw = {m.email.split("@")[0]: m.token for m in seed_demo(s, world.core.policy, code="TW")}
    theirs = {"Authorization": f"Bearer {tw['head-engineering-tw']}"}
    for method, path, body in [
        ("GET", f"/api/work-orders/{ref}", None),
        ("POST", f"/api/work-orders/{ref}/arrival", {}),
        ("POST", f"/api/work-orders/{ref}/reassignment", {"staff_email": email(world, "engineering-3")}),
    ]:
        r = client.request(method, path, json=body, headers=theirs)
        assert r.status_code == 404 and ref in r.text, r.text  # as for an unknown reference
    r = client.post("/api/repairs", json={**URGENT, "channel": "phone"}, headers=theirs)
    assert r.status_code == 403
    # the job's own department head reassigns it within the department; the new technician is told
    r = client.post(
        f"/api/work-orders/{ref}/reassignment",
        json={"staff_email": email(world, "engineering-3")},
        headers=world.auth("head-engineering"),
    )
    assert r.status_code == 200 and r.json()["technician"] == email(world, "engineering-3"), r.text
    assert [m.recipient_email for m in world.mails("job_task")][-1] == email(world, "engineering-3")
    r = client.post(
        f"/api/work-orders/{ref}/reassignment",
        json={"staff_email": email(world, "cleaning-1")},
        headers=world.auth("head-engineering"),
    )
    assert r.status_code == 403 and "within its department" in r.text
    r = client.post(
        f"/api/work-orders/{ref}/reassignment",
        json={"staff_email": f"nobody@{DOMAIN}"},
        headers=world.auth("head-engineering"),
    )
    assert r.status_code == 422 and "staff_email" in r.text
    r = client.post(
        f"/api/work-orders/{ref}/reassignment",
        json={"staff_email": email(world, "engineering-1")},
        headers=world.auth("engineering-3"),
    )
    assert r.status_code == 403


def revisit(client: TestClient, world: World, revisit_id: int, satisfied: bool, **extra: Any) -> dict[str, Any]:
    """The service centre records a job's revisit by phone; unsatisfied, the next one in two days."""
    body: dict[str, Any] = {"method": "phone", "satisfaction": "satisfied" if satisfied else "unsatisfied", **extra}
    if not satisfied:
        body.setdefault("shortcomings", "水喉接口仍然滲水")
        body.setdefault("next_reply_at", (world.clock() + timedelta(days=2)).isoformat())
    r = client.post(f"/api/revisits/{revisit_id}", json=body, headers=world.auth("manager"))
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


def open_revisits(world: World, ref: str) -> list[Revisit]:
    with world.core.sessions() as s:
        order_id = s.scalar(select(WorkOrder.id).where(WorkOrder.reference == ref))
        return list(s.scalars(select(Revisit).where(Revisit.work_order_id == order_id, Revisit.done_at.is_(None))))


def test_an_unsatisfied_revisit_reopens_the_job_to_its_technician_and_it_closes_once_put_right(
    client: TestClient, world: World
) -> None:
    ref = request(client, URGENT)["reference"]
    done = finish(client, world, ref, "engineering-1", charge="80")
    world.clock.advance(hours=3)
    outcome = revisit(client, world, done["revisit_id"], satisfied=False)

    # R-RV-11: back to its technician, on site again within the urgent deadline from now
    reopened = job(client, world, ref, "engineering-1")
    assert (reopened["status"], reopened["technician"]) == ("dispatched", email(world, "engineering-1"))
    assert datetime.fromisoformat(reopened["on_site_due_at"]) == world.clock() + timedelta(minutes=30)
    assert datetime.fromisoformat(reopened["dispatched_at"]) == world.clock()
    assert (reopened["arrived_at"], reopened["completed_at"], reopened["work_done"], reopened["charge"]) == (
        None,
        None,
        "",
        None,
    )
    assert reopened["signed"] is False and reopened["resident_phone"] == "13900000001"  # theirs and open again
    first, again = [m for m in world.mails("job_task") if m.context["reference"] == ref]
    assert again.recipient_email == email(world, "engineering-1")
    assert (first.context["reopened"], again.context["reopened"]) == (False, True)
    assert datetime.fromisoformat(again.context["due_at"]) == world.clock() + timedelta(minutes=30)
    for locale, words in [("en", "reopened"), ("zh-Hant", "已重開"), ("zh-Hans", "已重开")]:
        message = render("job_task", again.context, locale, "Asia/Hong_Kong")
        assert words in message.text and words in message.html, locale
        assert words not in render("job_task", first.context, locale, "Asia/Hong_Kong").text

    # put right: on site and completed again; the next revisit the unsatisfied one set follows it up
    world.clock.advance(minutes=10)
    redone = finish(client, world, ref, "engineering-1", work_done="重新更換接口並試水")
    assert (redone["status"], redone["work_done"], redone["signed"]) == ("completed", "重新更換接口並試水", True)
    [pending] = open_revisits(world, ref)  # no second revisit of its own on completion
    assert (pending.id, pending.sequence) == (outcome["follow_up_id"], 2)
    assert redone["revisit_id"] == pending.id  # the job shows the revisit to come, not the one done
    [task] = [m for m in world.mails("revisit_task") if m.context["subject_ref"] == ref and m.context["sequence"] == 2]
    assert task.recipient_email == email(world, "manager")

    revisit(client, world, pending.id, satisfied=True)
    closed = job(client, world, ref, "manager")
    assert closed["status"] == "closed" and open_revisits(world, ref) == []
    assert [e["action"] for e in closed["history"]][-6:] == [
        "reopen",
        "dispatch",
        "arrive",
        "complete",
        "revisit",
        "close",
    ]


def test_a_reopened_job_goes_to_the_departments_least_busy_technician_when_its_own_has_left(
    client: TestClient, world: World
) -> None:
    ref = request(client, URGENT)["reference"]
    request(client, {**URGENT, "unit": "102", "urgency": "normal"})  # engineering-2's, still open
    done = finish(client, world, ref, "engineering-1")
    with world.core.transaction() as s:
        gone = s.scalar(select(Staff).where(Staff.email == email(world, "engineering-1")))
        assert gone is not None
        gone.active = False
    revisit(client, world, done["revisit_id"], satisfied=False)
    reopened = job(client, world, ref, "head-engineering")
    assert (reopened["status"], reopened["technician"]) == ("dispatched", email(world, "engineering-3"))
    assert [m.recipient_email for m in world.mails("job_task")][-1] == email(world, "engineering-3")


def register(client: TestClient, world: World, kind: str) -> str:
    body = {"estate": "CH", "building": "1座", "unit": "101", "kind": kind,
            "completed_at": (world.clock() - timedelta(hours=2)).isoformat()}  # fmt: skip
    r = client.post("/api/work-orders", json=body, headers=world.auth("reception"))
    assert r.status_code == 201, r.text
    reference: str = r.json()["reference"]
    return reference


def test_an_order_registered_as_finished_is_neither_closed_nor_reopened_by_its_revisit(
    client: TestClient, world: World
) -> None:
    """Only live jobs (requested through a channel) move on a revisit; a registered order stays
    completed, an unsatisfied revisit of it being followed up by its next revisit (R-RV-11)."""
    for satisfied in (True, False):
        ref = register(client, world, "urgent_repair")
        [due] = open_revisits(world, ref)
        outcome = revisit(client, world, due.id, satisfied)
        after = job(client, world, ref, "manager")
        assert (after["status"], after["technician"], after["dispatched_at"]) == ("completed", None, None)
        assert [(e["action"], e["from_status"], e["to_status"]) for e in after["history"]] == [
            ("revisit", "completed", "completed")
        ]
        assert after["history"][0]["details"]["satisfaction"] == ("satisfied" if satisfied else "unsatisfied")
        assert [r.id for r in open_revisits(world, ref)] == ([] if satisfied else [outcome["follow_up_id"]])
    assert world.mails("job_task") == []


def test_the_history_lists_every_step_of_a_job_in_order(client: TestClient, world: World) -> None:
    ref = request(client, URGENT, world.auth("reception"))["reference"]  # a call, registered by the front desk
    world.clock.advance(minutes=5)
    r = client.post(
        f"/api/work-orders/{ref}/reassignment",
        json={"staff_email": email(world, "engineering-3"), "note": "熟悉該大廈喉管"},
        headers=world.auth("head-engineering"),
    )
    assert r.status_code == 200, r.text
    done = finish(client, world, ref, "engineering-3", charge="50")
    world.clock.advance(hours=1)
    revisit(client, world, done["revisit_id"], satisfied=False)

    history = job(client, world, ref, "manager")["history"]
    steps = [(e["action"], e["from_status"], e["to_status"], e["actor"], e["technician"]) for e in history]
    reception, head, tech, manager = (
        email(world, w) for w in ("reception", "head-engineering", "engineering-3", "manager")
    )
    assert steps == [
        ("request", None, "requested", reception, None),
        ("dispatch", "requested", "dispatched", reception, email(world, "engineering-1")),
        ("reassign", "dispatched", "dispatched", head, tech),
        ("arrive", "dispatched", "arrived", tech, tech),
        ("complete", "arrived", "completed", tech, tech),
        ("revisit", "completed", "completed", manager, tech),
        ("reopen", "completed", "requested", manager, None),
        ("dispatch", "requested", "dispatched", manager, tech),  # the same technician, not the least busy
    ]
    times = [datetime.fromisoformat(e["at"]) for e in history]
    assert times == sorted(times) and times[0] == T0 and times[-1] == world.clock()
    assert history[2]["note"] == "熟悉該大廈喉管"
    assert history[5]["details"]["satisfaction"] == "unsatisfied" and history[5]["details"]["sequence"] == 1
    # what the reopening cleared from the job is kept in its history (R-RC-1), the signature as signed
    cleared = history[6]["details"]
    assert (cleared["work_done"], cleared["materials"], cleared["charge"], cleared["signed"]) == (
        "換了一段水喉",
        "水喉 2 米",
        "50.00",
        True,
    )
    assert cleared["completed_at"] == done["completed_at"].replace("Z", "+00:00")
    assert "signature_png_base64" not in cleared
    with world.core.sessions() as s:
        order_id = s.scalar(select(WorkOrder.id).where(WorkOrder.reference == ref))
        kept = s.scalar(
            select(WorkOrderEvent.data).where(WorkOrderEvent.work_order_id == order_id, WorkOrderEvent.seq == 7)
        )
        assert kept is not None and kept["signature_png_base64"] == SIGNATURE_PNG
        # append-only: a history record is neither changed nor removed
        event = s.scalar(select(WorkOrderEvent).where(WorkOrderEvent.work_order_id == order_id))
        assert event is not None
        event.note = "changed"
        with pytest.raises(PermissionError):
            s.flush()
