"""Hardening of input, on real SQLite and PostgreSQL:

- images declaring more pixels than allowed (a "decompression bomb") are refused before
  decoding, on the public form (the complaint text kept in the re-rendered form) and as
  API attachments;
- an email address is exactly one address (email-validator), never a list or a header;
- every number and date a client sends is bounded: 422 naming the field, never 500.
"""

from __future__ import annotations

import re
import struct
import zlib
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select

from estatecare.server import create_app
from estatecare.webapp.accounts import set_password
from models import Complaint, ComplaintAttachment
from tests.lifecycle_support import FORM, PASSWORD, SIGNATURE_PNG, World, make_world

COMPLAINT = {"estate": "CH", "content": "大堂漏水", "complainant_name": "何太", "contact_phone": "13900000002"}
TOO_FAR = ("0001-01-01", "1999-12-31", "2101-01-01", "9999-12-31")


@pytest.fixture
def world(db_url: str, tmp_path: Path) -> World:
    w = make_world(db_url, tmp_path, attachments_dir=tmp_path / "store", attachments_min_free_mb=0)
    with w.core.transaction() as s:
        set_password(s, "manager-ch@estatecare.localhost", PASSWORD)
    return w


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    with TestClient(create_app(world.core, clock=world.clock), raise_server_exceptions=False) as c:
        yield c


def _csrf(client: TestClient, path: str = "/complaints/new") -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert match
    return match.group(1)


