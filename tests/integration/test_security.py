"""Security of the REST API on real SQLite and PostgreSQL: staff tokens (missing, invalid,
expired, revoked) and estates (nobody acts on another estate's complaints)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from estatecare.cli import app as cli
from estatecare.demo import seed_demo
from estatecare.services.tokens import issue_token, revoke_token
from models import Complaint, ComplaintAttachment, ComplaintEvent, WorkOrder
from tests.lifecycle_support import LEAK, World

PUBLIC = {("POST", "/api/complaints"), ("POST", "/api/repairs"), ("GET", "/api/health")}
# A valid body for each staff step, so that only the token or the estate can refuse it.
BODIES: dict[str, dict[str, Any]] = {
    "/assessment": {"valid": True, "category": "facility"},
    "/assignment": {},
    "/escalation": {"reason": "需要上級決定"},
    "/escalation/decision": {"department": "engineering"},
    "/progress": {"message": "已安排師傅"},
    "/resolution": {"result": "已修好"},
    "/resolution/confirmation": {"confirmed": True},
    "/revisits": {"method": "phone", "satisfaction": "satisfied"},
    "/close": {},
    "/duplicate-of": {"first_report": "CH-20261201-0001"},
    "/duplicate-of/removal": {"reason": "另一個問題"},
    "/api/work-orders": {"estate": "CH", "kind": "repair"},
    "/arrival": {},
    "/completion": {"work_done": "已修好", "refusal_note": "住戶不在家"},
    "/reassignment": {"staff_email": "engineering-1-ch@estatecare.localhost"},
}


def submit(client: TestClient, **overrides: Any) -> str:
    r = client.post("/api/complaints", json={**LEAK, **overrides})
    assert r.status_code == 201, r.text
    return str(r.json()["reference"])


def staff_requests(client: TestClient, reference: str) -> list[tuple[str, str, dict[str, Any]]]:
    """Every staff endpoint of the OpenAPI schema: method, URL and the request's valid arguments."""
    out: list[tuple[str, str, dict[str, Any]]] = []
    for path, methods in client.get("/openapi.json").json()["paths"].items():
        for method in methods:
            if (method.upper(), path) in PUBLIC:
                continue
            url = path.replace("{reference}", reference)
            kwargs: dict[str, Any] = {}
            if method.upper() == "POST" and path.endswith("/attachments"):
                kwargs = {"params": {"filename": "photo.jpg"}, "content": b"\xff\xd8 a photo"}
            elif method.upper() == "POST":
                kwargs = {"json": next((b for suffix, b in BODIES.items() if path.endswith(suffix)), None)}
            out.append((method.upper(), url, kwargs))
    return out


def test_the_schema_lists_the_staff_endpoints_the_token_tests_cover(client: TestClient, world: World) -> None:
    found = {(m, u) for m, u, _ in staff_requests(client, "X")}
    assert ("GET", "/api/complaints") in found and ("POST", "/api/complaints/X/close") in found
    assert len(found) >= 12


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer not-a-token", "bearer 123' OR '1'='1"],
    ids=["missing", "empty", "scheme-only", "blank-token", "basic-auth", "unknown-token", "sql-fragment"],
)
def test_every_staff_endpoint_refuses_a_missing_or_invalid_token(
    client: TestClient, world: World, authorization: str | None
) -> None:
    ref = submit(client)
    headers = {"Authorization": authorization} if authorization is not None else {}
    for method, url, kwargs in staff_requests(client, ref):
        r = client.request(method, url, headers=headers, **kwargs)
        assert r.status_code == 401, (method, url, r.status_code, r.text)
        assert r.headers["WWW-Authenticate"] == "Bearer"
    assert world.complaint(ref).version == 1  # nothing moved


def test_every_staff_endpoint_refuses_an_expired_token_and_accepts_it_before(client: TestClient, world: World) -> None:
    ref = submit(client)
    with world.core.transaction() as s:
        token, expires = issue_token(s, "manager-ch@estatecare.localhost", world.clock(), days=1)
    headers = {"Authorization": f"Bearer {token}"}
    assert expires == world.clock() + timedelta(days=1)
    assert client.get("/api/complaints", headers=headers).status_code == 200
    world.clock.now = expires
    for method, url, kwargs in staff_requests(client, ref):
        r = client.request(method, url, headers=headers, **kwargs)
        assert r.status_code == 401, (method, url, r.status_code, r.text)
        assert "expired" in r.json()["detail"]
    assert world.complaint(ref).version == 1


