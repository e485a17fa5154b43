"""The supervisor's revisit review page (R-RV-9) shows the whole record: the method, each
question with its answer, the resident's signature (R-RV-8) or why there is none, the unit, and
the visitor and the reviewer by name; for a complaint's revisit, a sampled work order's
(R-RV-6) and a suggestion revisit (R-RV-2)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from io import BytesIO
from typing import Any

from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select

from estatecare.services import sampling
from estatecare.webapp.accounts import set_password
from models import Revisit
from models.enums import RevisitKind
from tests.integration.test_keeping_informed import assigned, post, resolved_and_confirmed
from tests.integration.test_monthly import _estate, _orders, local
from tests.lifecycle_support import DOMAIN, PASSWORD, SIGNATURE_PNG, World, sign_in

ANSWERS = {
    "punctuality": "師傅準時到達",
    "attitude": "態度親切",
    "quality": "漏水已修好",
    "shortcomings": "地面未清理乾淨",
    "suggestions": "希望大堂加裝座椅",
}
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")


def _signed_in(client: TestClient, world: World, who: str) -> None:
    with world.core.transaction() as s:
        set_password(s, f"{who}-ch@{DOMAIN}", PASSWORD)
    sign_in(client, f"{who}-ch@{DOMAIN}")


def _revisits(world: World, **where: Any) -> list[Revisit]:
    with world.core.sessions() as s:
        return list(s.scalars(select(Revisit).filter_by(**where).order_by(Revisit.id)))


def _review(client: TestClient, world: World, revisit_id: int, opinion: str = "記錄完整") -> None:
    r = client.post(f"/api/revisits/{revisit_id}/review", json={"opinion": opinion}, headers=world.auth("supervisor"))
    assert r.status_code == 200, r.text


def _record(page: str) -> str:
    """The done record's part of the page."""
    match = re.search(r'<dl class="facts" id="record">(.*?)</dl>', page, re.S)
    assert match, page
    return match.group(1)


def test_an_on_site_complaint_revisit_shows_answers_signature_unit_and_names(client: TestClient, world: World) -> None:
    ref = assigned(client, world)
    resolved_and_confirmed(client, world, ref)
    body = {"method": "on_site", "satisfaction": "satisfied", "signature_png_base64": SIGNATURE_PNG, **ANSWERS}
    post(client, world, ref, "revisits", "manager", body)
    [revisit] = _revisits(world, complaint_id=world.complaint(ref).id)
    _review(client, world, revisit.id, "回訪記錄完整，住戶滿意")

    _signed_in(client, world, "supervisor")
    page = client.get(f"/staff/revisits/{revisit.id}")
    assert page.status_code == 200, page.text
    html = page.text
    record = _record(html)
    for key, answer in ANSWERS.items():
        assert f'id="answer-{key}">{answer}</dd>' in record
    for question in ("準時", "服務態度", "不足之處", "建議"):  # labelled in the reader's language
        assert f"<dt>{question}</dt>" in record
    assert "上門" in html and "滿意" in record
    assert '<dd id="unit">1座 101</dd>' in html
    assert '<dd id="visitor">王麗華</dd>' in html and '<dd id="reviewer">李志強</dd>' in html
    assert "回訪記錄完整，住戶滿意" in html
    assert not EMAIL.search(html.split("<main", 1)[-1]), EMAIL.findall(html)
    # "already recorded" is a notice, not an error
    assert 'class="notice" id="recorded"' in html and 'class="alert"' not in html

    src = re.search(r'<img class="signature" src="([^"]+)"', record)
    assert src and src.group(1) == f"/staff/revisits/{revisit.id}/signature.png"
    png = client.get(src.group(1))
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert Image.open(BytesIO(png.content)).format == "PNG"
    assert png.headers["x-content-type-options"] == "nosniff"

    # the signature is for staff of the estate who may open the page: not anonymous, not a handler
    assert TestClient(client.app).get(src.group(1), follow_redirects=False).status_code == 303
    _signed_in(client, world, "engineering-1")
    assert client.get(src.group(1)).status_code == 403


def test_a_sampled_orders_refused_signature_shows_the_refusal_note(client: TestClient, world: World) -> None:
    _orders(world.core, _estate(world.core), [local(2026, 11, d, 10) for d in range(1, 8)])
    sampling.draw_all(world.core, 2026, 11, local(2026, 11, 30, 18, 0), "CH")
    world.clock.now = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    on_site = next(r for r in _revisits(world) if r.work_order_id is not None and r.method == "on_site")
    body = {"method": "on_site", "satisfaction": "basically_satisfied", "refusal_note": "住戶趕時間，不願簽名"}
    r = client.post(f"/api/revisits/{on_site.id}", json={**body, "quality": "尚可"}, headers=world.auth("reception"))
    assert r.status_code == 200, r.text

    _signed_in(client, world, "supervisor")
    html = client.get(f"/staff/revisits/{on_site.id}").text
    record = _record(html)
    assert "拒絕簽名：" in record and "住戶趕時間，不願簽名" in record and "<img" not in record
    assert '<dd id="unit">' in html and '<dd id="unit">—</dd>' not in html
    assert 'id="answer-quality">尚可</dd>' in record and "基本滿意" in record
    assert not EMAIL.search(html.split("<main", 1)[-1])
    assert 'id="review-form"' in html  # not reviewed yet: the supervisor signs an opinion here
    assert client.get(f"/staff/revisits/{on_site.id}/signature.png").status_code == 404


def test_a_suggestion_revisit_shows_its_record_and_the_unit_in_english(client: TestClient, world: World) -> None:
    ref = assigned(client, world)
    resolved_and_confirmed(client, world, ref)
    body = {"method": "on_site", "satisfaction": "satisfied", "signature_png_base64": SIGNATURE_PNG}
    post(client, world, ref, "revisits", "manager", {**body, "suggestions": "希望大堂加裝座椅"})
    [suggestion] = _revisits(world, kind=RevisitKind.SUGGESTION)
    r = client.post(
        f"/api/revisits/{suggestion.id}",
        json={"method": "phone", "satisfaction": "satisfied", "attitude": "很好"},
        headers=world.auth("manager"),
    )
    assert r.status_code == 200, r.text
    _review(client, world, suggestion.id)

    _signed_in(client, world, "supervisor")
    html = client.get(f"/staff/revisits/{suggestion.id}?lang=en").text
    record = _record(html)
    assert '<dd id="unit">1座 101</dd>' in html and "By phone" in html
    assert "Attitude" in record and 'id="answer-attitude">很好</dd>' in record
    assert 'id="answer-quality">—</dd>' in record
    assert '<dd id="visitor">王麗華</dd>' in html and '<dd id="reviewer">李志強</dd>' in html
    assert not EMAIL.search(html.split("<main", 1)[-1])