def _sign_in(client: TestClient) -> None:
    r = client.post(
        "/staff/login",
        data={"email": "manager-ch@estatecare.localhost", "password": PASSWORD, "csrf_token": _csrf(client)},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text


def _count(world: World, model: Any) -> int:
    with world.core.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def _fields(response: Any) -> set[str]:
    """The fields a 422 names (the last part of each error's location)."""
    assert response.status_code == 422, (response.status_code, response.text[:300])
    return {str(e["loc"][-1]) for e in response.json()["detail"]}


# --------------------------------------------------------------------------- images declaring too many pixels


def png_declaring(width: int, height: int) -> bytes:
    """A valid black 1-bit PNG of ``width`` x ``height``: tiny compressed, huge once decoded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\0" * (1 + (width + 7) // 8)  # filter byte + the row's bits
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


BOMB = png_declaring(20_000, 20_000)  # 400 megapixels in ~48 KB
LARGE = png_declaring(8_000, 6_000)  # 48 megapixels: below Pillow's own alarm, above our limit


def _small_png() -> bytes:
    buf = BytesIO()
    Image.new("RGB", (40, 30), (200, 80, 80)).save(buf, format="PNG")
    return buf.getvalue()


def test_the_bomb_really_is_a_small_png_declaring_400_megapixels() -> None:
    assert len(BOMB) < 64_000
    with Image.open(BytesIO(LARGE)) as image:
        assert image.size == (8_000, 6_000) and image.format == "PNG"


@pytest.mark.parametrize("image", [BOMB, LARGE], ids=["400MP", "48MP"])
def test_a_photo_declaring_too_many_pixels_is_refused_and_the_complaint_text_kept(
    client: TestClient, world: World, image: bytes
) -> None:
    r = client.post(
        "/complaints/new",
        data={**FORM, "csrf_token": _csrf(client)},
        files=[("photos", ("huge.png", image, "image/png"))],
        follow_redirects=False,
    )
    assert r.status_code == 422, r.text[-2000:]
    assert FORM["content"] in r.text and 'id="photos-error"' in r.text and "huge.png" in r.text
    assert _count(world, Complaint) == 0 and _count(world, ComplaintAttachment) == 0
    r = client.post(
        "/complaints/new",
        data={**FORM, "csrf_token": _csrf(client)},
        files=[("photos", ("ok.png", _small_png(), "image/png"))],
        follow_redirects=False,
    )
    assert r.status_code == 303 and _count(world, ComplaintAttachment) == 1


@pytest.mark.parametrize("image", [BOMB, LARGE], ids=["400MP", "48MP"])
def test_an_api_attachment_declaring_too_many_pixels_is_refused(client: TestClient, world: World, image: bytes) -> None:
    r = client.post("/api/complaints", json=COMPLAINT)
    assert r.status_code == 201, r.text
    ref = r.json()["reference"]
    url = f"/api/complaints/{ref}/attachments"
    headers = {**world.auth("supervisor"), "content-type": "image/png"}
    r = client.post(url, params={"filename": "huge.png"}, content=image, headers=headers)
    assert _fields(r) == {"body"} and "pixels" in r.text
    assert _count(world, ComplaintAttachment) == 0 and not [
        p for p in (world.core.settings.attachments_path).rglob("*.png")
    ]
    assert client.post(url, params={"filename": "ok.png"}, content=_small_png(), headers=headers).status_code == 201
    assert (
        client.post(url, params={"filename": "notes.txt"}, content=b"not an image", headers=headers).status_code == 201
    )


# --------------------------------------------------------------------------- one email address, exactly

NOT_ONE_ADDRESS = [
    "eve,attacker@evil.test",
    "a@example.test, b@example.test",
    "a@example.test;b@example.test",
    "Eve <eve@example.test>",
    '"eve,attacker"@evil.test',
    "a@b@example.test",
    "eve@example.test\nBcc: x@evil.test",
    "eve@",
    "eve@example",
]


@pytest.mark.parametrize("address", NOT_ONE_ADDRESS)
def test_a_contact_email_must_be_exactly_one_address(client: TestClient, world: World, address: str) -> None:
    assert _fields(client.post("/api/complaints", json={**COMPLAINT, "contact_email": address})) == {"contact_email"}
    assert _count(world, Complaint) == 0


def test_a_single_address_is_accepted_and_kept(client: TestClient, world: World) -> None:
    r = client.post("/api/complaints", json={**COMPLAINT, "contact_email": " Mei.Yu+home@Example.TEST "})
    assert r.status_code == 201, r.text
    assert world.complaint(r.json()["reference"]).contact_email == "Mei.Yu+home@example.test"


def test_the_web_form_refuses_two_addresses_and_keeps_the_text(client: TestClient, world: World) -> None:
    r = client.post(
        "/complaints/new",
        data={**FORM, "contact_email": "eve,attacker@evil.test", "csrf_token": _csrf(client)},
        follow_redirects=False,
    )
    assert r.status_code == 422 and 'id="contact_email-error"' in r.text and FORM["content"] in r.text
    assert _count(world, Complaint) == 0


def test_a_staff_address_in_a_step_is_one_address_too(client: TestClient, world: World) -> None:
    ref = client.post("/api/complaints", json=COMPLAINT).json()["reference"]
    body = {"department": "engineering", "staff_email": "engineering-1-ch@estatecare.localhost,eve@evil.test"}
    r = client.post(f"/api/complaints/{ref}/assignment", json=body, headers=world.auth("manager"))
    assert _fields(r) == {"staff_email"}


# --------------------------------------------------------------------------- bounded numbers and dates


@pytest.mark.parametrize("path", ["/api/complaints", "/api/revisits"])
@pytest.mark.parametrize("name", ["offset", "limit"])
def test_huge_offsets_and_limits_are_refused(client: TestClient, world: World, path: str, name: str) -> None:
    for value in (2**63, 2**31, 10**30):
        assert _fields(client.get(path, params={name: value}, headers=world.auth("manager"))) == {name}
    assert client.get(path, params={"offset": 10**6}, headers=world.auth("manager")).status_code == 200


@pytest.mark.parametrize("month", ["9999-12", "0001-01", "1999-12", "2101-01", "2026-13", "2026-1"])
def test_a_report_month_out_of_range_is_refused(client: TestClient, world: World, month: str) -> None:
    r = client.get("/api/reports/monthly", params={"month": month}, headers=world.auth("gm"))
    assert _fields(r) == {"month"}


@pytest.mark.parametrize("value", [*TOO_FAR, "768", "1e3", "2026-12-05T99:00", "-1"])
def test_due_before_must_be_a_date_within_range(client: TestClient, world: World, value: str) -> None:
    r = client.get("/api/revisits", params={"due_before": value}, headers=world.auth("manager"))
    assert _fields(r) == {"due_before"}


def test_due_before_accepts_a_date_or_a_time(client: TestClient, world: World) -> None:
    for value in ("2026-12-05", "2026-12-05T10:00", "2026-12-05T10:00:00+08:00", "2100-12-31"):
        r = client.get("/api/revisits", params={"due_before": value}, headers=world.auth("manager"))
        assert r.status_code == 200, (value, r.text)


@pytest.mark.parametrize("day", TOO_FAR)
def test_a_work_order_completed_outside_the_range_is_refused(client: TestClient, world: World, day: str) -> None:
    body = {"estate": "CH", "kind": "major_repair", "completed_at": f"{day}T10:00:00+08:00"}
    assert _fields(client.post("/api/work-orders", json=body, headers=world.auth("manager"))) == {"completed_at"}


def test_step_dates_and_versions_are_bounded(client: TestClient, world: World) -> None:
    ref = client.post("/api/complaints", json=COMPLAINT).json()["reference"]
    manager = world.auth("manager")
    url = f"/api/complaints/{ref}"
    far = "9999-12-31T23:00:00+00:00"
    assert _fields(client.post(f"{url}/assignment", json={"due_at": far}, headers=manager)) == {"due_at"}
    progress = {"message": "已約師傅", "next_reply_at": far}
    assert _fields(client.post(f"{url}/progress", json=progress, headers=manager)) == {"next_reply_at"}
    revisit = {"method": "phone", "satisfaction": "satisfied", "done_at": "0001-01-01T00:00:00+08:00"}
    assert _fields(client.post(f"{url}/revisits", json=revisit, headers=manager)) == {"done_at"}
    assert _fields(client.post(f"{url}/close", json={"version": 2**63}, headers=manager)) == {"version"}
    letter = {"revisit_ids": [1, 2], "letter_ref": "CH-公開信-1", "done_at": far}
    assert _fields(client.post("/api/revisits/open-letter", json=letter, headers=manager)) == {"done_at"}
    record = {
        "method": "phone",
        "satisfaction": "unsatisfied",
        "next_reply_at": far,
        "signature_png_base64": SIGNATURE_PNG,
    }
    assert _fields(client.post("/api/revisits/1", json=record, headers=manager)) == {"next_reply_at"}


@pytest.mark.parametrize("name", ["from", "to"])
@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31", "1999-12-31"])
def test_the_registers_dates_are_bounded(client: TestClient, world: World, name: str, day: str) -> None:
    _sign_in(client)
    for path in ("/staff/register", "/staff/register/export.csv"):
        r = client.get(path, params={name: day})
        assert r.status_code == 400, (path, r.status_code, r.text[-500:])
        label = "受理日期由" if name == "from" else "受理日期至"
        assert f"{label}：" in r.text and "2000-01-01" in r.text and f"{name}:" not in r.text
    assert client.get("/staff/register", params={name: "2026-11-02"}).status_code == 200


def test_huge_ids_in_web_addresses_are_not_found_not_errors(client: TestClient, world: World) -> None:
    ref = client.post("/api/complaints", json=COMPLAINT).json()["reference"]
    _sign_in(client)
    for path in (
        f"/staff/complaints/{ref}/revisits/{2**63}/signature.png",
        f"/staff/complaints/{ref}/photos/{2**63}",
        f"/staff/revisits/{2**63}",
    ):
        r = client.get(path)
        assert r.status_code in (400, 404, 422), (path, r.status_code)


# --------------------------------------------------------------------------- bodies within their limits (and a real
# process receiving huge ones: tests/e2e/test_hardening_limits.py)


def test_a_json_body_over_its_limit_is_413_and_a_signature_has_room(client: TestClient, world: World) -> None:
    limit = world.core.settings.body_max_bytes
    padded = '{"estate": "CH", "content": "漏水"' + " " * limit + "}"
    r = client.post("/api/complaints", content=padded, headers={"content-type": "application/json"})
    assert r.status_code == 413 and str(limit) in r.json()["detail"]
    assert _count(world, Complaint) == 0
    ref = client.post("/api/complaints", json=COMPLAINT).json()["reference"]
    revisit = {"method": "on_site", "satisfaction": "satisfied", "signature_png_base64": "A" * 1_900_000}
    r = client.post(f"/api/complaints/{ref}/revisits", json=revisit, headers=world.auth("manager"))
    assert r.status_code in (409, 422), r.text[:300]  # read and judged, not refused for its size
