"""Staff link a later report to the first report of the same problem by hand, and undo a wrong
link; both are in the history (R-IN-5, R-RC-1)."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.lifecycle_support import LEAK, World, resolve_and_confirm


def assigned(client: TestClient, world: World, **overrides: Any) -> str:
    """A complaint registered, assessed by the supervisor when the rules left it to a person, and assigned."""
    r = client.post("/api/complaints", json={**LEAK, **overrides})
    assert r.status_code == 201, r.text
    ref = str(r.json()["reference"])
    world.run_intake(ref)
    if detail(client, world, ref)["status"] == "received":
        body = {"valid": True, "category": "facility", "service_area": "repairs"}
        r = client.post(f"/api/complaints/{ref}/assessment", json=body, headers=world.auth("supervisor"))
        assert r.status_code == 200, r.text
        world.run_intake(ref)
    assert detail(client, world, ref)["status"] == "assigned"
    return ref


def detail(client: TestClient, world: World, ref: str) -> dict[str, Any]:
    r = client.get(f"/api/complaints/{ref}", headers=world.auth("manager"))
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_the_supervisor_links_an_assigned_report_to_the_first_and_it_closes_with_it(
    client: TestClient, world: World
) -> None:
    first = assigned(client, world)
    world.clock.advance(hours=1)
    # the pipe above both flats: the neighbour's report is the same problem, which no rule can tell
    second = assigned(client, world, unit="102", complainant_name="周女士", contact_email="chow@example.test")
    r = client.post(
        f"/api/complaints/{second}/duplicate-of",
        json={"first_report": first, "note": "同一條喉管"},
        headers=world.auth("supervisor"),
    )
    assert r.status_code == 200, r.text
    linked = detail(client, world, second)
    assert linked["status"] == "assessed" and linked["duplicate_of"] == first and linked["assignee"] is None
    assert linked["history"][-1]["action"] == "link_duplicate"
    assert detail(client, world, first)["duplicates"] == [second]
    resolve_and_confirm(client, world, first)
    assert sorted(m.recipient_email for m in world.mails("final_reply")) == ["chow@example.test", "wong@example.test"]


def test_a_wrong_link_is_undone_and_the_report_is_handled_on_its_own(client: TestClient, world: World) -> None:
    first = assigned(client, world)
    second = assigned(client, world, unit="102", complainant_name="周女士", contact_email="chow@example.test")
    link = {"first_report": first}
    assert client.post(f"/api/complaints/{second}/duplicate-of", json=link, headers=world.auth("supervisor")).is_success
    r = client.post(
        f"/api/complaints/{second}/duplicate-of/removal",
        json={"reason": "樓上單位另一條喉管"},
        headers=world.auth("supervisor"),
    )
    assert r.status_code == 200, r.text
    world.run_intake(second)
    handled = detail(client, world, second)
    assert handled["duplicate_of"] is None and handled["status"] == "assigned" and handled["assignee"] is not None
    assert [h["action"] for h in handled["history"]][-3:] == ["link_duplicate", "unlink_duplicate", "assign"]
    assert detail(client, world, first)["duplicates"] == []


def test_links_are_refused_when_they_cannot_be_right(client: TestClient, world: World) -> None:
    first = assigned(client, world)
    second = assigned(client, world, unit="102")
    for body, field in (({"first_report": second}, "first_report"), ({"first_report": "CH-19990101-0001"}, None)):
        r = client.post(f"/api/complaints/{second}/duplicate-of", json=body, headers=world.auth("supervisor"))
        assert r.status_code in (404, 422), r.text
        if field:
            assert field in r.text
    r = client.post(
        f"/api/complaints/{first}/duplicate-of/removal", json={"reason": "x"}, headers=world.auth("supervisor")
    )
    assert r.status_code == 409 and "unlink_duplicate is allowed only from" in r.text
    r = client.post(
        f"/api/complaints/{second}/duplicate-of", json={"first_report": first}, headers=world.auth("engineering-1")
    )
    assert r.status_code in (403, 404)
    assert detail(client, world, second)["duplicate_of"] is None
