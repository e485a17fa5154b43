"""Major and written complaints reach leadership, whose decision sets the deadline, and a missed
deadline climbs the escalation chain level by level up to the GM (R-AS-4, R-IN-3, R-HD-1, R-HD-3),
on real SQLite and PostgreSQL. Complaints are assessed by a person here, never by keyword rules."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from fastapi.testclient import TestClient
from sqlalchemy import select

from estatecare.services import lifecycle
from estatecare.services.records import in_transaction
from estatecare.webapp.accounts import set_password
from models import Assignment, Complaint, Escalation
from tests.lifecycle_support import DOMAIN, PASSWORD, World

LEAK = {
    "estate": "CH",
    "building": "1座",
    "unit": "101",
    "content": "整座大廈的外牆瓷磚剝落，多戶受影響",
    "complainant_name": "黃先生",
    "contact_phone": "13900000001",
    "contact_email": "wong@example.test",
}
SHANGHAI = ZoneInfo("Asia/Shanghai")


def submit(client: TestClient, headers: dict[str, str] | None = None, **overrides: Any) -> str:
    r = client.post("/api/complaints", json={**LEAK, **overrides}, headers=headers)
    assert r.status_code == 201, r.text
    return str(r.json()["reference"])


def sweep(world: World) -> list[int]:
    core = world.core
    return in_transaction(core.sessions, lambda s: lifecycle.sweep_deadlines(core, s, world.clock()))


def receive(world: World, ref: str) -> None:
    """The intake flow's first step: acknowledgement (and a written complaint's report)."""
    cid = world.complaint(ref).id
    in_transaction(world.core.sessions, lambda s: lifecycle.receive(world.core, s, cid))


def assess_and_assign(client: TestClient, world: World, ref: str, severity: str = "general") -> None:
    """The property supervisor assesses it; the assessment's follow-up assigns it automatically."""
    body = {"valid": True, "category": "facility", "service_area": "repairs", "severity": severity}
    r = client.post(f"/api/complaints/{ref}/assessment", json=body, headers=world.auth("supervisor"))
    assert r.status_code == 200 and r.json()["status"] == "assessed", r.text
    cid, core, now = world.complaint(ref).id, world.core, world.clock()
    assert in_transaction(core.sessions, lambda s: lifecycle.auto_assign(core, s, cid, now))


def escalations(world: World, ref: str) -> list[Escalation]:
    with world.core.sessions() as s:
        cid = s.scalar(select(Complaint.id).where(Complaint.reference == ref))
        return list(s.scalars(select(Escalation).where(Escalation.complaint_id == cid).order_by(Escalation.id)))


def active_assignment(world: World, ref: str) -> Assignment:
    with world.core.sessions() as s:
        cid = s.scalar(select(Complaint.id).where(Complaint.reference == ref))
        found = s.scalar(select(Assignment).where(Assignment.complaint_id == cid, Assignment.active.is_(True)))
        assert found is not None
        return found


def who(email: str) -> str:
    """``manager`` for ``manager-ch@...``, ``deputy-gm`` for ``deputy-gm@...``."""
    return email.split("@")[0].removesuffix("-ch")


def escalation_mails(world: World, ref: str) -> list[tuple[str, str, int]]:
    """(kind, recipient, level) of each escalation email about ``ref``, in order."""
    return [(m.context["kind"], who(m.recipient_email), m.context["level"]) for m in world.mails("escalation", ref)]