def test_a_new_token_replaces_the_old_one_and_a_revoked_token_is_refused(client: TestClient, world: World) -> None:
    old = {"Authorization": f"Bearer {world.tokens['manager']}"}
    assert client.get("/api/complaints", headers=old).status_code == 200
    with world.core.transaction() as s:
        token, _ = issue_token(s, "manager-ch@estatecare.localhost", world.clock())
    new = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/complaints", headers=old).status_code == 401
    assert client.get("/api/complaints", headers=new).status_code == 200
    with world.core.transaction() as s:
        revoke_token(s, "manager-ch@estatecare.localhost")
    assert client.get("/api/complaints", headers=new).status_code == 401


def test_the_cli_issues_a_token_that_works_until_it_expires(client: TestClient, world: World, db_url: str) -> None:
    env = {"ESTATECARE_DATABASE_URL": db_url, "ESTATECARE_VAR_DIR": str(world.core.settings.var_dir)}
    result = CliRunner().invoke(
        cli, ["staff", "issue-token", "supervisor-ch@estatecare.localhost", "--days", "2"], env=env
    )
    assert result.exit_code == 0, result.output
    token = result.stdout.splitlines()[0].strip()
    headers = {"Authorization": f"Bearer {token}"}
    world.clock.now = datetime.now(UTC)  # the CLI issues by the wall clock
    assert client.get("/api/complaints", headers=headers).status_code == 200
    world.clock.advance(days=2, minutes=1)
    r = client.get("/api/complaints", headers=headers)
    assert r.status_code == 401 and "expired" in r.json()["detail"]
    unknown = CliRunner().invoke(cli, ["staff", "issue-token", "nobody@example.test"], env=env)
    assert unknown.exit_code == 2 and "no active staff member" in unknown.output


def test_staff_of_one_estate_cannot_read_or_act_on_another_estates_complaints(client: TestClient, world: World) -> None:
    with world.core.transaction() as s:
        other = {m.email.split("@")[0]: m.token for m in seed_demo(s, world.core.policy, code="TW")}
    theirs = submit(client, estate="TW")
    ours = submit(client)
    with world.core.sessions() as s:
        before = s.scalar(select(func.count(ComplaintEvent.id)))
    for who in ("manager", "supervisor", "head-engineering", "engineering-1", "reception"):
        headers = world.auth(who)
        r = client.get(f"/api/complaints/{theirs}", headers=headers)
        assert r.status_code in (403, 404), (who, r.status_code)
        for method, url, kwargs in staff_requests(client, theirs):
            if theirs not in url:
                continue
            r = client.request(method, url, headers=headers, **kwargs)
            assert r.status_code in (403, 404), (who, method, url, r.status_code, r.text)
        listed = client.get("/api/complaints", headers=headers, params={"estate": "TW"}).json()["items"]
        assert listed == []
        assert theirs not in str(client.get("/api/complaints", headers=headers, params={"limit": 500}).json())
        r = client.post("/api/complaints", json={**LEAK, "estate": "TW"}, headers=headers)
        assert r.status_code == 403, (who, r.text)
        r = client.post("/api/work-orders", json={"estate": "TW", "kind": "repair"}, headers=headers)
        assert r.status_code == 403, (who, r.text)
    with world.core.sessions() as s:
        assert s.scalar(select(func.count(ComplaintEvent.id))) == before  # nothing written
        assert s.scalar(select(func.count(WorkOrder.id))) == 0
        assert s.scalar(select(func.count(ComplaintAttachment.id))) == 0
        assert s.scalar(select(func.count(Complaint.id))) == 2
    assert world.complaint(theirs).version == 1
    # the other estate's own staff see theirs and not ours; company-wide leaders see both
    tw_manager = {"Authorization": f"Bearer {other['manager-tw']}"}
    assert client.get(f"/api/complaints/{theirs}", headers=tw_manager).status_code == 200
    assert client.get(f"/api/complaints/{ours}", headers=tw_manager).status_code in (403, 404)
    for ref in (theirs, ours):
        assert client.get(f"/api/complaints/{ref}", headers=world.auth("gm")).status_code == 200
