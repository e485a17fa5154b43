"""Public intake on real SQLite and PostgreSQL: rate limits per client address and overall
(429 with Retry-After), only the online channel without a staff token, and retries that
never make a second complaint (``Idempotency-Key`` on the API, a one-time token on the form)."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Callable
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select

from estatecare.server import create_app
from models import Complaint, ComplaintAttachment, IdempotentRequest, Notification
from models.enums import Channel
from notifications.sender import SmtpConfig, deliver_pending
from tests.lifecycle_support import LEAK, World, make_world
from tests.smtp_server import SmtpTestServer

FORM = {k: LEAK[k] for k in ("estate", "building", "unit", "complainant_name", "contact_phone", "contact_email")}
FORM["content"] = LEAK["content"]

MakeWorld = Callable[..., World]


@pytest.fixture
def make(db_url: str, tmp_path: Path) -> MakeWorld:
    """A seeded world with the given settings (the intake limits, above all)."""

    def build(**settings: Any) -> World:
        return make_world(db_url, tmp_path, **settings)

    return build


def at(app: FastAPI, address: str) -> TestClient:
    """A client of ``app`` that connects from ``address``."""
    return TestClient(app, client=(address, 40000))


def complaints(world: World) -> int:
    with world.core.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(Complaint)) or 0)


def form_page(client: TestClient) -> tuple[str, str]:
    """The CSRF token and the one-time form token of a freshly rendered complaint form."""
    page = client.get("/complaints/new").text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page)
    token = re.search(r'name="form_token" value="([^"]+)"', page)
    assert csrf and token, page[:800]
    return csrf.group(1), token.group(1)


def _png() -> bytes:
    buf = BytesIO()
    Image.new("RGB", (30, 20), (10, 120, 200)).save(buf, format="PNG")
    return buf.getvalue()


# --------------------------------------------------------------------------- rate limits


def test_anonymous_intake_is_limited_per_address_with_retry_after_and_staff_are_not(make: MakeWorld) -> None:
    world = make(public_form_rate="3/minute", public_total_rate="1000/minute")
    app = create_app(world.core, clock=world.clock)
    here, there = at(app, "203.0.113.10"), at(app, "203.0.113.20")
    for _ in range(3):
        assert here.post("/api/complaints", json=LEAK).status_code == 201
    refused = here.post("/api/complaints", json=LEAK)
    assert refused.status_code == 429, refused.text
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert "try again" in refused.json()["detail"]
    # the web form of the same address draws on the same budget
    csrf, token = form_page(here)
    form = here.post("/complaints/new", data={**FORM, "csrf_token": csrf, "form_token": token})
    assert form.status_code == 429 and "請稍等一分鐘" in form.text and LEAK["content"] in form.text
    assert 1 <= int(form.headers["Retry-After"]) <= 60
    assert there.post("/api/complaints", json=LEAK).status_code == 201  # its own budget
    staff = here.post("/api/complaints", json={**LEAK, "channel": "phone"}, headers=world.auth("reception"))
    assert staff.status_code == 201, staff.text  # a staff token is not limited
    assert complaints(world) == 5


def test_public_intake_is_limited_overall_across_addresses(make: MakeWorld) -> None:
    world = make(public_form_rate="100/minute", public_total_rate="4/minute")
    app = create_app(world.core, clock=world.clock)
    for i in range(4):
        assert at(app, f"198.51.100.{i + 1}").post("/api/complaints", json=LEAK).status_code == 201
    refused = at(app, "198.51.100.99").post("/api/complaints", json=LEAK)
    assert refused.status_code == 429, refused.text
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    browser = at(app, "198.51.100.100")
    csrf, token = form_page(browser)
    form = browser.post("/complaints/new", data={**FORM, "csrf_token": csrf, "form_token": token})
    assert form.status_code == 429 and "許多投訴" in form.text and LEAK["content"] in form.text
    assert complaints(world) == 4


# --------------------------------------------------------------------------- channels


def test_without_a_staff_token_only_the_online_channel_is_accepted_and_nothing_is_saved(make: MakeWorld) -> None:
    world = make()
    with TestClient(create_app(world.core, clock=world.clock)) as client:
        for channel in [c for c in Channel if c is not Channel.ONLINE]:
            r = client.post("/api/complaints", json={**LEAK, "channel": channel.value})
            assert r.status_code == 403, (channel, r.status_code, r.text)
            assert "online" in r.json()["detail"] and "staff" in r.json()["detail"]
        r = client.post("/api/complaints", json={**LEAK, "reply_only": True})
        assert r.status_code == 403, r.text
        assert complaints(world) == 0
        with world.core.sessions() as s:
            assert s.scalar(select(func.count()).select_from(Notification)) == 0
        assert client.post("/api/complaints", json={**LEAK, "channel": "online"}).status_code == 201
        for channel in ("phone", "superior_body"):
            r = client.post("/api/complaints", json={**LEAK, "channel": channel}, headers=world.auth("reception"))
            assert r.status_code == 201, r.text
            stored = world.complaint(r.json()["reference"])
            assert stored.channel == channel and stored.received_by_id is not None
        schema = client.get("/openapi.json").json()["paths"]["/api/complaints"]["post"]
        assert "403" in schema["responses"] and "429" in schema["responses"]


def test_the_web_form_records_the_online_channel_whatever_is_posted(make: MakeWorld) -> None:
    world = make()
    with TestClient(create_app(world.core, clock=world.clock)) as client:
        csrf, token = form_page(client)
        data = {**FORM, "channel": "superior_body", "reply_only": "true", "csrf_token": csrf, "form_token": token}
        r = client.post("/complaints/new", data=data, follow_redirects=False)
        assert r.status_code == 303, r.text
        stored = world.complaint(r.headers["location"].rsplit("/", 1)[-1])
        assert stored.channel == "online" and stored.reply_only is False


# --------------------------------------------------------------------------- Idempotency-Key


def test_a_retry_with_the_same_idempotency_key_gets_the_first_answer_one_complaint_and_one_email(
    make: MakeWorld, smtp_server: SmtpTestServer
) -> None:
    world = make()
    with TestClient(create_app(world.core, clock=world.clock)) as client:
        key = {"Idempotency-Key": "7f1c2e9a-retry-of-a-lost-answer"}
        first = client.post("/api/complaints", json=LEAK, headers=key)
        again = client.post("/api/complaints", json=LEAK, headers=key)
    assert first.status_code == 201, first.text
    assert (again.status_code, again.json()) == (201, first.json())
    assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert complaints(world) == 1
    with world.core.sessions() as s:
        for ref in s.scalars(select(Complaint.reference)).all():
            world.run_intake(ref)
    config = SmtpConfig(host="127.0.0.1", port=smtp_server.port, timeout=5, connections=1, render_helper=False)
    asyncio.run(deliver_pending(world.core.sessions, config, world.core.policy.company.timezone))
    to_resident = [m for m in smtp_server.messages if "wong@example.test" in str(m["To"])]
    assert len(to_resident) == 1, [str(m["Subject"]) for m in to_resident]


def test_the_same_key_with_another_body_is_refused_and_the_header_is_documented(make: MakeWorld) -> None:
    world = make()
    with TestClient(create_app(world.core, clock=world.clock)) as client:
        key = {"Idempotency-Key": "k-0001"}
        first = client.post("/api/complaints", json=LEAK, headers=key)
        assert first.status_code == 201
        other = client.post("/api/complaints", json={**LEAK, "content": "電梯壞了"}, headers=key)
        assert other.status_code == 422, other.text
        [error] = other.json()["detail"]
        assert error["loc"] == ["header", "Idempotency-Key"] and "another request" in error["msg"]
        assert complaints(world) == 1
        # a staff member's keys are their own: the same key is a new request there
        staff = client.post(
            "/api/complaints", json={**LEAK, "content": "電梯壞了"}, headers={**key, **world.auth("reception")}
        )
        assert staff.status_code == 201 and staff.json()["reference"] != first.json()["reference"]
        operation = client.get("/openapi.json").json()["paths"]["/api/complaints"]["post"]
    [header] = [p for p in operation["parameters"] if p["in"] == "header" and p["name"] == "Idempotency-Key"]
    assert "retry" in header["description"]
    assert "Idempotency-Key" in operation["responses"]["422"]["description"]


def test_a_replay_does_not_count_against_the_rate_limit(make: MakeWorld) -> None:
    world = make(public_form_rate="1/minute", public_total_rate="1000/minute")
    with TestClient(create_app(world.core, clock=world.clock)) as client:
        key = {"Idempotency-Key": "only-once"}
        first = client.post("/api/complaints", json=LEAK, headers=key)
        again = client.post("/api/complaints", json=LEAK, headers=key)
        assert (first.status_code, again.status_code) == (201, 201)
        assert again.json()["reference"] == first.json()["reference"]
        assert client.post("/api/complaints", json=LEAK).status_code == 429
    assert complaints(world) == 1


def test_concurrent_retries_with_one_key_make_one_complaint(make: MakeWorld) -> None:
    world = make()
    answers: list[tuple[int, str]] = []
    with TestClient(create_app(world.core, clock=world.clock)) as client:
        start = threading.Barrier(4)

        def post() -> None:
            start.wait()
            r = client.post("/api/complaints", json=LEAK, headers={"Idempotency-Key": "at-once"})
            answers.append((r.status_code, r.json().get("reference", r.text)))

        threads = [threading.Thread(target=post) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert len(answers) == 4 and len(set(answers)) == 1 and answers[0][0] == 201, answers
    assert complaints(world) == 1


def test_kept_answers_are_dropped_after_a_day(make: MakeWorld) -> None:
    world = make()
    with TestClient(create_app(world.core, clock=world.clock)) as client:
        old = client.post("/api/complaints", json=LEAK, headers={"Idempotency-Key": "yesterday"})
        world.clock.advance(hours=23)
        assert client.post("/api/complaints", json=LEAK, headers={"Idempotency-Key": "yesterday"}).json() == old.json()
        world.clock.advance(hours=2)
        client.post("/api/complaints", json=LEAK, headers={"Idempotency-Key": "today"})
        with world.core.sessions() as s:
            kept = s.scalars(select(IdempotentRequest.key)).all()
        assert [k.rsplit(":", 1)[-1] for k in kept] == ["today"]
        again = client.post("/api/complaints", json=LEAK, headers={"Idempotency-Key": "yesterday"})
        assert again.json()["reference"] != old.json()["reference"]  # forgotten: a new complaint


# --------------------------------------------------------------------------- the web form's one-time token


def test_a_resubmitted_web_form_shows_the_first_result_and_stores_one_complaint_and_one_photo(
    make: MakeWorld,
) -> None:
    world = make()
    with TestClient(create_app(world.core, clock=world.clock)) as client:
        csrf, token = form_page(client)
        assert form_page(client)[1] != token  # a new token with every form
        data = {**FORM, "csrf_token": csrf, "form_token": token}
        photo = [("photos", ("leak.png", _png(), "image/png"))]
        first = client.post("/complaints/new", data=data, files=photo, follow_redirects=False)
        again = client.post("/complaints/new", data=data, files=photo, follow_redirects=False)
        assert first.status_code == 303, first.text
        assert (again.status_code, again.headers["location"]) == (303, first.headers["location"])
        assert client.get(again.headers["location"]).status_code == 200
    assert complaints(world) == 1
    with world.core.sessions() as s:
        assert s.scalar(select(func.count()).select_from(ComplaintAttachment)) == 1
    stored = [p for p in world.core.settings.attachments_path.rglob("*") if p.is_file()]
    assert len(stored) == 1, stored
