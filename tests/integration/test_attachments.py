"""Complaint attachments: stored and listed; a full storage gives a clear error and keeps
the complaint (a real full file system: a 256 KiB tmpfs in a private mount namespace)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from estatecare.attachments import AttachmentStore, TooLarge
from estatecare.server import create_app
from tests.lifecycle_support import World, make_world

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


@pytest.fixture
def world(db_url: str, tmp_path: Path) -> World:
    return make_world(db_url, tmp_path, attachments_dir=tmp_path / "store", attachments_min_free_mb=0)


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    with TestClient(create_app(world.core)) as c:
        yield c


def _complaint(client: TestClient) -> str:
    r = client.post("/api/complaints", json={"estate": "CH", "content": "大堂漏水", "complainant_name": "何太"})
    assert r.status_code == 201, r.text
    return str(r.json()["reference"])


def test_an_attachment_is_stored_on_disk_and_listed_with_its_checksum(
    client: TestClient, world: World, tmp_path: Path
) -> None:
    ref = _complaint(client)
    r = client.post(
        f"/api/complaints/{ref}/attachments",
        params={"filename": "../../漏水 相片.png"},
        content=PNG,
        headers={**world.auth("supervisor"), "content-type": "image/png"},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["filename"] == "../../漏水 相片.png" and body["size"] == len(PNG)
    [listed] = client.get(f"/api/complaints/{ref}/attachments", headers=world.auth("supervisor")).json()
    assert listed["sha256"] == body["sha256"]
    [stored] = [p for p in (tmp_path / "store").rglob("*") if p.is_file()]
    assert stored.read_bytes() == PNG and stored.is_relative_to(tmp_path / "store")
    assert ".." not in stored.name


def test_attachments_need_a_token_and_the_right_estate(client: TestClient, world: World) -> None:
    ref = _complaint(client)
    assert (
        client.post(f"/api/complaints/{ref}/attachments", params={"filename": "a.png"}, content=PNG).status_code == 401
    )
    missing = client.post(
        "/api/complaints/CH-000000-XXXXXX/attachments",
        params={"filename": "a.png"},
        content=PNG,
        headers=world.auth("supervisor"),
    )
    assert missing.status_code == 404


def test_a_store_below_its_free_space_reserve_refuses_with_507_and_keeps_the_complaint(
    world: World, tmp_path: Path
) -> None:
    world.core.settings.attachments_min_free_mb = shutil.disk_usage(tmp_path).free / 2**20 + 1024
    with TestClient(create_app(world.core)) as client:
        ref = _complaint(client)
        r = client.post(
            f"/api/complaints/{ref}/attachments",
            params={"filename": "a.png"},
            content=PNG,
            headers=world.auth("supervisor"),
        )
        assert r.status_code == 507
        assert "storage is full" in r.json()["detail"] and ref in r.json()["detail"]
        assert client.get(f"/api/complaints/{ref}", headers=world.auth("supervisor")).json()["status"] == "received"
        assert client.get(f"/api/complaints/{ref}/attachments", headers=world.auth("supervisor")).json() == []
    assert not [p for p in (tmp_path / "store").rglob("*") if p.is_file()]


def test_a_file_over_the_size_limit_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    store = AttachmentStore(tmp_path, max_bytes=10, min_free=0)
    with pytest.raises(TooLarge, match="at most 10"):
        store.save(b"x" * 11, "a.bin")
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


def _can_mount_tmpfs(tmp_path: Path) -> str | None:
    """Why a private tmpfs cannot be mounted here, or None when it can."""
    if shutil.which("unshare") is None:
        return "the unshare command is missing"
    probe = subprocess.run(
        ["unshare", "-rm", "sh", "-c", f"mount -t tmpfs -o size=64k tmpfs {tmp_path}"],
        capture_output=True,
        text=True,
        check=False,
    )
    return None if probe.returncode == 0 else f"cannot mount a private tmpfs: {probe.stderr.strip()}"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_a_full_file_system_gives_a_clear_507_keeps_the_complaint_and_leaves_no_partial_file(
    db_url: str, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    store.mkdir()
    reason = _can_mount_tmpfs(store)
    if reason is not None:
        pytest.skip(reason)
    script = f'mount -t tmpfs -o size=256k tmpfs "{store}" && exec "{sys.executable}" -m tests.attachments_child "$@"'
    run = subprocess.run(
        ["unshare", "-rm", "sh", "-c", script, "sh", db_url, str(tmp_path), str(store)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    codes = [u["status"] for u in out["uploads"]]
    assert codes[:-1] == [201] * (len(codes) - 1) and len(codes) > 3, codes
    assert codes[-1] == 507, out["uploads"][-1]
    assert "storage is full" in out["uploads"][-1]["body"]["detail"]
    assert out["reference"] in out["uploads"][-1]["body"]["detail"]
    assert out["detail"]["status"] == "received"  # the complaint is kept
    assert len(out["listed"]) == len(codes) - 1  # every stored file is recorded, the refused one is not
    assert len(out["files"]) == len(codes) - 1 and not any(f.startswith(".incoming/") for f in out["files"])
