"""The technician's page of a job (``/staff/work-orders/REF``): opened from the job email's signed
link without signing in, the arrival, then the completion with the resident's signature drawn on
the phone (the finished job's revisit as R-RV-4 says); a missing sign-off refused in the reader's
language with what was typed kept; the link spent afterwards; another estate's staff answered as
for an unknown job; the resident's contact only for the technician whose job it is (R-IN-6);
the department head's reassignment (R-HD-2); open jobs in "my tasks"."""

from __future__ import annotations

import base64
import re
from datetime import timedelta
from html import unescape
from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient
from sqlalchemy import select

from estatecare.demo import seed_demo
from estatecare.webapp.accounts import set_password
from estatecare.webapp.i18n import translations
from models import Revisit, WorkOrder
from models.enums import Locale
from tests.integration.test_repairs import URGENT, email, request
from tests.lifecycle_support import DOMAIN, PASSWORD, SIGNATURE_PNG, World, csrf_in, sign_in

SIGNOFF = "The resident signs the finished job in the box, or write why they did not sign."


def job_link(world: World, ref: str, who: str) -> str:
    """The page address (with its signed token) of the last job email about ``ref`` to ``who``."""
    [*_, mail] = [m for m in world.mails("job_task") if m.context["reference"] == ref]
    assert mail.recipient_email == email(world, who)
    url = urlsplit(mail.context["action_url"])
    assert url.path == f"/staff/work-orders/{ref}"
    return f"{url.path}?{url.query}"


def form_of(html: str, form_id: str) -> dict[str, str]:
    """The hidden fields of the form ``form_id`` on a page (CSRF token, link token, version, op)."""
    match = re.search(rf'<form method="post" id="{form_id}">(.*?)</form>', html, re.S)
    assert match, f"no form {form_id}: {html[:800]}"
    fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', match.group(1))
    return {name: unescape(value) for name, value in fields}


def order(world: World, ref: str) -> WorkOrder:
    with world.core.sessions() as s:
        found = s.scalar(select(WorkOrder).where(WorkOrder.reference == ref))
        assert found is not None
        return found


def with_password(world: World, *who: str) -> None:
    with world.core.transaction() as s:
        for name in who:
            set_password(s, name if "@" in name else email(world, name), PASSWORD)


def test_the_technician_records_the_job_from_the_email_link_without_signing_in(
    client: TestClient, world: World
) -> None:
    ref = request(client, URGENT)["reference"]
    link = job_link(world, ref, "engineering-1")  # the first of the trade's people, none of them busy
    path = f"/staff/work-orders/{ref}"

    page = client.get(link)
    assert page.status_code == 200, page.text
    assert "黃先生" in page.text and 'href="tel:13900000001"' in page.text  # their job: the contact
    assert "廚房水喉爆裂，水流不停" in page.text and "水喉渠務" in page.text and "緊急" in page.text
    assert 'id="completion-form"' not in page.text
    world.clock.advance(minutes=20)
    r = client.post(path, data=form_of(page.text, "arrival-form"), follow_redirects=False)
    assert r.status_code == 303, r.text
    target = urlsplit(r.headers["location"])
    assert target.path == path and parse_qs(target.query) == {**parse_qs(urlsplit(link).query), "saved": ["arrive"]}
    assert order(world, ref).status == "arrived" and order(world, ref).arrived_at is not None

    page = client.get(r.headers["location"])  # the link still works: the completion follows on site
    assert page.status_code == 200 and 'id="saved"' in page.text and 'id="arrival-form"' not in page.text
    hidden = form_of(page.text, "completion-form")
    assert hidden["op"] == "complete" and [hidden["t"]] == parse_qs(urlsplit(link).query)["t"]

    world.clock.advance(hours=1)
    typed = {"work_done": "換了一段水喉", "materials": "水喉 2 米", "charge": "120.50"}
    for lang, wanted in (("zh-Hant", Locale.ZH_HANT), ("en", Locale.EN)):
        refused = client.post(f"{path}?lang={lang}", data={**hidden, **typed})
        assert refused.status_code == 422, refused.text
        assert translations(wanted).gettext(SIGNOFF) in unescape(refused.text)
        assert ">換了一段水喉</textarea>" in refused.text and 'value="120.50"' in refused.text
        assert "signature_png_base64" not in re.sub(r"<[^>]+>", "", refused.text)  # no field name shown
    assert order(world, ref).status == "arrived"

    done = client.post(path, data={**hidden, **typed, "signature_png_base64": SIGNATURE_PNG})
    assert done.status_code == 200, done.text
    assert ref in done.text and "/staff/complaints/" not in done.text

    job = order(world, ref)
    assert (job.status, job.work_done, job.charge_cents) == ("completed", "換了一段水喉", 12050)
    assert job.signature_png == base64.b64decode(SIGNATURE_PNG) and job.completed_at is not None
    with world.core.sessions() as s:  # urgent: an immediate revisit by the service centre (R-RV-4)
        [revisit] = s.scalars(select(Revisit).where(Revisit.work_order_id == job.id)).all()
        assert revisit.due_at == job.completed_at + timedelta(hours=24) and revisit.kind == "service"
    [task] = [m for m in world.mails("revisit_task") if m.context["subject_ref"] == ref]
    assert task.recipient_email == email(world, "manager") and task.context["complainant_name"] == "黃先生"

    spent = client.get(link)
    assert spent.status_code == 410  # each job email's link records one job
    assert client.post(path, data={**hidden, **typed, "signature_png_base64": SIGNATURE_PNG}).status_code == 410

    # the record, read-only, with the signature, for staff of the estate signed in
    with_password(world, "manager")
    sign_in(client, email(world, "manager"))
    record = client.get(f"{path}?lang=en")
    assert record.status_code == 200 and 'id="record"' in record.text and '<form method="post" id=' not in record.text
    assert "120.50" in record.text and f'src="{path}/signature.png"' in record.text
    png = client.get(f"{path}/signature.png")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content == base64.b64decode(SIGNATURE_PNG)


