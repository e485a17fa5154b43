"""The public complaint form keeps its photos across an error: they wait in the attachment store
as pending files, the page lists them by name with a box to remove them, and the form sent valid
attaches them; what is never sent is deleted after a day."""

from __future__ import annotations

import os
import re
import time
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from itsdangerous import TimestampSigner
from PIL import Image
from sqlalchemy import func, select

from estatecare import links
from estatecare.attachments import AttachmentStore
from estatecare.uploads import check_photo
from estatecare.webapp.pending_photos import PendingPhotos
from models import Complaint, ComplaintAttachment
from tests.lifecycle_support import FORM, World, csrf_in


def _png(colour: tuple[int, int, int] = (200, 80, 80)) -> bytes:
    buf = BytesIO()
    Image.new("RGB", (40, 30), colour).save(buf, format="PNG")
    return buf.getvalue()


def _send(
    client: TestClient, page: str, files: list[tuple[str, tuple[str, bytes, str]]] | None = None, **fields: Any
) -> Any:
    """Send the form shown in ``page`` (its CSRF and one-time tokens, the photos it lists) with ``fields``."""
    token = re.search(r'name="form_token" value="([^"]+)"', page)
    assert token
    data = {**FORM, "csrf_token": csrf_in(page), "form_token": token.group(1), **fields}
    data.setdefault("kept_photo", _kept(page))
    return client.post("/complaints/new", data=data, files=files or [], follow_redirects=False)


def _kept(page: str) -> list[str]:
    return re.findall(r'name="kept_photo" value="([^"]+)"', page)


def _pending_files(world: World) -> list[Path]:
    return [p for p in (world.core.settings.attachments_path / "pending").glob("*/*/*") if p.is_file()]


def _counts(world: World) -> tuple[int, int]:
    with world.core.sessions() as s:
        complaints = s.scalar(select(func.count()).select_from(Complaint)) or 0
        return complaints, s.scalar(select(func.count()).select_from(ComplaintAttachment)) or 0


def test_a_photo_chosen_with_an_invalid_field_is_listed_and_attached_when_the_form_is_sent_valid(
    client: TestClient, world: World
) -> None:
    photo = _png()
    r = _send(client, client.get("/complaints/new").text, [("photos", ("leak.png", photo, "image/png"))], content="")
    assert r.status_code == 422
    assert "請填寫此欄" in r.text and "黃先生" in r.text
    assert len(_kept(r.text)) == 1 and "移除 leak.png" in r.text and "您的相片已保留" in r.text
    assert "請重新選擇" not in r.text
    assert _counts(world) == (0, 0)
    [waiting] = _pending_files(world)
    assert waiting.read_bytes() == photo

    done = _send(client, r.text, content="廚房天花板漏水，已經滴了兩天")
    assert done.status_code == 303, done.text
    with world.core.sessions() as s:
        [row] = s.scalars(select(ComplaintAttachment)).all()
        complaint = s.get(Complaint, row.complaint_id)
        assert complaint is not None and done.headers["location"].endswith(complaint.reference)
    assert (row.filename, row.content_type, row.size) == ("leak.png", "image/png", len(photo))
    assert (world.core.settings.attachments_path / row.stored_name).read_bytes() == photo
    assert _pending_files(world) == []
    # the same page sent again: the first complaint stands, its photo is not attached twice
    assert _send(client, r.text, content="廚房天花板漏水，已經滴了兩天").status_code == 303
    assert _counts(world) == (1, 1)


