"""Work-order revisits over the REST API, on real SQLite and PostgreSQL: the service centre's
to-do list, recording a sampled order's revisit and seeing it in the monthly report, the
refused cases (R-RV-4..11), and the supervisor's review of a done record (R-RV-9)."""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from estatecare.demo import seed_demo
from estatecare.services import sampling
from estatecare.services.errors import WrongState
from estatecare.services.people import Actor, staff_by_email
from estatecare.services.records import in_transaction
from estatecare.services.revisits import answer_by_open_letter, review_revisit
from estatecare.services.schemas import OpenLetterIn, ReviewIn
from estatecare.webapp.accounts import set_password
from models import Resident, Revisit, Staff, WorkOrder
from models.enums import RevisitMethod
from tests.integration.test_monthly import _estate, _orders, local
from tests.integration.test_webapp import DOMAIN, PASSWORD, sign_in
from tests.lifecycle_support import SIGNATURE_PNG, World, resolve_and_confirm

DEC_1 = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai, the morning after the November draw


def _sampled(world: World) -> None:
    """Seven November repair orders, the November draw (5 sampled, 3 on site), the clock on 1 December."""
    _orders(world.core, _estate(world.core), [local(2026, 11, d, 10) for d in range(1, 8)])
    sampling.draw_all(world.core, 2026, 11, local(2026, 11, 30, 18, 0), "CH")
    world.clock.now = DEC_1


def _todo(client: TestClient, world: World, who: str = "manager", **params: str) -> dict[str, Any]:
    r = client.get("/api/revisits", params={"estate": "CH", "done": "false", **params}, headers=world.auth(who))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _counts(client: TestClient, world: World, month: str) -> dict[str, int]:
    r = client.get(f"/api/reports/monthly?month={month}", headers=world.auth("manager"))
    assert r.status_code == 200, r.text
    counts: dict[str, int] = r.json()["estates"][0]["counts"]
    return counts


ON_SITE = {"method": "on_site", "satisfaction": "satisfied", "quality": "好", "signature_png_base64": SIGNATURE_PNG}
PHONE = {"method": "phone", "satisfaction": "basically_satisfied", "punctuality": "準時"}


def test_a_sampled_orders_revisit_is_listed_recorded_and_counted_by_the_monthly_report(
    client: TestClient, world: World
) -> None:
    _sampled(world)
    todo = _todo(client, world)
    assert todo["total"] == 5
    assert {i["sample_month"] for i in todo["items"]} == {"2026-11"}
    assert sorted(i["method"] for i in todo["items"]) == ["on_site"] * 3 + ["phone"] * 2
    assert all(i["work_order"].startswith("WO-CH-") and i["done_at"] is None for i in todo["items"])
    # due before the 5th (R-RV-6): nothing is due before 1 December, all before 5 December
    assert _todo(client, world, due_before="2026-12-01")["total"] == 0
    assert _todo(client, world, due_before="2026-12-05T00:00:01+08:00")["total"] == 5
    page = _todo(client, world, limit="2", offset="4")
    assert (page["total"], len(page["items"])) == (5, 1)
    assert _counts(client, world, "2026-12")["revisits_done"] == 0

    on_site = next(i for i in todo["items"] if i["method"] == "on_site")
    phone = next(i for i in todo["items"] if i["method"] == "phone")
    r = client.post(f"/api/revisits/{on_site['id']}", json=ON_SITE, headers=world.auth("manager"))
    assert r.status_code == 200, r.text
    assert r.json()["signed"] is True and r.json()["late_record"] is False and r.json()["follow_up_id"] is None
    r = client.post(f"/api/revisits/{phone['id']}", json=PHONE, headers=world.auth("reception"))
    assert r.status_code == 200, r.text

    assert _todo(client, world)["total"] == 3
    done = _todo(client, world, done="true")
    assert {(i["id"], i["satisfaction"], i["signed"]) for i in done["items"]} == {
        (on_site["id"], "satisfied", True),
        (phone["id"], "basically_satisfied", False),
    }
    counts = _counts(client, world, "2026-12")
    assert (counts["revisits_done"], counts["on_site_signed"], counts["phone_letter"]) == (2, 1, 1)
    assert (counts["repair_rated"], counts["repair_satisfied"]) == (2, 2)


