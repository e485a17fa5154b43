"""Bad input: nothing a client sends makes the API fail (5xx) or write half a complaint.

- schemathesis generates requests for every operation of the OpenAPI schema (valid and
  invalid ones, bounded for CI) and checks that none gets a 5xx;
- hypothesis drives intake with huge texts, control characters, emoji, SQL and HTML
  fragments and wrong types: the answer is 201 with the text kept as sent, or a 4xx
  naming the field, and a refused complaint leaves no row behind.
"""

from __future__ import annotations

import re
import tempfile
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from estatecare.app import App
from estatecare.db import make_engine
from estatecare.server import create_app
from estatecare.settings import Settings
from models import Complaint, ComplaintEvent, Notification
from models.policy import load_policy
from tests.lifecycle_support import World, make_world

VALID = {
    "estate": "CH",
    "building": "1座",
    "unit": "101",
    "content": "廚房天花板漏水",
    "complainant_name": "黃先生",
    "contact_phone": "13900000001",
    "contact_email": "wong@example.test",
}
LIMITS = {"estate": 32, "building": 100, "unit": 50, "content": 5000, "complainant_name": 200}

# ---------------------------------------------------------------------------- schemathesis


class _Target:
    """The ASGI app the generated requests go to: each test points it at its own database."""

    def __init__(self) -> None:
        settings = Settings(var_dir=Path(tempfile.gettempdir()), database_url="sqlite://")
        # reading the schema needs no database: an in-memory one serves until a test sets its own
        self.app: Any = create_app(App(settings=settings, policy=load_policy(), engine=make_engine("sqlite://")))

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


TARGET = _Target()
schema = schemathesis.openapi.from_asgi("/openapi.json", TARGET)
schema.config.generation.update(max_examples=12, deterministic=True, database="none")


@pytest.fixture
def fuzz_world(tmp_path: Path) -> Iterator[World]:
    world = make_world(f"sqlite:///{tmp_path / 'fuzz.db'}", tmp_path)
    previous, TARGET.app = TARGET.app, create_app(world.core, clock=world.clock)
    yield world
    TARGET.app = previous


# /api/health takes no input and answers 503 by design while a part is down (no Prefect server here).
@schema.exclude(path="/api/health").parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_generated_request_gets_a_server_error(case: Any, fuzz_world: World) -> None:
    # a valid staff token, so the staff operations get past authentication to their input checks
    response = case.call(headers={"Authorization": f"Bearer {fuzz_world.tokens['manager']}"})
    assert response.status_code < 500, (case.method, case.formatted_path, case.body, response.text[:500])


# ---------------------------------------------------------------------------- hypothesis intake

SQL = ["'; DROP TABLE complaint; --", "1 OR 1=1", '" OR ""="', "%'; SELECT * FROM staff; --"]
HTML = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "</textarea><b>", "&lt;&amp;"]
EMOJI = ["😀", "🏠💧", "👨‍👩‍👧", "\u200b", "é"]
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
CONTROL = ["\x00", "\x07", "\x1b[31m", "\x7f", "\x0c"]

