"""The web app's rules over HTTP, on real SQLite and PostgreSQL: email links (used, expired,
another person's task), estates, R-IN-6 contact visibility and its log, CSRF, the rate
limit, upload checks, error pages without stack traces, the register export, login."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from PIL import Image
from sqlalchemy import func, select, text

from estatecare import links
from estatecare.server import create_app
from estatecare.webapp.accounts import set_password
from estatecare.webapp.i18n import LOCALE_DIR, TEMPLATE_DIR
from models import Complaint, ComplaintAttachment, ContactView, Estate, Staff, UsedLink
from models.enums import Role
from notifications.i18n import missing_translations
from tests.lifecycle_support import DOMAIN, FORM, PASSWORD, World, make_world


@pytest.fixture
def world(db_url: str, tmp_path: Path) -> World:
    w = make_world(db_url, tmp_path, public_form_rate="3/minute")
    with w.core.transaction() as s:
        for who in ("manager", "supervisor", "engineering-1", "engineering-2", "head-engineering"):
            set_password(s, f"{who}-ch@{DOMAIN}", PASSWORD)
    return w


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    with TestClient(create_app(world.core), raise_server_exceptions=False) as c:
        yield c


def csrf(client: TestClient, path: str = "/complaints/new") -> str:
    page = client.get(path)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, page.text[:500]
    return match.group(1)


def submit(client: TestClient, **overrides: Any) -> str:
    r = client.post("/complaints/new", data={**FORM, **overrides, "csrf_token": csrf(client)}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return r.headers["location"].rsplit("/", 1)[-1]


def sign_in(client: TestClient, who: str) -> None:
    r = client.post(
        "/staff/login",
        data={"email": f"{who}-ch@{DOMAIN}", "password": PASSWORD, "next": "/staff", "csrf_token": csrf(client)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text


def link_of(world: World, template: str, reference: str) -> str:
    """The path and query of the action link in the last ``template`` email about ``reference``."""
    mail = world.mails(template, reference)[-1]
    url = urlsplit(str(mail.context["action_url"]))
    return f"{url.path}?{url.query}"


def assigned(client: TestClient, world: World, **overrides: Any) -> str:
    ref = submit(client, **overrides)
    world.intake(ref)
    assert world.complaint(ref).status == "assigned"
    return ref


def post_result(client: TestClient, link: str, result: str = "已更換水管接頭") -> Any:
    path, query = link.split("?", 1)
    page = client.get(link)
    token = query.removeprefix("t=")
    return client.post(
        path,
        data={"op": "resolve", "result": result, "t": token, "csrf_token": _csrf_in(page.text)},
        follow_redirects=False,
    )


def _csrf_in(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


# --------------------------------------------------------------------------- email links


def test_the_handler_resolves_from_the_email_link_and_the_used_link_is_then_refused(
    client: TestClient, world: World
) -> None:
    ref = assigned(client, world)
    link = link_of(world, "work_arrangement", ref)
    assert link.startswith(f"/staff/complaints/{ref}/resolution?t=")
    page = client.get(link)
    assert page.status_code == 200 and "13900000001" in page.text  # assigned handler: contact shown (R-IN-6)
    r = post_result(client, link)
    assert r.status_code == 200 and ref in r.text
    assert world.complaint(ref).status == "resolved"
    again = client.get(link)
    assert again.status_code == 410
    assert "已使用過" in again.text and 'href="/staff/login"' in again.text
    with world.core.sessions() as s:
        assert s.scalar(select(func.count()).select_from(UsedLink)) == 1


def test_an_expired_link_is_refused_with_the_way_to_sign_in(client: TestClient, world: World) -> None:
    ref = assigned(client, world)
    handler = world.complaint(ref).assignee_id
    assert handler is not None
    hours = world.core.settings.link_max_age_hours
    old = datetime.now(UTC) - timedelta(hours=hours + 1)
    url = links.sign_url(world.core.settings, handler, f"http://x/staff/complaints/{ref}/resolution", issued_at=old)
    r = client.get(url.removeprefix("http://x"))
    assert r.status_code == 410 and "已過期" in r.text and 'href="/staff/login"' in r.text
    fresh = links.sign_url(world.core.settings, handler, f"http://x/staff/complaints/{ref}/resolution")
    assert client.get(fresh.removeprefix("http://x")).status_code == 200


def test_a_link_opens_only_its_own_page_for_its_own_person(client: TestClient, world: World) -> None:
    ref = assigned(client, world)
    other = assigned(client, world, building="2座", unit="202", content="洗手間水管爆裂漏水")
    link = link_of(world, "work_arrangement", ref)
    token = link.split("?t=", 1)[1]
    # Another task of the same complaint, or the same task of another complaint: refused.
    r = client.get(f"/staff/complaints/{ref}/revisit?t={token}")
    assert r.status_code == 403 and "另一項工作" in r.text
    r = client.get(f"/staff/complaints/{other}/resolution?t={token}")
    assert r.status_code == 403
    # A tampered token: refused.
    r = client.get(f"/staff/complaints/{ref}/resolution?t={token[:-3]}abc")
    assert r.status_code == 403 and "無效" in r.text
    # Someone else signed in on this browser opens the handler's link: refused.
    sign_in(client, "engineering-2")
    r = client.get(link)
    assert r.status_code == 403 and "sent to someone else" in r.text  # Sam Lee reads English
    assert world.complaint(ref).status == "assigned"


def test_a_link_of_a_handler_who_lost_the_case_cannot_record_the_result(client: TestClient, world: World) -> None:
    ref = assigned(client, world)
    link = link_of(world, "work_arrangement", ref)
    sign_in(client, "supervisor")
    page = client.get(f"/staff/complaints/{ref}")
    assert page.status_code == 200
    with world.core.transaction() as s:
        complaint = s.scalar(select(Complaint).where(Complaint.reference == ref))
        other = s.scalar(select(Staff).where(Staff.email == f"engineering-2-ch@{DOMAIN}"))
        assert complaint is not None and other is not None
        complaint.assignee_id = other.id
    client.cookies.clear()
    r = post_result(client, link)
    assert r.status_code == 403
    assert world.complaint(ref).status == "assigned"


# --------------------------------------------------------------------------- estates and R-IN-6


def _other_estate_supervisor(world: World) -> None:
    with world.core.transaction() as s:
        estate = Estate(code="HK", name="海景大廈")
        s.add(estate)
        s.flush()
        s.add(Staff(estate_id=estate.id, name="何主任", email=f"supervisor-hk@{DOMAIN}", role=Role.PROPERTY_SUPERVISOR))
        s.flush()
        set_password(s, f"supervisor-hk@{DOMAIN}", PASSWORD)


def test_staff_of_another_estate_see_and_do_nothing_here(client: TestClient, world: World) -> None:
    ref = submit(client)
    _other_estate_supervisor(world)
    r = client.post(
        "/staff/login",
        data={"email": f"supervisor-hk@{DOMAIN}", "password": PASSWORD, "next": "/staff", "csrf_token": csrf(client)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    # another estate's reference is answered like an unknown one: 404, not 403
    assert client.get(f"/staff/complaints/{ref}").status_code == 404
    assert client.get(f"/staff/complaints/{ref}/assessment").status_code == 404
    token = _csrf_in(client.get("/staff").text)
    r = client.post(
        f"/staff/complaints/{ref}/assessment",
        data={"op": "assess", "valid": "yes", "category": "facility", "csrf_token": token},
    )
    assert r.status_code == 404 and world.complaint(ref).status == "received"
    register = client.get("/staff/register")
    assert register.status_code == 200 and ref not in register.text
    assert ref not in client.get("/staff/register/export.csv").text
    assert ref not in client.get("/staff").text
    with world.core.sessions() as s:
        assert s.scalar(select(func.count()).select_from(ContactView)) == 0


def test_a_handler_sees_the_contact_only_while_assigned_and_every_view_is_logged(
    client: TestClient, world: World
) -> None:
    ref = assigned(client, world)
    sign_in(client, "engineering-2")  # same department, not assigned
    page = client.get(f"/staff/complaints/{ref}")
    assert page.status_code == 200 and "13900000001" not in page.text and "*******0001" in page.text
    assert "wong@example.test" not in page.text and "黃先生" not in page.text
    sign_in(client, "engineering-1")  # the assignee
    page = client.get(f"/staff/complaints/{ref}")
    assert "13900000001" in page.text and "wong@example.test" in page.text
    form = client.get(f"/staff/complaints/{ref}/resolution")
    assert "13900000001" in form.text
    token = _csrf_in(form.text)
    r = client.post(
        f"/staff/complaints/{ref}/resolution", data={"op": "resolve", "result": "已修好", "csrf_token": token}
    )
    assert r.status_code == 200 and world.complaint(ref).status == "resolved"
    page = client.get(f"/staff/complaints/{ref}")  # no longer assigned to act: masked again
    assert "13900000001" not in page.text and "*******0001" in page.text
    with world.core.sessions() as s:
        views = s.execute(select(Staff.email, ContactView.page).join(Staff, Staff.id == ContactView.staff_id)).all()
    assert [(email.split("-ch@")[0], page) for email, page in views] == [
        ("engineering-1", "complaint"),
        ("engineering-1", "resolution"),
    ]


# --------------------------------------------------------------------------- hardening


def test_a_form_without_the_csrf_token_is_refused_and_keeps_what_was_typed(client: TestClient, world: World) -> None:
    csrf(client)
    r = client.post("/complaints/new", data=FORM)
    assert r.status_code == 400 and "廚房天花板漏水" in r.text
    sign_in(client, "manager")
    r = client.post("/staff/logout", data={})
    assert r.status_code == 400
    with world.core.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Complaint)) == 0


def test_the_public_form_is_rate_limited_per_address_without_losing_the_text(client: TestClient, world: World) -> None:
    for _ in range(3):
        submit(client)
    r = client.post("/complaints/new", data={**FORM, "content": "第四次：電梯又壞了", "csrf_token": csrf(client)})
    assert r.status_code == 429 and "第四次：電梯又壞了" in r.text and "請稍等一分鐘" in r.text
    with world.core.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Complaint)) == 3


def _png(size: tuple[int, int] = (40, 30)) -> bytes:
    buf = BytesIO()
    Image.new("RGB", size, (200, 80, 80)).save(buf, format="PNG")
    return buf.getvalue()


def test_uploads_must_be_real_images_within_the_size_limit(client: TestClient, world: World) -> None:
    token = csrf(client)
    fake = ("leak.png", b"#!/bin/sh\necho not an image\n", "image/png")
    r = client.post("/complaints/new", data={**FORM, "csrf_token": token}, files=[("photos", fake)])
    assert r.status_code == 422 and "leak.png 不是 JPEG、PNG 或 WebP 圖片" in r.text and "廚房天花板漏水" in r.text
    big = ("big.png", b"\x89PNG\r\n\x1a\n" + b"0" * (world.core.settings.upload_max_bytes + 10), "image/png")
    r = client.post("/complaints/new", data={**FORM, "csrf_token": token}, files=[("photos", big)])
    assert r.status_code == 422 and "big.png 超過" in r.text
    r = client.post(
        "/complaints/new",
        data={**FORM, "csrf_token": token},
        files=[("photos", ("ok.png", _png(), "application/octet-stream"))],
        follow_redirects=False,
    )
    assert r.status_code == 303
    ref = r.headers["location"].rsplit("/", 1)[-1]
    with world.core.sessions() as s:
        [photo] = s.scalars(select(ComplaintAttachment)).all()
        assert photo.content_type == "image/png" and s.scalar(select(func.count()).select_from(Complaint)) == 1
    assert (world.core.settings.attachments_path / photo.stored_name).read_bytes() == _png()  # the shared store
    sign_in(client, "manager")
    shown = client.get(f"/staff/complaints/{ref}/photos/{photo.id}")
    assert shown.status_code == 200 and shown.headers["content-type"] == "image/png"
    assert shown.headers["x-content-type-options"] == "nosniff"


def test_bad_input_gets_clear_errors_and_an_internal_error_shows_no_stack_trace(
    client: TestClient, world: World
) -> None:
    r = client.post(
        "/complaints/new",
        data={**FORM, "contact_phone": "", "contact_email": "", "content": "", "csrf_token": csrf(client)},
    )
    assert r.status_code == 422
    assert "請留下電話或電郵" in r.text and 'aria-invalid="true"' in r.text and "黃先生" in r.text
    assert "請填寫此欄" in r.text and "validation" not in r.text
    r = client.post("/complaints/new", data={**FORM, "unit": "999", "csrf_token": csrf(client)})
    assert r.status_code == 422 and "本小區沒有這個單元" in r.text and "no unit" not in r.text
    ref = submit(client)
    sign_in(client, "manager")
    with world.core.engine.begin() as conn:  # a row the code cannot read: an internal error
        conn.execute(text("UPDATE complaint SET channel = 'carrier_pigeon' WHERE reference = :r"), {"r": ref})
    r = client.get(f"/staff/complaints/{ref}")
    assert r.status_code == 500
    assert "系統出現問題" in r.text and "Traceback" not in r.text and "carrier_pigeon" not in r.text


# --------------------------------------------------------------------------- status, register, login, languages


def test_the_status_page_needs_the_matching_contact_and_shows_no_personal_data(
    client: TestClient, world: World
) -> None:
    ref = assigned(client, world)
    token = csrf(client, f"/status/{ref}")
    wrong = client.post("/status", data={"reference": ref, "contact": "13800000000", "csrf_token": token})
    assert wrong.status_code == 404 and "找不到" in wrong.text
    right = client.post("/status", data={"reference": ref, "contact": "WONG@example.test", "csrf_token": token})
    assert right.status_code == 200 and "處理中" in right.text
    assert "黃先生" not in right.text and "13900000001" not in right.text and "engineering" not in right.text


def test_the_register_filters_and_exports_csv_and_xlsx(client: TestClient, world: World) -> None:
    first = assigned(client, world)
    second = submit(client, content="大堂地面很髒")
    sign_in(client, "manager")
    r = client.get("/staff/register?status=assigned")
    assert first in r.text and second not in r.text
    csv_text = client.get("/staff/register/export.csv?status=received").content.decode("utf-8-sig")
    assert csv_text.splitlines()[0].startswith("編號,小區") and second in csv_text and first not in csv_text
    xlsx = client.get("/staff/register/export.xlsx")
    assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(BytesIO(xlsx.content)).active
    assert sheet is not None
    refs = {row[0] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert refs == {first, second}
    assert client.get("/staff/register?from=not-a-date").status_code == 400


def test_staff_sign_in_with_argon2_and_a_session_cookie_that_scripts_cannot_read(
    client: TestClient, world: World
) -> None:
    with world.core.sessions() as s:
        stored = s.scalar(select(Staff.password_hash).where(Staff.email == f"manager-ch@{DOMAIN}"))
    assert stored is not None and stored.startswith("$argon2id$")
    token = csrf(client, "/staff/login")
    bad = client.post("/staff/login", data={"email": f"manager-ch@{DOMAIN}", "password": "wrong", "csrf_token": token})
    assert bad.status_code == 401 and "不正確" in bad.text
    assert client.get("/staff", follow_redirects=False).headers["location"] == "/staff/login?next=%2Fstaff"
    r = client.post(
        "/staff/login",
        data={
            "email": f"manager-ch@{DOMAIN}",
            "password": PASSWORD,
            "next": "https://evil.example/",
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/staff"
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    page = client.get("/staff")
    assert page.headers["referrer-policy"] == "no-referrer"  # link tokens never leave in a Referer
    assert "script-src 'self'" in page.headers["content-security-policy"]


def test_pages_speak_the_chosen_language_and_every_string_is_translated(client: TestClient) -> None:
    assert missing_translations(TEMPLATE_DIR, LOCALE_DIR) == {}
    assert "我要投訴" in client.get("/").text
    assert "我要投诉" in client.get("/?lang=zh-Hans").text
    assert "我要投诉" in client.get("/complaints/new").text  # the choice is remembered
    english = TestClient(client.app).get("/", headers={"accept-language": "en-GB,en;q=0.9"})
    assert "Make a complaint" in english.text and 'lang="en"' in english.text


def test_the_photos_of_the_links_complaint_open_with_the_link_and_nothing_else_does(
    client: TestClient, world: World
) -> None:
    r = client.post(
        "/complaints/new",
        data={**FORM, "csrf_token": csrf(client)},
        files=[("photos", ("leak.png", _png(), "image/png"))],
        follow_redirects=False,
    )
    ref = r.headers["location"].rsplit("/", 1)[-1]
    world.intake(ref)
    link = link_of(world, "work_arrangement", ref)
    token = link.split("?t=", 1)[1]
    with world.core.sessions() as s:
        photo_id = s.scalar(select(ComplaintAttachment.id))
    page = client.get(link)
    assert f"/staff/complaints/{ref}/photos/{photo_id}?t={token}" in page.text
    assert client.get(f"/staff/complaints/{ref}/photos/{photo_id}?t={token}").status_code == 200
    anonymous = client.get(f"/staff/complaints/{ref}/photos/{photo_id}", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/staff/login")
    other = submit(client, building="2座", unit="202", content="洗手間水管爆裂漏水")
    assert client.get(f"/staff/complaints/{other}/photos/{photo_id}?t={token}").status_code == 403