def test_refused_revisit_records(client: TestClient, world: World) -> None:
    _sampled(world)
    items = _todo(client, world)["items"]
    on_site = next(i for i in items if i["method"] == "on_site")
    url = f"/api/revisits/{on_site['id']}"

    # no token: 401
    assert client.get("/api/revisits").status_code == 401
    assert client.post(url, json=ON_SITE).status_code == 401
    # another estate's staff: 403, for the record and the list
    with world.core.transaction() as s:
        nb = {m.email.split("@")[0]: m.token for m in seed_demo(s, world.core.policy, "NB")}
    nb_manager = {"Authorization": f"Bearer {nb['manager-nb']}"}
    r = client.post(url, json=ON_SITE, headers=nb_manager)
    assert r.status_code == 403 and "another estate" in r.json()["detail"]
    assert client.get("/api/revisits?estate=CH", headers=nb_manager).status_code == 403
    assert client.get("/api/revisits", headers=nb_manager).json()["total"] == 0  # their own estate: none
    # a handler does not record revisits; unknown ids and estates are 404
    assert client.post(url, json=ON_SITE, headers=world.auth("engineering-1")).status_code == 403
    assert client.post("/api/revisits/999999", json=ON_SITE, headers=world.auth("manager")).status_code == 404
    # an id past the key range is refused before the database sees it (SQLite raised OverflowError: a 500)
    for path, body in ((f"/api/revisits/{2**70}", ON_SITE), (f"/api/revisits/{2**31}/review", {"opinion": "ok"})):
        r = client.post(path, json=body, headers=world.auth("manager"))
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["path", "revisit_id"], r.text
    assert client.get("/api/revisits?estate=XX", headers=world.auth("gm")).status_code == 404

    # bad input: 422 naming the field
    def field(body: dict[str, Any]) -> list[str]:
        r = client.post(url, json=body, headers=world.auth("manager"))
        assert r.status_code == 422, r.text
        return [str(x) for x in r.json()["detail"][0]["loc"]]

    assert field({**ON_SITE, "satisfaction": "so-so"}) == ["body", "satisfaction"]
    assert field({**ON_SITE, "colour": "red"}) == ["body", "colour"]
    assert field({**ON_SITE, "method": "phone"}) == ["body", "method"]  # planned on site (R-RV-6)
    assert field({**ON_SITE, "signature_png_base64": ""}) == ["body", "signature_png_base64"]  # R-RV-8
    assert field({**ON_SITE, "signature_png_base64": "bm90IGEgcG5n"}) == ["body", "signature_png_base64"]
    assert field({**ON_SITE, "satisfaction": "unsatisfied"}) == ["body", "next_reply_at"]  # R-RV-11
    assert field({**ON_SITE, "done_at": "2026-12-02T09:00:00+08:00"}) == ["body", "done_at"]
    # nothing was recorded by the refused attempts
    assert _todo(client, world)["total"] == 5

    # twice: 409 naming the state
    assert client.post(url, json=ON_SITE, headers=world.auth("manager")).status_code == 200
    r = client.post(url, json=ON_SITE, headers=world.auth("gm"))
    assert r.status_code == 409 and r.json()["state"] == "done"


def _complaint_revisit_due(client: TestClient, world: World) -> str:
    """A valid complaint handled and confirmed: its revisit is due (R-RV-3)."""
    leak = {"estate": "CH", "building": "1座", "unit": "101", "content": "廚房天花板漏水", "complainant_name": "黃先生"}
    ref = client.post("/api/complaints", json=leak).json()["reference"]
    world.intake(ref)
    resolve_and_confirm(client, world, ref)
    return str(ref)


def test_a_complaint_revisit_is_listed_but_recorded_on_the_complaint(client: TestClient, world: World) -> None:
    ref = _complaint_revisit_due(client, world)
    [item] = _todo(client, world)["items"]
    assert (item["complaint"], item["kind"], item["work_order"]) == (ref, "complaint", None)
    r = client.post(f"/api/revisits/{item['id']}", json=ON_SITE, headers=world.auth("manager"))
    assert r.status_code == 409 and f"/api/complaints/{ref}/revisits" in r.json()["detail"]