fragment = st.one_of(
    st.sampled_from(SQL + HTML + EMOJI),
    st.text(min_size=1, max_size=20),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=30),
)
clean_text = st.lists(fragment, min_size=1, max_size=6).map("".join)
dirty_text = st.tuples(clean_text, st.sampled_from(CONTROL), clean_text).map("".join)
huge_text = st.integers(5001, 40_000).map(lambda n: "漏" * n)
wrong_type = st.one_of(
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@st.composite
def intake_bodies(draw: st.DrawFn) -> tuple[dict[str, Any], set[str]]:
    """A complaint body with zero or more spoilt fields, and the names of the spoilt ones."""
    body: dict[str, Any] = dict(VALID)
    body["content"] = draw(st.one_of(st.just(VALID["content"]), clean_text))
    body["complainant_name"] = draw(st.one_of(st.just(""), st.sampled_from(SQL + HTML + EMOJI)))
    spoilt: set[str] = set()
    for field in draw(
        st.sets(
            st.sampled_from(
                [
                    "content",
                    "complainant_name",
                    "building",
                    "estate",
                    "contact_email",
                    "contact_phone",
                    "channel",
                    "locale",
                ]
            ),
            max_size=3,
        )
    ):
        kind = draw(st.sampled_from(["wrong_type", "huge", "control"]))
        if kind == "wrong_type":
            body[field] = draw(wrong_type)
        elif kind == "huge":
            body[field] = "漏" * (LIMITS.get(field, 320) + draw(st.integers(1, 2000)))
        else:
            body[field] = draw(dirty_text)
        spoilt.add(field)
    content = body["content"]
    if isinstance(content, str) and (not unicodedata.normalize("NFC", content).strip() or CONTROL_RE.search(content)):
        spoilt.add("content")  # blank once stripped, or a control character other than tab and newlines
    if draw(st.booleans()) and not spoilt:
        extra = draw(st.sampled_from(["id", "status", "version", "reference", "intake_done"]))
        body[extra] = draw(wrong_type)
        spoilt.add(extra)
    return body, spoilt


def counts(world: World) -> tuple[int, int, int]:
    with world.core.sessions() as s:
        return (
            s.scalar(select(func.count(Complaint.id))) or 0,
            s.scalar(select(func.count(ComplaintEvent.id))) or 0,
            s.scalar(select(func.count(Notification.id))) or 0,
        )


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(case=intake_bodies())
def test_intake_answers_201_or_a_4xx_naming_the_field_and_never_writes_half(
    client: TestClient, world: World, case: tuple[dict[str, Any], set[str]]
) -> None:
    body, spoilt = case
    before = counts(world)
    r = client.post("/api/complaints", json=body)
    after = counts(world)
    assert r.status_code < 500, r.text[:500]
    if r.status_code == 201:
        assert after == (before[0] + 1, before[1] + 1, before[2])  # the complaint and its first record, nothing else
        stored = world.complaint(r.json()["reference"])
        assert stored.content == unicodedata.normalize("NFC", body["content"]).strip()  # kept as sent, not run
        assert stored.complainant_name == body["complainant_name"].strip()
        assert not spoilt - {"contact_phone", "contact_email", "building", "complainant_name", "content"}
    else:
        assert 400 <= r.status_code < 500, r.text[:500]
        assert after == before  # nothing written
        detail = r.json()["detail"]
        named = (
            {str(e["loc"][-1] if e["loc"][-1] != "body" else "body") for e in detail}
            if isinstance(detail, list)
            else set()
        )
        assert named, detail
        assert named & (spoilt | {"unit", "building", "estate", "body"}), (named, spoilt, detail)


def test_a_non_json_or_empty_body_is_refused_with_a_4xx(client: TestClient, world: World) -> None:
    before = counts(world)
    for content, kind in [
        (b"", "application/json"),
        (b"{not json", "application/json"),
        (b"a=1", "application/x-www-form-urlencoded"),
        (b"[1,2]", "application/json"),
        (b"\xff\xfe", "application/json"),
    ]:
        r = client.post("/api/complaints", content=content, headers={"content-type": kind})
        assert 400 <= r.status_code < 500, (content, r.status_code, r.text)
    assert counts(world) == before


def test_an_unknown_estate_or_unit_is_a_422_naming_the_field_and_writes_nothing(
    client: TestClient, world: World
) -> None:
    before = counts(world)
    for field, value in [("estate", "NOPE"), ("unit", "9999"), ("building", "99座")]:
        r = client.post("/api/complaints", json={**VALID, field: value})
        assert r.status_code == 422, r.text
        assert [e["loc"] for e in r.json()["detail"]] in ([["body", field]], [["body", "unit"]])
    assert counts(world) == before