def csrf_in(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html[:500]
    return match.group(1)


def end_of_day(day: str) -> datetime:
    """What the web form's date means: the end of that day in the policy's timezone."""
    return datetime.fromisoformat(f"{day}T23:59:00").replace(tzinfo=SHANGHAI)


# --------------------------------------------------------------------------- major complaints (R-AS-4, R-HD-1)


def test_a_major_complaint_goes_to_the_service_centre_manager_and_to_the_deputy_gm_at_once(
    client: TestClient, world: World
) -> None:
    ref = submit(client)
    receive(world, ref)
    assess_and_assign(client, world, ref, severity="major")
    c = world.complaint(ref)
    # handled by the policy's major_handler_role, in the department of the routing table
    detail = client.get(f"/api/complaints/{ref}", headers=world.auth("manager")).json()
    assert (detail["status"], detail["assignee"], detail["department"]) == (
        "assigned",
        f"manager-ch@{DOMAIN}",
        "engineering",
    )
    [notice] = world.mails("work_arrangement", ref)
    assert who(notice.recipient_email) == "manager"
    # reported to leadership at once: the complaint is at the deputy GM's level of the chain
    [esc] = escalations(world, ref)
    assert (esc.kind, esc.to_role, esc.level, esc.decided_at) == ("major", "deputy_gm", 3, None)
    assert escalation_mails(world, ref) == [("major", "deputy-gm", 3)]
    assert (c.escalation_level, detail["escalated_to"]) == (3, "deputy_gm")
    assert c.escalation_due_at == world.clock() + timedelta(hours=world.core.policy.escalation.level_deadline_hours)
    # the deadline is provisional until leadership sets one (R-HD-1)
    assert c.resolution_due_at == world.core.deadlines.resolution_due(world.clock(), c.severity)


def test_the_deputy_gm_decides_from_the_email_link_and_the_deadline_replaces_the_provisional_one(
    client: TestClient, world: World
) -> None:
    ref = submit(client)
    receive(world, ref)
    assess_and_assign(client, world, ref, severity="major")
    provisional = world.complaint(ref).resolution_due_at
    mail = world.mails("escalation", ref)[-1]
    url = urlsplit(str(mail.context["action_url"]))
    assert url.path == f"/staff/complaints/{ref}/escalation"
    page = client.get(f"{url.path}?{url.query}")
    assert page.status_code == 200 and 'name="op" value="decide"' in page.text, page.text[:2000]
    form = {
        "op": "decide",
        "t": url.query.removeprefix("t="),
        "csrf_token": csrf_in(page.text),
        "version": str(world.complaint(ref).version),
        "department": "engineering",
        "staff_email": f"engineering-2-ch@{DOMAIN}",
        "due_at": "2026-11-20",
        "note": "請工程部聯絡外牆承建商，本月內完成",
    }
    r = client.post(url.path, data=form, follow_redirects=False)
    assert r.status_code == 200 and ref in r.text, r.text[:2000]
    c = world.complaint(ref)
    decided = end_of_day("2026-11-20")
    assert c.resolution_due_at == decided != provisional
    assignment = active_assignment(world, ref)
    assert (
        assignment.due_at == decided
        and who(world.mails("work_arrangement", ref)[-1].recipient_email) == "engineering-2"
    )
    [esc] = escalations(world, ref)
    assert esc.decided_at == world.clock() and esc.decision_due_at == decided
    assert esc.decision_note.startswith("請工程部") and esc.decision_staff_id == assignment.staff_id
    assert c.escalation_due_at is None  # decided: the chain's clock stops
    assert client.get(f"{url.path}?{url.query}").status_code == 410  # the link is spent


def test_leadership_decides_a_major_complaint_through_the_api_and_those_below_it_may_not(
    client: TestClient, world: World
) -> None:
    ref = submit(client)
    receive(world, ref)
    assess_and_assign(client, world, ref, severity="major")
    decision = {"department": "engineering", "due_at": "2026-11-12T18:00:00+08:00", "note": "優先處理"}
    url = f"/api/complaints/{ref}/escalation/decision"
    r = client.post(url, json=decision, headers=world.auth("manager"))
    assert r.status_code == 403 and "deputy_gm or above" in r.json()["detail"]
    r = client.post(url, json=decision, headers=world.auth("deputy-gm"))
    assert r.status_code == 200, r.text
    leader_deadline = datetime(2026, 11, 12, 18, 0, tzinfo=SHANGHAI)
    assert world.complaint(ref).resolution_due_at == leader_deadline
    assert active_assignment(world, ref).due_at == leader_deadline
    [esc] = escalations(world, ref)
    assert esc.decision_due_at == leader_deadline and esc.decided_by_id is not None
    assert client.post(url, json=decision, headers=world.auth("gm")).status_code == 409  # nothing left to decide


# --------------------------------------------------------------------------- written complaints (R-IN-3)


def test_a_written_complaint_is_reported_to_leadership_once_and_leadership_may_decide(
    client: TestClient, world: World
) -> None:
    letter = submit(client, channel="letter", headers=world.auth("reception"))
    forwarded = submit(client, channel="superior_body", headers=world.auth("reception"), unit="102")
    for ref in (letter, forwarded, letter):  # receiving twice reports once
        receive(world, ref)
    for ref in (letter, forwarded):
        [esc] = escalations(world, ref)
        assert (esc.kind, esc.to_role, esc.decided_at) == ("written", "deputy_gm", None)
        assert escalation_mails(world, ref) == [("written", "deputy-gm", 0)]
    assess_and_assign(client, world, letter)
    assert who(str(client.get(f"/api/complaints/{letter}", headers=world.auth("gm")).json()["assignee"])) == (
        "engineering-1"
    )  # a general written complaint is handled as routed
    decision = {"department": "engineering", "due_at": "2026-11-09T12:00:00+08:00"}
    url = f"/api/complaints/{letter}/escalation/decision"
    assert client.post(url, json=decision, headers=world.auth("supervisor")).status_code == 403
    r = client.post(url, json=decision, headers=world.auth("deputy-gm"))
    assert r.status_code == 200, r.text
    [esc] = escalations(world, letter)
    assert esc.decided_at is not None and esc.decision_due_at == datetime(2026, 11, 9, 12, 0, tzinfo=SHANGHAI)
    assert world.complaint(letter).resolution_due_at == esc.decision_due_at


# --------------------------------------------------------------------------- the chain (R-HD-3)


def test_a_missed_deadline_climbs_the_chain_level_by_level_up_to_the_gm_and_stops_there(
    client: TestClient, world: World
) -> None:
    ref = submit(client)
    receive(world, ref)
    assess_and_assign(client, world, ref)
    hours = world.core.policy.escalation.level_deadline_hours
    due = world.complaint(ref).resolution_due_at
    assert due is not None
    world.clock.now = due + timedelta(seconds=1)
    assert len(sweep(world)) == 1
    c = world.complaint(ref)
    assert (c.escalation_level, c.escalation_due_at) == (1, world.clock() + timedelta(hours=hours))
    assert sweep(world) == []  # once per deadline
    assert escalation_mails(world, ref) == [("deadline_missed", "supervisor", 1)]

    told: dict[int, set[tuple[str, str, int]]] = {
        2: {("not_decided", "manager", 2), ("passed_up", "supervisor", 2)},
        3: {("not_decided", "deputy-gm", 3), ("passed_up", "supervisor", 3), ("passed_up", "manager", 3)},
        4: {
            ("not_decided", "gm", 4),
            ("passed_up", "supervisor", 4),
            ("passed_up", "manager", 4),
            ("passed_up", "deputy-gm", 4),
        },
    }
    for level in (2, 3, 4):
        level_due = world.complaint(ref).escalation_due_at
        assert level_due is not None
        world.clock.now = level_due
        assert sweep(world) == []  # the level's deadline has not passed yet
        world.clock.advance(seconds=1)
        before = len(world.mails("escalation", ref))
        assert len(sweep(world)) == 1
        assert sweep(world) == []  # running the sweep twice raises nothing new
        assert world.complaint(ref).escalation_level == level
        assert set(escalation_mails(world, ref)[before:]) == told[level]
    c = world.complaint(ref)
    assert c.escalation_due_at is None  # the GM is the top of the chain
    world.clock.advance(days=3)
    assert sweep(world) == []
    assert world.complaint(ref).escalation_level == 4
    rows = escalations(world, ref)
    assert [(e.level, e.to_role) for e in rows] == [
        (1, "property_supervisor"),
        (2, "service_centre_manager"),
        (3, "deputy_gm"),
        (4, "gm"),
    ]
    assert len({e.deadline_key for e in rows}) == 4


def test_a_decision_stops_the_chain_and_a_new_missed_deadline_climbs_on_from_that_level(
    client: TestClient, world: World
) -> None:
    ref = submit(client)
    receive(world, ref)
    assess_and_assign(client, world, ref)
    due = world.complaint(ref).resolution_due_at
    assert due is not None
    world.clock.now = due + timedelta(seconds=1)
    sweep(world)
    world.clock.now = (world.complaint(ref).escalation_due_at or due) + timedelta(seconds=1)
    assert len(sweep(world)) == 1 and world.complaint(ref).escalation_level == 2
    new_deadline = world.clock() + timedelta(days=2)
    r = client.post(
        f"/api/complaints/{ref}/escalation/decision",
        json={"department": "engineering", "due_at": new_deadline.isoformat()},
        headers=world.auth("manager"),
    )
    assert r.status_code == 200, r.text
    assert all(e.decided_at is not None for e in escalations(world, ref))  # both levels settled
    assert world.complaint(ref).escalation_due_at is None
    world.clock.advance(days=1)
    assert sweep(world) == []  # decided: nobody up the chain is waited for
    world.clock.now = new_deadline + timedelta(seconds=1)
    assert len(sweep(world)) == 1
    c = world.complaint(ref)
    assert c.escalation_level == 3 and c.escalation_due_at is not None
    assert ("deadline_missed", "deputy-gm", 3) in escalation_mails(world, ref)


# --------------------------------------------------------------------------- the level by name


def test_the_complaint_page_and_the_api_show_the_level_by_name(client: TestClient, world: World) -> None:
    ref = submit(client)
    receive(world, ref)
    assess_and_assign(client, world, ref, severity="major")
    with world.core.transaction() as s:
        set_password(s, f"manager-ch@{DOMAIN}", PASSWORD)
    csrf = csrf_in(client.get("/complaints/new").text)
    r = client.post(
        "/staff/login",
        data={"email": f"manager-ch@{DOMAIN}", "password": PASSWORD, "next": "/staff", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    page = f"/staff/complaints/{ref}"
    assert "升級至：分管副總" in client.get(page, params={"lang": "zh-Hant"}).text  # named by its role, no number
    assert "升级至：分管副总" in client.get(page, params={"lang": "zh-Hans"}).text
    english = client.get(page, params={"lang": "en"}).text
    assert "Escalated to: Deputy general manager" in english and "(level 3)" not in english
    detail = client.get(f"/api/complaints/{ref}", headers=world.auth("manager")).json()
    assert (detail["escalation_level"], detail["escalated_to"]) == (3, "deputy_gm")
    other = submit(client, unit="102", content="大堂燈不亮")
    receive(world, other)
    assess_and_assign(client, world, other)
    assert "升級至" not in client.get(f"/staff/complaints/{other}", params={"lang": "zh-Hant"}).text