def test_an_unsatisfied_renovation_revisit_sets_the_next_one_and_a_new_issue_becomes_a_complaint(
    client: TestClient, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    done = world.clock() - timedelta(hours=2)
    r = client.post(
        "/api/work-orders",
        json={"estate": "CH", "building": "1座", "unit": "101", "kind": "renovation", "completed_at": done.isoformat()},
        headers=world.auth("reception"),
    )
    assert r.status_code == 201, r.text
    order_ref = r.json()["reference"]
    with world.core.transaction() as s:  # the resident the job was done for
        order = s.scalar(select(WorkOrder).where(WorkOrder.reference == order_ref))
        assert order is not None
        resident = s.scalar(select(Resident).where(Resident.unit_id == order.unit_id))
        assert resident is not None and resident.phone
        order.resident_id, phone = resident.id, resident.phone
    [item] = _todo(client, world)["items"]
    assert (item["work_order"], item["method"], item["unit"]) == (order_ref, "on_site", "1座 101")
    assert item["resident_phone"] == phone  # the service centre calls the resident (R-IN-6)
    masked = _todo(client, world, who="engineering-1")["items"][0]
    assert masked["resident_name"] is None and masked["resident_phone"] != phone

    next_visit = (world.clock() + timedelta(days=3)).isoformat()
    body = {
        "method": "on_site",
        "satisfaction": "unsatisfied",
        "shortcomings": "牆角仍有裂縫",
        "refusal_note": "住戶不滿，拒絕簽名",
        "new_issue": "樓上單位滲水到浴室",
        "next_reply_at": next_visit,
    }
    with caplog.at_level(logging.DEBUG):
        r = client.post(f"/api/revisits/{item['id']}", json=body, headers=world.auth("manager"))
    assert r.status_code == 200, r.text
    assert phone not in caplog.text  # residents' contact data never in logs
    out = r.json()
    assert out["follow_up_id"] and out["new_complaint"].startswith("CH-")

    # R-RV-11: the 2nd revisit is on the list, and may be by phone (R-RV-10)
    [follow_up] = _todo(client, world)["items"]
    assert (follow_up["id"], follow_up["sequence"], follow_up["work_order"]) == (out["follow_up_id"], 2, order_ref)
    r = client.post(
        f"/api/revisits/{follow_up['id']}",
        json={"method": "phone", "satisfaction": "satisfied"},
        headers=world.auth("manager"),
    )
    assert r.status_code == 200, r.text
    # R-RV-10: the new issue is a complaint about the order's unit, from the resident, received during the revisit
    detail = client.get(f"/api/complaints/{out['new_complaint']}", headers=world.auth("manager")).json()
    assert (detail["channel"], detail["content"], detail["unit"]) == ("revisit", "樓上單位滲水到浴室", "1座 101")
    assert detail["contact_phone"] == phone
    assert detail["history"][0]["data"]["raised_during_revisit_of"] == order_ref
    with world.core.sessions() as s:
        first = s.get(Revisit, item["id"])
        assert first is not None and first.refusal_note and first.signature_png is None
        assert first.answers["shortcomings"] == "牆角仍有裂縫"


def test_the_service_centre_records_a_sampled_orders_revisit_in_the_web_app(client: TestClient, world: World) -> None:
    with world.core.transaction() as s:
        for who in ("manager", "engineering-1"):
            set_password(s, f"{who}-ch@{DOMAIN}", PASSWORD)
    _sampled(world)
    sign_in(client, "manager")
    inbox = client.get("/staff").text
    paths = re.findall(r'href="(/staff/revisits/\d+)"', inbox)
    assert len(paths) == 5  # the manager is the draw's visitor (R-RV-6)
    by_method = {i["id"]: i["method"] for i in _todo(client, world)["items"]}
    path = next(p for p in paths if by_method[int(p.rsplit("/", 1)[1])] == "on_site")
    page = client.get(path)
    assert page.status_code == 200 and 'name="signature_png_base64"' in page.text and "月度抽樣" in page.text
    form = {"method": "on_site", "satisfaction": "unsatisfied", "csrf_token": _csrf(page.text)}
    r = client.post(path, data={**form, "refusal_note": "不肯簽"})
    assert r.status_code == 422 and 'id="next_reply_at-error"' in r.text and "不肯簽" in r.text
    r = client.post(path, data={**form, "refusal_note": "不肯簽", "next_reply_at": "2026-12-03"})
    assert r.status_code == 200, r.text
    again = client.get(path)
    assert "此回訪已記錄" in again.text and 'id="revisit-form"' not in again.text
    r = client.post(path, data={**form, "refusal_note": "再記一次", "next_reply_at": "2026-12-03"})
    assert r.status_code == 409 and "此步驟已不再開放" in r.text
    assert len(re.findall(r'href="(/staff/revisits/\d+)"', client.get("/staff").text)) == 5  # 4 left, 1 follow-up
    # a handler may open nothing here
    client.cookies.clear()
    sign_in(client, "engineering-1")
    assert client.get(path).status_code == 403


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def test_the_complaint_revisit_page_still_records_with_the_shared_fields(client: TestClient, world: World) -> None:
    with world.core.transaction() as s:
        set_password(s, f"manager-ch@{DOMAIN}", PASSWORD)
    ref = _complaint_revisit_due(client, world)
    sign_in(client, "manager")
    page = client.get(f"/staff/complaints/{ref}/revisit")
    assert page.status_code == 200 and 'value="on_site" checked' in page.text.replace("\n", " ")
    assert "上門" in page.text and 'id="signature-pad"' in page.text
    form = {"op": "revisit", "method": "on_site", "satisfaction": "satisfied", "csrf_token": _csrf(page.text)}
    r = client.post(f"/staff/complaints/{ref}/revisit", data=form)
    assert r.status_code == 422 and 'id="signature_png_base64-error"' in r.text
    r = client.post(
        f"/staff/complaints/{ref}/revisit",
        data={**form, "signature_png_base64": "data:image/png;base64," + SIGNATURE_PNG, "quality": "好"},
    )
    assert r.status_code == 200, r.text
    assert world.complaint(ref).satisfaction == "satisfied"


# --------------------------------------------------------------------------- the supervisor's review (R-RV-9)


def _recorded(client: TestClient, world: World, who: str = "reception") -> tuple[int, list[dict[str, Any]]]:
    """The November sample with one on-site revisit recorded by ``who``; the others still to do."""
    _sampled(world)
    items = _todo(client, world)["items"]
    done = next(i for i in items if i["method"] == "on_site")
    r = client.post(f"/api/revisits/{done['id']}", json=ON_SITE, headers=world.auth(who))
    assert r.status_code == 200, r.text
    return done["id"], [i for i in items if i["id"] != done["id"]]


def _review(client: TestClient, world: World, revisit_id: int, who: str, opinion: Any = "記錄完整") -> Any:
    return client.post(f"/api/revisits/{revisit_id}/review", json={"opinion": opinion}, headers=world.auth(who))


def _row(world: World, revisit_id: int) -> Revisit:
    with world.core.sessions() as s:
        row = s.get(Revisit, revisit_id)
        assert row is not None
        return row


def test_a_supervisor_reviews_a_done_revisit_record_and_signs_an_opinion(client: TestClient, world: World) -> None:
    revisit_id, _ = _recorded(client, world)
    awaiting = _todo(client, world, who="supervisor", done="true", reviewed="false")
    assert [(i["id"], i["reviewed_at"], i["supervisor_opinion"]) for i in awaiting["items"]] == [(revisit_id, None, "")]
    assert _todo(client, world, done="true", reviewed="true")["total"] == 0

    world.clock.advance(hours=3)
    r = _review(client, world, revisit_id, "supervisor", "  記錄完整，住戶已簽名。\n下次請寫明到場時間  ")
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["id"] == revisit_id and out["visitor"] == f"reception-ch@{DOMAIN}"
    assert out["reviewed_by"] == f"supervisor-ch@{DOMAIN}"
    assert out["supervisor_opinion"] == "記錄完整，住戶已簽名。\n下次請寫明到場時間"  # stripped
    assert datetime.fromisoformat(out["reviewed_at"]) == world.clock()
    row = _row(world, revisit_id)
    with world.core.sessions() as s:
        supervisor = s.scalar(select(Staff.id).where(Staff.email == f"supervisor-ch@{DOMAIN}"))
    assert (row.reviewed_by_id, row.reviewed_at) == (supervisor, world.clock())
    assert row.supervisor_opinion == out["supervisor_opinion"]

    # the record left the review list; a second review (anyone) is 409 and changes nothing
    assert _todo(client, world, who="supervisor", done="true", reviewed="false")["total"] == 0
    assert [i["id"] for i in _todo(client, world, done="true", reviewed="true")["items"]] == [revisit_id]
    r = _review(client, world, revisit_id, "manager", "另一意見")
    assert r.status_code == 409 and r.json()["state"] == "reviewed" and "already reviewed" in r.json()["detail"]
    assert _row(world, revisit_id).supervisor_opinion == out["supervisor_opinion"]


def test_refused_reviews(client: TestClient, world: World) -> None:
    revisit_id, not_done = _recorded(client, world, who="manager")
    # no token 401, unknown id 404
    assert client.post(f"/api/revisits/{revisit_id}/review", json={"opinion": "好"}).status_code == 401
    assert _review(client, world, 999999, "supervisor").status_code == 404
    # a revisit not recorded yet: 409 naming its state
    r = _review(client, world, not_done[0]["id"], "supervisor")
    assert r.status_code == 409 and r.json()["state"] == "due" and "not recorded yet" in r.json()["detail"]
    # another estate's supervisor: 403
    with world.core.transaction() as s:
        nb = {m.email.split("@")[0]: m.token for m in seed_demo(s, world.core.policy, "NB")}
    r = client.post(
        f"/api/revisits/{revisit_id}/review",
        json={"opinion": "好"},
        headers={"Authorization": f"Bearer {nb['supervisor-nb']}"},
    )
    assert r.status_code == 403 and "another estate" in r.json()["detail"]
    # roles that are not supervisors: 403 naming the roles that review
    for who in ("reception", "engineering-1", "head-engineering"):
        r = _review(client, world, revisit_id, who)
        assert r.status_code == 403 and "property_supervisor" in r.json()["detail"], (who, r.text)
    # the manager recorded this revisit: another supervisor reviews it
    r = _review(client, world, revisit_id, "manager")
    assert r.status_code == 403 and "yourself" in r.json()["detail"]

    # the opinion is required and bounded: 422 naming the field
    def field(body: dict[str, Any]) -> list[str]:
        r = client.post(f"/api/revisits/{revisit_id}/review", json=body, headers=world.auth("supervisor"))
        assert r.status_code == 422, r.text
        return [str(x) for x in r.json()["detail"][0]["loc"]]

    assert field({}) == ["body", "opinion"]
    assert field({"opinion": ""}) == ["body", "opinion"]
    assert field({"opinion": " \n\t "}) == ["body", "opinion"]
    assert field({"opinion": "好" * 2001}) == ["body", "opinion"]
    assert field({"opinion": "好", "signed": True}) == ["body", "signed"]
    row = _row(world, revisit_id)
    assert (row.reviewed_at, row.reviewed_by_id, row.supervisor_opinion) == (None, None, "")
    # a leader of no estate reviews any estate's record
    assert _review(client, world, revisit_id, "gm", "Complete.").status_code == 200


def test_a_complaint_revisit_is_reviewed_like_a_work_orders(client: TestClient, world: World) -> None:
    ref = _complaint_revisit_due(client, world)
    [item] = _todo(client, world)["items"]
    assert _review(client, world, item["id"], "supervisor").json()["state"] == "due"
    r = client.post(f"/api/complaints/{ref}/revisits", json=ON_SITE, headers=world.auth("manager"))
    assert r.status_code == 200, r.text
    r = _review(client, world, item["id"], "supervisor", "經理親自上門，住戶滿意")
    assert r.status_code == 200, r.text
    assert (r.json()["complaint"], r.json()["reviewed_by"]) == (ref, f"supervisor-ch@{DOMAIN}")
    assert world.complaint(ref).status == "revisit_due"  # the review moves nothing on
    detail = client.get(f"/api/complaints/{ref}", headers=world.auth("supervisor")).json()
    assert detail["revisits"][0]["supervisor_opinion"] == "經理親自上門，住戶滿意"
    # in the web app: the revisit's page shows the review, and the complaint's page links to it
    with world.core.transaction() as s:
        set_password(s, f"supervisor-ch@{DOMAIN}", PASSWORD)
    sign_in(client, "supervisor")
    page = client.get(f"/staff/revisits/{item['id']}").text
    assert f"投訴 {ref} 的回訪" in page and 'id="review-done"' in page and "經理親自上門，住戶滿意" in page
    assert f'href="/staff/revisits/{item["id"]}#review"' in client.get(f"/staff/complaints/{ref}").text


def _at_once(
    world: World, step: Callable[[Session, Actor, str, Callable[[], object]], object], who_by_key: dict[str, str]
) -> dict[str, str]:
    """Two people take a step at once, each in their own transaction: ``step(session, actor, key, loaded)``
    calls ``loaded()`` once it has read what it acts on, which waits until both have, so neither
    writes before the other read. The outcome per key: "200", or "409 STATE"."""
    both_loaded = threading.Barrier(2)
    outcome: dict[str, str] = {}

    def take(key: str) -> None:
        def work(s: Session) -> None:
            actor = Actor.of(staff_by_email(s, f"{who_by_key[key]}-ch@{DOMAIN}"))
            step(s, actor, key, lambda: both_loaded.wait(timeout=10))

        try:
            in_transaction(world.core.sessions, work)
            outcome[key] = "200"
        except WrongState as exc:
            outcome[key] = f"409 {exc.state}"

    threads = [threading.Thread(target=take, args=(key,)) for key in who_by_key]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcome


def test_two_supervisors_reviewing_at_once_one_wins_the_other_gets_409(client: TestClient, world: World) -> None:
    revisit_id, _ = _recorded(client, world)

    def review(s: Session, actor: Actor, who: str, loaded: Callable[[], object]) -> None:
        assert s.get(Revisit, revisit_id).reviewed_at is None  # both see it unreviewed ...
        loaded()  # ... before either writes
        review_revisit(s, actor, revisit_id, ReviewIn(opinion=f"opinion of {who}"), world.clock())

    outcome = _at_once(world, review, {"supervisor": "supervisor", "manager": "manager"})
    assert sorted(outcome.values()) == ["200", "409 reviewed"], outcome
    winner = next(who for who, o in outcome.items() if o == "200")
    assert _row(world, revisit_id).supervisor_opinion == f"opinion of {winner}"


def test_a_supervisor_signs_the_review_in_the_web_app(client: TestClient, world: World) -> None:
    with world.core.transaction() as s:
        for who in ("reception", "supervisor"):
            set_password(s, f"{who}-ch@{DOMAIN}", PASSWORD)
    revisit_id, _ = _recorded(client, world)
    path = f"/staff/revisits/{revisit_id}"
    # the visitor sees the record, and that another supervisor reviews it: no form
    sign_in(client, "reception")
    page = client.get(path).text
    assert "此回訪由您記錄" in page and 'id="review-form"' not in page
    assert f'href="{path}"' not in client.get("/staff").text
    client.cookies.clear()

    sign_in(client, "supervisor")
    assert f'href="{path}"' in client.get("/staff").text and "審核回訪記錄" in client.get("/staff").text
    page = client.get(path)
    assert page.status_code == 200 and 'id="review-form"' in page.text and "簽署審核意見" in page.text
    assert "陳美玲" in page.text and f'src="{path}/signature.png"' in page.text  # the record under review
    assert f"reception-ch@{DOMAIN}" not in page.text  # names, not addresses
    english = client.get(path, params={"lang": "en"}).text
    assert "Supervisor's review" in english and "Sign the review" in english
    simplified = client.get(path, params={"lang": "zh-Hans"}).text
    assert "主管审核" in simplified and "签署审核意见" in simplified
    client.get(path, params={"lang": "zh-Hant"})

    url = f"{path}/review"
    r = client.post(url, data={"opinion": "   ", "csrf_token": _csrf(page.text)})
    assert r.status_code == 422 and 'id="opinion-error"' in r.text and 'id="review-form"' in r.text
    world.clock.advance(hours=1)
    r = client.post(url, data={"opinion": "記錄完整，可存檔", "csrf_token": _csrf(page.text)}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"{path}#review"
    done = client.get(path).text
    assert 'id="review-done"' in done and "記錄完整，可存檔" in done and '<dd id="reviewer">李志強</dd>' in done
    assert 'id="review-form"' not in done
    assert f'href="{path}"' not in client.get("/staff").text  # off the supervisor's tasks
    row = _row(world, revisit_id)
    assert (row.supervisor_opinion, row.reviewed_at) == ("記錄完整，可存檔", world.clock())
    r = client.post(url, data={"opinion": "再審一次", "csrf_token": _csrf(page.text)})
    assert r.status_code == 409 and _row(world, revisit_id).supervisor_opinion == "記錄完整，可存檔"


# --------------------------------------------------------------------------- one open letter for several (R-RV-12)

LETTER_URL = "/api/revisits/open-letter"


def _phone_revisits(
    client: TestClient, world: World, n: int, kind: str = "urgent_repair", estate: str = "CH", who: str = "reception"
) -> list[int]:
    """``n`` jobs finished two hours ago and their own revisits: by phone for urgent repairs (R-RV-4),
    on site for renovations (R-RV-5). ``who`` is a token name in the estate (``world.auth``) or a token."""
    done = (world.clock() - timedelta(hours=2)).isoformat()
    headers = world.auth(who) if estate == "CH" else {"Authorization": f"Bearer {who}"}
    body = {"estate": estate, "building": "1座", "unit": "101", "kind": kind, "completed_at": done}
    refs = []
    for _ in range(n):
        r = client.post("/api/work-orders", json=body, headers=headers)
        assert r.status_code == 201, r.text
        refs.append(r.json()["reference"])
    with world.core.sessions() as s:
        query = select(WorkOrder.reference, Revisit.id).join(Revisit).where(WorkOrder.reference.in_(refs))
        ids = {ref: revisit_id for ref, revisit_id in s.execute(query)}
    return [ids[ref] for ref in refs]


def test_one_open_letter_answers_several_revisits_and_is_filed_with_each(client: TestClient, world: World) -> None:
    ids = _phone_revisits(client, world, 3)
    world.clock.advance(hours=1)
    sent = world.clock() - timedelta(minutes=30)
    letter = {"revisit_ids": [ids[1], ids[0]], "letter_ref": "  公開信 2026-012 ", "done_at": sent.isoformat()}
    r = client.post(LETTER_URL, json=letter, headers=world.auth("reception"))
    assert r.status_code == 200, r.text
    out = r.json()
    assert [i["id"] for i in out] == [ids[1], ids[0]]  # the list lines, in the letter's order
    assert {(i["method"], i["open_letter_ref"], i["satisfaction"], i["signed"], i["visitor"]) for i in out} == {
        ("letter", "公開信 2026-012", None, False, f"reception-ch@{DOMAIN}")
    }
    assert {datetime.fromisoformat(i["done_at"]) for i in out} == {sent}
    for revisit_id in ids[:2]:  # the same letter filed with each; no answer from the resident is made up
        row = _row(world, revisit_id)
        assert (row.method, row.open_letter_ref, row.done_at, row.recorded_at) == (
            RevisitMethod.LETTER,
            "公開信 2026-012",
            sent,
            world.clock(),
        )
        assert (row.satisfaction, row.answers, row.signature_png) == (None, {}, None)
    # the third is still to do; the list shows the letter on the done ones
    assert [i["id"] for i in _todo(client, world)["items"]] == [ids[2]]
    done = _todo(client, world, done="true")["items"]
    assert {(i["id"], i["open_letter_ref"]) for i in done} == {(ids[0], "公開信 2026-012"), (ids[1], "公開信 2026-012")}
    # the monthly report counts them done by letter, and not as rated (no satisfaction was asked)
    counts = _counts(client, world, "2026-11")
    assert (counts["revisits_done"], counts["phone_letter"], counts["rated"]) == (2, 2, 0)
    # a letter's record is reviewed like any other (R-RV-9)
    assert _review(client, world, ids[0], "supervisor", "公開信已存檔").status_code == 200
    # the revisit's page shows the letter filed with it
    with world.core.transaction() as s:
        set_password(s, f"supervisor-ch@{DOMAIN}", PASSWORD)
    sign_in(client, "supervisor")
    english = client.get(f"/staff/revisits/{ids[0]}", params={"lang": "en"}).text
    assert "<dt>Open letter</dt><dd>公開信 2026-012</dd>" in english
    assert "<dt>公开信</dt>" in client.get(f"/staff/revisits/{ids[1]}", params={"lang": "zh-Hans"}).text
    assert "<dt>Open letter</dt>" not in client.get(f"/staff/revisits/{ids[2]}", params={"lang": "en"}).text


def test_refused_open_letters_record_nothing(client: TestClient, world: World) -> None:
    ids = _phone_revisits(client, world, 3)
    letter = {"revisit_ids": ids[:2], "letter_ref": "L-1"}

    def refused(body: dict[str, Any], status: int, who: str = "manager", headers: dict[str, str] | None = None) -> Any:
        r = client.post(LETTER_URL, json=body, headers=headers or world.auth(who))
        assert r.status_code == status, r.text
        return r.json()

    assert client.post(LETTER_URL, json=letter).status_code == 401
    # a role that does not revisit: 403 naming the roles that do
    assert "receptionist" in refused(letter, 403, who="engineering-1")["detail"]
    # another estate: one of theirs among ours is 403 naming it; ours to their manager, 403
    with world.core.transaction() as s:
        nb = {m.email.split("@")[0]: m.token for m in seed_demo(s, world.core.policy, "NB")}
    [theirs] = _phone_revisits(client, world, 1, estate="NB", who=nb["reception-nb"])
    detail = refused({**letter, "revisit_ids": [ids[0], theirs]}, 403)["detail"]
    assert detail == f"revisit {theirs} belongs to another estate"
    nb_manager = {"Authorization": f"Bearer {nb['manager-nb']}"}
    assert "another estate" in refused(letter, 403, headers=nb_manager)["detail"]
    # unknown ids: 404 naming them
    assert refused({**letter, "revisit_ids": [ids[0], 999998, 999999]}, 404)["detail"].endswith("999998, 999999")
    # a complaint's revisit: 409, it is recorded on the complaint, whose close needs the answer (R-RV-14)
    ref = _complaint_revisit_due(client, world)
    complaint_revisit = next(i["id"] for i in _todo(client, world)["items"] if i["complaint"] == ref)
    detail = refused({**letter, "revisit_ids": [ids[0], complaint_revisit]}, 409)["detail"]
    assert f"complaint revisits (revisit {complaint_revisit})" in detail and "R-RV-14" in detail
    assert world.complaint(ref).status == "revisit_due"
    # a first revisit planned on site (a renovation, R-RV-5): 422 naming the field and the revisit
    [renovation] = _phone_revisits(client, world, 1, kind="renovation")
    body = refused({**letter, "revisit_ids": [ids[0], renovation]}, 422)
    assert body["detail"][0]["loc"] == ["body", "revisit_ids"] and f"revisit {renovation} planned" in str(body)
    # one already done: 409 naming it and its state
    r = client.post(f"/api/revisits/{ids[2]}", json=PHONE, headers=world.auth("manager"))  # the route still takes ids
    assert r.status_code == 200, r.text
    body = refused({**letter, "revisit_ids": [ids[0], ids[1], ids[2]]}, 409)
    assert body["state"] == "done" and body["detail"].startswith(f"revisit {ids[2]} already done")

    # bad input: 422 naming the field
    def field(body: dict[str, Any]) -> list[str]:
        return [str(x) for x in refused(body, 422)["detail"][0]["loc"]]

    assert field({"revisit_ids": ids[:2]}) == ["body", "letter_ref"]
    assert field({**letter, "letter_ref": "  "}) == ["body", "letter_ref"]
    assert field({**letter, "letter_ref": "L" * 65}) == ["body", "letter_ref"]
    assert field({**letter, "letter_ref": "L-1\nL-2"}) == ["body", "letter_ref"]
    assert field({**letter, "revisit_ids": ids[:1]}) == ["body", "revisit_ids"]  # one revisit: record it alone
    assert field({**letter, "revisit_ids": [ids[0], ids[0]]}) == ["body", "revisit_ids"]
    assert field({**letter, "revisit_ids": list(range(1, 502))}) == ["body", "revisit_ids"]
    assert field({**letter, "revisit_ids": [ids[0], "open-letter"]}) == ["body", "revisit_ids", "1"]
    assert field({**letter, "revisit_ids": [ids[0], 2**63]}) == ["body", "revisit_ids", "1"]  # no such id, ever
    assert field({**letter, "revisit_ids": [0, ids[0]]}) == ["body", "revisit_ids", "0"]
    assert field({**letter, "satisfaction": "satisfied"}) == ["body", "satisfaction"]  # a letter gets no answer
    assert field({**letter, "done_at": (world.clock() + timedelta(hours=1)).isoformat()}) == ["body", "done_at"]
    assert field({**letter, "done_at": "2026-11-02T08:00:00"}) == ["body", "done_at"]  # no offset
    # nothing was written by any refused letter
    with world.core.sessions() as s:
        rows = s.scalars(select(Revisit).where(Revisit.id.in_([*ids[:2], theirs, complaint_revisit, renovation])))
        assert {(r.done_at, r.open_letter_ref) for r in rows} == {(None, "")}
    # a leader of no estate answers any estate's revisits
    assert client.post(LETTER_URL, json=letter, headers=world.auth("gm")).status_code == 200


def test_two_open_letters_over_the_same_revisit_at_once_one_wins(client: TestClient, world: World) -> None:
    ids = _phone_revisits(client, world, 3)
    letters = {"L-A": ids[:2], "L-B": [ids[2], ids[1]]}  # both answer ids[1]

    def answer(s: Session, actor: Actor, letter_ref: str, loaded: Callable[[], object]) -> None:
        assert all(s.get(Revisit, i).done_at is None for i in letters[letter_ref])  # both see them due ...
        loaded()  # ... before either writes
        answer_by_open_letter(
            s, actor, OpenLetterIn(revisit_ids=letters[letter_ref], letter_ref=letter_ref), world.clock()
        )

    outcome = _at_once(world, answer, {"L-A": "reception", "L-B": "manager"})
    assert sorted(outcome.values()) == ["200", "409 done"], outcome
    winner = next(ref for ref, o in outcome.items() if o == "200")
    # the winner's letter is filed with each of its revisits; the loser's wrote nothing
    assert {i: _row(world, i).open_letter_ref for i in ids} == {i: winner if i in letters[winner] else "" for i in ids}
    assert [i["id"] for i in _todo(client, world)["items"]] == [i for i in ids if i not in letters[winner]]