def test_a_photo_kept_through_a_refused_unit_and_a_second_photo_are_both_attached(
    client: TestClient, world: World
) -> None:
    first, second = _png(), _png((10, 120, 10))
    r = _send(client, client.get("/complaints/new").text, [("photos", ("a.png", first, "image/png"))], unit="999")
    assert r.status_code == 422 and "本小區沒有這個單元" in r.text and len(_kept(r.text)) == 1
    assert _counts(world) == (0, 0) and len(_pending_files(world)) == 1  # back to pending, no row
    done = _send(client, r.text, [("photos", ("b.png", second, "image/png"))])
    assert done.status_code == 303, done.text
    with world.core.sessions() as s:
        rows = {a.filename: a.stored_name for a in s.scalars(select(ComplaintAttachment))}
    store = world.core.settings.attachments_path
    assert {name: (store / stored).read_bytes() for name, stored in rows.items()} == {"a.png": first, "b.png": second}


def test_a_refused_file_is_named_and_the_good_one_beside_it_kept(client: TestClient, world: World) -> None:
    files = [("photos", ("fake.png", b"not an image", "image/png")), ("photos", ("ok.png", _png(), "image/png"))]
    r = _send(client, client.get("/complaints/new").text, files)
    assert r.status_code == 422 and "fake.png 不是 JPEG、PNG 或 WebP 圖片" in r.text
    assert "移除 ok.png" in r.text and "移除 fake.png" not in r.text


def test_a_removed_photo_is_not_attached_and_its_file_is_deleted(client: TestClient, world: World) -> None:
    r = _send(client, client.get("/complaints/new").text, [("photos", ("x.png", _png(), "image/png"))], content="")
    [reference] = _kept(r.text)
    done = _send(client, r.text, content="大堂地面很髒", remove_photo=reference)
    assert done.status_code == 303, done.text
    assert _counts(world) == (1, 0) and _pending_files(world) == []


def test_an_altered_reference_attaches_nothing_and_says_so(client: TestClient, world: World) -> None:
    r = _send(client, client.get("/complaints/new").text, [("photos", ("x.png", _png(), "image/png"))], content="")
    [reference] = _kept(r.text)
    forged = _send(client, r.text, kept_photo=reference[:-2] + ("AA" if not reference.endswith("AA") else "BB"))
    assert forged.status_code == 422 and "之前加入的相片已無法使用" in forged.text
    assert _counts(world) == (0, 0)


def test_too_many_photos_keep_those_already_added(client: TestClient, world: World) -> None:
    r = _send(client, client.get("/complaints/new").text, [("photos", ("one.png", _png(), "image/png"))], content="")
    more = [("photos", (f"{n}.png", _png(), "image/png")) for n in ("two", "three", "four")]
    r = _send(client, r.text, more, content="")
    assert r.status_code == 422 and "最多 3 張相片" in r.text and "剛才選擇的相片未能保留" in r.text
    assert "移除 one.png" in r.text and len(_kept(r.text)) == 1


def test_pending_photos_never_sent_are_deleted_after_a_day(client: TestClient, world: World) -> None:
    r = _send(client, client.get("/complaints/new").text, [("photos", ("old.png", _png(), "image/png"))], content="")
    [old] = _pending_files(world)
    day_ago = time.time() - 86_400 - 60
    os.utime(old, (day_ago, day_ago))
    # the next form that puts photos pending sweeps what waited more than a day
    _send(client, client.get("/complaints/new").text, [("photos", ("new.png", _png(), "image/png"))], content="")
    assert not old.exists() and len(_pending_files(world)) == 1
    # and the page that still names the swept photo says it is gone
    again = _send(client, r.text)
    assert again.status_code == 422 and "之前加入的相片已無法使用" in again.text
    assert _counts(world) == (0, 0)


def test_a_reference_is_refused_after_a_day_or_under_another_key(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    store = AttachmentStore.from_settings(world.core.settings)
    pending = PendingPhotos(store, links.secret_key(world.core.settings))
    kept = pending.put(check_photo("p.png", _png(), 10**7), world.clock())
    reference = pending.reference(kept)
    assert pending.read([reference]) == ([kept], 0)
    assert PendingPhotos(store, "another installation's key").read([reference]) == ([], 1)
    later = int(time.time()) + 86_400 + 60
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: later)
    assert pending.read([reference]) == ([], 1)