def test_a_refusal_note_instead_of_a_signature_and_a_bad_charge(client: TestClient, world: World) -> None:
    ref = request(client, {**URGENT, "urgency": "normal", "trade": "electrical", "description": "客廳燈不亮"})[
        "reference"
    ]
    link = job_link(world, ref, "engineering-1")
    path = f"/staff/work-orders/{ref}"
    page = client.get(link)
    r = client.post(path, data=form_of(page.text, "arrival-form"), follow_redirects=False)
    hidden = form_of(client.get(r.headers["location"]).text, "completion-form")
    typed = {"work_done": "換燈膽", "refusal_note": "住戶不在家，由家傭確認"}
    refused = client.post(path, data={**hidden, **typed, "charge": "一百"})
    assert refused.status_code == 422 and 'id="charge-error"' in refused.text
    assert "住戶不在家，由家傭確認</textarea>" in refused.text
    assert client.post(path, data={**hidden, **typed}).status_code == 200
    job = order(world, ref)
    assert (job.status, job.signature_png, job.refusal_note, job.charge_cents) == (
        "completed",
        None,
        "住戶不在家，由家傭確認",
        None,
    )
    with world.core.sessions() as s:  # a general repair waits for the month's draw (R-RV-6)
        assert s.scalar(select(Revisit.id).where(Revisit.work_order_id == job.id)) is None


def test_another_estates_staff_are_answered_as_for_an_unknown_job(client: TestClient, world: World) -> None:
    ref = request(client, URGENT)["reference"]
    with world.core.transaction() as s:
        seed_demo(s, world.core.policy, code="TW")
    theirs = f"head-engineering-tw@{DOMAIN}"
    with_password(world, theirs)
    sign_in(client, theirs)
    for path in (f"/staff/work-orders/{ref}", f"/staff/work-orders/{ref}/signature.png"):
        assert client.get(path).status_code == 404, path
    page = client.get(f"/staff/work-orders/{ref}")
    assert "黃先生" not in page.text and "1390000" not in page.text
    r = client.post(f"/staff/work-orders/{ref}", data={"csrf_token": csrf_in(page.text), "op": "arrive"})
    assert r.status_code == 404 and order(world, ref).status == "dispatched"


def test_the_head_reassigns_the_job_and_its_former_technician_no_longer_sees_the_contact(
    client: TestClient, world: World
) -> None:
    ref = request(client, URGENT)["reference"]
    old_link = job_link(world, ref, "engineering-1")
    with_password(world, "head-engineering", "engineering-1")
    technician = TestClient(client.app)  # on their phone: their job in "my tasks", with its deadline
    sign_in(technician, email(world, "engineering-1"))
    home = technician.get("/staff?lang=en")
    assert f'href="/staff/work-orders/{ref}"' in home.text and "Work order" in home.text
    assert "Due in 30 minutes" in home.text  # the on-site deadline of an urgent job

    sign_in(client, email(world, "head-engineering"))
    page = client.get(f"/staff/work-orders/{ref}")
    assert page.status_code == 200 and "黃先生" not in page.text  # the head reassigns; the technician calls
    options = re.findall(r'<option value="([^"]+)"', page.text)
    assert email(world, "engineering-2") in options and email(world, "engineering-1") not in options
    assert not [o for o in options if "cleaning" in o]  # the job's own department only
    hidden = form_of(page.text, "reassign-form")
    r = client.post(f"/staff/work-orders/{ref}", data={**hidden, "staff_email": f"nobody@{DOMAIN}"})
    assert r.status_code == 422 and 'id="staff_email-error"' in r.text
    r = client.post(f"/staff/work-orders/{ref}", data={**hidden, "staff_email": email(world, "engineering-2")})
    assert r.status_code == 200, r.text
    new_link = job_link(world, ref, "engineering-2")  # the new technician is sent the job

    phone = TestClient(client.app)  # the former technician's link: the job, not the contact
    page = phone.get(old_link)
    assert page.status_code == 200, page.text
    assert "黃先生" not in page.text and "13900000001" not in page.text and "wong@example.test" not in page.text
    assert "0001" in page.text and 'id="not-yours"' in page.text and '<form method="post" id=' not in page.text
    page = phone.get(new_link)
    assert "黃先生" in page.text and 'id="arrival-form"' in page.text
    home = technician.get("/staff")  # no longer theirs: no longer in their tasks
    assert f'href="/staff/work-orders/{ref}"' not in home.text


def test_a_job_in_my_tasks_is_late_once_its_on_site_deadline_passed(client: TestClient, world: World) -> None:
    ref = request(client, URGENT)["reference"]
    with_password(world, "engineering-1")
    sign_in(client, email(world, "engineering-1"))
    world.clock.advance(hours=1)
    home = client.get("/staff?lang=en")
    item = re.search(rf'<li class="task([^"]*)">\s*<a href="/staff/work-orders/{ref}">', home.text)
    assert item and "overdue" in item.group(1), home.text
    assert "Overdue by 30 minutes" in home.text
