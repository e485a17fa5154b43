"""The front desk on real SQLite and PostgreSQL: staff register a call, a walk-in, a letter, a
superior body's referral or a patrol finding as its receiver (R-IN-1, R-IN-2), from the page,
the API and the CLI; a written complaint gets its incoming-document number (R-IN-3) and its
reply is a printable letter for those who may see the complainant (R-IN-6)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from estatecare.cli import app as cli
from estatecare.server import create_app
from estatecare.webapp.accounts import set_password
from models import Complaint, ComplaintEvent, ContactView, Estate, Staff
from models.enums import Role
from tests.lifecycle_support import DOMAIN, PASSWORD, World, csrf_in, make_world, resolve_and_confirm, sign_in

CALL = {
    "channel": "phone",
    "building": "1座",
    "unit": "101",
    "complainant_name": "黃先生",
    "contact_phone": "13900000001",
    "contact_email": "",
    "locale": "zh-Hant",
    "category": "",
    "content": "電梯停在三樓不動，按鈕沒有反應",
    "incoming_doc_number": "",
}


@pytest.fixture
def world(db_url: str, tmp_path: Path) -> World:
    w = make_world(db_url, tmp_path)
    with w.core.transaction() as s:
        for who in ("reception", "supervisor", "engineering-1"):
            set_password(s, f"{who}-ch@{DOMAIN}", PASSWORD)
    return w


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    with TestClient(create_app(world.core, clock=world.clock), raise_server_exceptions=False) as c:
        yield c


def staff_id(world: World, who: str) -> int:
    with world.core.sessions() as s:
        found = s.scalar(select(Staff.id).where(Staff.email == f"{who}-ch@{DOMAIN}"))
        assert found is not None
        return found


def register(client: TestClient, **fields: str) -> Any:
    page = client.get("/staff/front-desk")
    assert page.status_code == 200, page.text
    data = {**CALL, **fields, "csrf_token": csrf_in(page.text)}
    return client.post("/staff/front-desk", data=data, follow_redirects=False)


def registered(client: TestClient, **fields: str) -> str:
    r = register(client, **fields)
    assert r.status_code == 303, r.text
    location = r.headers["location"]
    assert location.startswith("/staff/front-desk/registered/")
    return str(location.rsplit("/", 1)[-1])


def first_record_by(world: World, complaint_id: int) -> int | None:
    with world.core.sessions() as s:
        return s.scalar(
            select(ComplaintEvent.actor_id).where(ComplaintEvent.complaint_id == complaint_id, ComplaintEvent.seq == 1)
        )


def complaints(world: World) -> int:
    with world.core.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(Complaint)) or 0)


def test_each_channel_registered_at_the_front_desk_records_its_channel_and_receiver(
    client: TestClient, world: World
) -> None:
    sign_in(client, f"reception-ch@{DOMAIN}")
    assert 'href="/staff/front-desk"' in client.get("/").text
    form = client.get("/staff/front-desk")
    assert "請先致歉" in form.text  # the receiver apologises first (R-IN-2)
    cases = {
        "phone": {},
        "front_desk": {"complainant_name": "周女士", "locale": "zh-Hans"},
        "letter": {"contact_email": "wong@example.test"},
        "superior_body": {"complainant_name": "", "contact_phone": "", "reply_only": "yes"},
        "patrol": {"complainant_name": "", "contact_phone": "", "unit": "", "building": "", "category": "safety"},
    }
    receiver = staff_id(world, "reception")
    for channel, extra in cases.items():
        ref = registered(client, channel=channel, **extra)
        c = world.complaint(ref)
        assert (c.channel.value, c.received_by_id, c.status.value) == (channel, receiver, "received")
        assert first_record_by(world, c.id) == receiver  # the first history record names the receiver
        assert c.reply_only is (channel == "superior_body")
        written = channel in ("letter", "superior_body")
        assert bool(c.incoming_doc_number) is written
        done = client.get(f"/staff/front-desk/registered/{ref}")
        assert done.status_code == 200 and ref in done.text and "陳美玲" in done.text
        assert (f"/staff/complaints/{ref}/letter" in done.text) is written
        if written:
            assert c.incoming_doc_number in done.text
    assert world.complaint(ref).unit_id is None and world.complaint(ref).anonymous  # patrol: nobody named
    # A handler registers nothing here.
    client.post("/staff/logout", data={"csrf_token": csrf_in(client.get("/staff").text)})
    sign_in(client, f"engineering-1-ch@{DOMAIN}")
    assert client.get("/staff/front-desk").status_code == 403


def test_a_letter_gets_its_incoming_document_number_given_or_the_next_of_the_log_and_each_number_once(
    client: TestClient, world: World
) -> None:
    sign_in(client, f"reception-ch@{DOMAIN}")
    first = registered(client, channel="letter")
    assert world.complaint(first).incoming_doc_number == "CH-收文-2026-0001"
    typed = registered(client, channel="letter", incoming_doc_number="2026-來函-015")
    assert world.complaint(typed).incoming_doc_number == "2026-來函-015"
    before = complaints(world)
    again = register(client, channel="letter", incoming_doc_number="2026-來函-015", content="同一封信再登記一次")
    assert again.status_code == 422
    assert "此編號已在本小區的收文登記簿中使用" in again.text
    assert 'value="2026-來函-015"' in again.text and "同一封信再登記一次" in again.text
    assert complaints(world) == before
    referred = registered(client, channel="superior_body")
    assert world.complaint(referred).incoming_doc_number == "CH-收文-2026-0002"
    page = client.get(f"/staff/complaints/{referred}")
    assert "收文編號" in page.text and "CH-收文-2026-0002" in page.text
    assert f'href="/staff/complaints/{referred}/letter"' in page.text
    page = client.get("/staff/front-desk").text
    form_token = re.search(r'name="form_token" value="([^"]+)"', page)
    assert form_token is not None
    sent = {**CALL, "channel": "letter", "csrf_token": csrf_in(page), "form_token": form_token.group(1)}
    twice = [client.post("/staff/front-desk", data=sent, follow_redirects=False) for _ in range(2)]
    assert twice[0].headers["location"] == twice[1].headers["location"]  # sent again: one complaint, one number
    assert complaints(world) == before + 2
    phone = register(client, channel="phone", incoming_doc_number="X-1")
    assert phone.status_code == 422 and "只有書面投訴或上級轉呈的投訴才有收文編號" in phone.text
    assert complaints(world) == before + 2


def test_bad_input_gives_the_form_back_with_the_errors_and_everything_typed(client: TestClient, world: World) -> None:
    sign_in(client, f"reception-ch@{DOMAIN}")
    r = register(client, content="", complainant_name="林太太", contact_phone="139-0000 0002", reply_only="yes")
    assert r.status_code == 422
    assert 'value="林太太"' in r.text and 'value="139-0000 0002"' in r.text
    assert 'id="content"' in r.text and 'aria-invalid="true" aria-describedby="content-error"' in r.text
    assert "只有上級轉呈的投訴才可只作書面回覆" in r.text
    assert re.search(r'id="reply_only"[^>]* checked', r.text)
    unknown = register(client, unit="999", content="門口的燈壞了")
    assert unknown.status_code == 422 and "門口的燈壞了" in unknown.text and 'value="999"' in unknown.text
    assert "本小區沒有這個單元" in unknown.text and "no unit" not in unknown.text
    several = register(client, building="", unit="101", content="門口的燈壞了")
    assert several.status_code == 422 and "多座大廈都有這個單元號碼" in several.text
    assert complaints(world) == 0
    token = csrf_in(client.get("/staff/front-desk").text)
    forged = client.post("/staff/front-desk", data={**CALL, "csrf_token": token + "x"})
    assert forged.status_code == 400 and complaints(world) == 0


def test_the_api_records_the_staff_member_who_registers_and_the_incoming_document_number(
    client: TestClient, world: World
) -> None:
    body = {"estate": "CH", "channel": "letter", "content": "來信投訴垃圾站氣味", "complainant_name": "林太太"}
    r = client.post("/api/complaints", json=body, headers=world.auth("reception"))
    assert r.status_code == 201, r.text
    ref = r.json()["reference"]
    assert world.complaint(ref).received_by_id == staff_id(world, "reception")
    view = client.get(f"/api/complaints/{ref}", headers=world.auth("supervisor")).json()
    assert view["received_by"] == f"reception-ch@{DOMAIN}"
    assert view["incoming_doc_number"] == "CH-收文-2026-0001"
    given = client.post(
        "/api/complaints", json={**body, "incoming_doc_number": "來函-7"}, headers=world.auth("supervisor")
    )
    assert given.status_code == 201
    assert world.complaint(given.json()["reference"]).incoming_doc_number == "來函-7"
    twice = client.post(
        "/api/complaints", json={**body, "incoming_doc_number": "來函-7"}, headers=world.auth("supervisor")
    )
    assert twice.status_code == 422 and "already used" in twice.text


def test_the_cli_records_the_receiver_it_is_given(world: World, db_url: str) -> None:
    env = {"ESTATECARE_DATABASE_URL": db_url, "ESTATECARE_VAR_DIR": str(world.core.settings.var_dir)}
    args = ["complaint", "submit", "--estate", "CH", "--content", "住戶來信：停車場照明不足", "--channel", "letter"]
    result = CliRunner().invoke(cli, [*args, "--received-by", f"reception-ch@{DOMAIN}"], env=env)
    assert result.exit_code == 0, result.output
    ref = result.stdout.splitlines()[0].strip()
    c = world.complaint(ref)
    assert c.received_by_id == staff_id(world, "reception") and c.channel.value == "letter"
    assert re.fullmatch(r"CH-收文-\d{4}-0001", c.incoming_doc_number)
    assert f"incoming-document number {c.incoming_doc_number}" in result.stdout
    unknown = CliRunner().invoke(cli, [*args, "--received-by", "nobody@example.test"], env=env)
    assert unknown.exit_code == 2 and "no active staff member" in unknown.output


def _assess_and_assign(client: TestClient, world: World, ref: str) -> None:
    steps = (
        ("assessment", {"valid": True, "category": "environment"}),
        ("assignment", {"department": "engineering", "staff_email": f"engineering-1-ch@{DOMAIN}"}),
    )
    for step, body in steps:
        r = client.post(f"/api/complaints/{ref}/{step}", json=body, headers=world.auth("supervisor"))
        assert r.status_code == 200, r.text


def test_the_reply_letter_shows_the_reply_and_the_numbers_once_there_is_one(client: TestClient, world: World) -> None:
    sign_in(client, f"reception-ch@{DOMAIN}")
    ref = registered(client, channel="letter", complainant_name="周女士", locale="zh-Hans")
    letter = f"/staff/complaints/{ref}/letter"
    early = client.get(letter)
    assert early.status_code == 409 and "尚無可回覆的內容" in early.text  # the reader's language
    _assess_and_assign(client, world, ref)
    resolve_and_confirm(client, world, ref)
    assert world.complaint(ref).status.value == "revisit_due"
    page = client.get(letter)
    assert page.status_code == 200
    text = page.text
    assert 'lang="zh-Hans"' in text and "投诉回复函" in text  # the complainant's language
    for shown in (ref, "CH-收文-2026-0001", "周女士", "1座 101", "修好", "翠湖花園客户服务中心", "Estate Care"):
        assert shown in text, shown
    assert 'id="print-letter"' in text and 'src="/static/print.js"' in text and "no-print" in text
    assert "@media print" in client.get("/static/style.css").text
    with world.core.sessions() as s:
        pages = list(s.scalars(select(ContactView.page).where(ContactView.complaint_id == world.complaint(ref).id)))
    assert "letter" in pages  # the addressee's name was shown (R-IN-6)
    # An invalid complaint is answered with its explanation.
    other = registered(client, channel="superior_body", reply_only="yes", complainant_name="")
    explanation = "此事屬市政道路範圍，已轉交有關部門"
    r = client.post(
        f"/api/complaints/{other}/assessment",
        json={"valid": False, "explanation": explanation},
        headers=world.auth("supervisor"),
    )
    assert r.status_code == 200, r.text
    invalid = client.get(f"/staff/complaints/{other}/letter")
    assert invalid.status_code == 200 and explanation in invalid.text and "親愛的住戶" in invalid.text


def test_the_letter_is_only_for_staff_who_may_see_the_complainant(client: TestClient, world: World) -> None:
    sign_in(client, f"reception-ch@{DOMAIN}")
    ref = registered(client, channel="letter")
    _assess_and_assign(client, world, ref)
    resolve_and_confirm(client, world, ref)
    assert client.get(f"/staff/complaints/{ref}/letter").status_code == 200
    with world.core.transaction() as s:
        estate = Estate(code="HK", name="海景大廈")
        s.add(estate)
        s.flush()
        s.add(Staff(estate_id=estate.id, name="何小姐", email=f"reception-hk@{DOMAIN}", role=Role.RECEPTIONIST))
        s.flush()
        set_password(s, f"reception-hk@{DOMAIN}", PASSWORD)
    other_estate = TestClient(client.app, raise_server_exceptions=False)
    sign_in(other_estate, f"reception-hk@{DOMAIN}")
    refused = other_estate.get(f"/staff/complaints/{ref}/letter")
    assert refused.status_code == 404 and "黃先生" not in refused.text
    handler = TestClient(client.app, raise_server_exceptions=False)  # no longer assigned to them: no contact
    sign_in(handler, f"engineering-1-ch@{DOMAIN}")
    forbidden = handler.get(f"/staff/complaints/{ref}/letter")
    assert forbidden.status_code == 403 and "黃先生" not in forbidden.text
