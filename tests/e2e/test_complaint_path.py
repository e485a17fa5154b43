"""The path of one complaint from POST to closed through the REST API and the lifecycle flows
on a real Prefect server: which product files it crosses and how many database sessions it
opens. Printed for the architecture document, and held to ceilings so the path stays short."""

from __future__ import annotations

import sys
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from estatecare import runtime
from estatecare.dispatch import Dispatcher
from estatecare.server import create_app
from tests.lifecycle_support import SIGNATURE_PNG, World, make_world
from tests.smtp_server import SmtpTestServer

pytestmark = pytest.mark.prefect

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("estatecare", "models", "tasks", "flows", "notifications", "deployments")
COMPLAINT = {
    "estate": "CH",
    "building": "1座",
    "unit": "101",
    "content": "浴室天花板漏水，請盡快處理",
    "complainant_name": "黃先生",
    "contact_phone": "13900000001",
}


class PathTracer:
    """Product modules whose functions run (in any thread; templates aside) and database
    transactions begun.

    The profiler is installed before any thread of the app starts (``install``) and counts only
    while the tracer is entered."""

    def __init__(self, world: World) -> None:
        self.files: Counter[str] = Counter()
        self.sessions = 0
        self.active = False
        self._world = world
        self._roots = tuple(str(ROOT / p) + "/" for p in PACKAGES)

    def install(self) -> None:
        threading.setprofile(self._profile)
        sys.setprofile(self._profile)

    def uninstall(self) -> None:
        sys.setprofile(None)
        threading.setprofile(None)

    def _profile(self, frame: FrameType, what: str, _: Any) -> None:
        if self.active and what == "call":
            name = frame.f_code.co_filename
            if name.startswith(self._roots) and name.endswith(".py"):
                self.files[str(Path(name).relative_to(ROOT))] += 1

    def _begun(self, *_: Any) -> None:
        self.sessions += 1

    def __enter__(self) -> PathTracer:
        event.listen(self._world.core.sessions, "after_begin", self._begun)
        self.active = True
        return self

    def __exit__(self, *_: Any) -> None:
        self.active = False
        event.remove(self._world.core.sessions, "after_begin", self._begun)

    def packages(self) -> set[str]:
        return {f.split("/")[0] if f.count("/") == 1 else "/".join(f.split("/")[:2]) for f in self.files}


@pytest.fixture
def world(prefect_api: str, smtp_server: SmtpTestServer, tmp_path: Path) -> Iterator[World]:
    w = make_world(f"sqlite:///{tmp_path / 'path.db'}", tmp_path, smtp_port=smtp_server.port)
    runtime.use_app(w.core)
    runtime.use_clock(w.clock)
    yield w
    runtime.use_app(None)
    runtime.use_clock(None)


def test_one_complaint_from_post_to_closed_crosses_few_files_and_sessions(world: World) -> None:
    dispatcher = Dispatcher(linger=0.05)
    path = PathTracer(world)
    path.install()
    try:
        detail = _walk(world, dispatcher, path)
    finally:
        path.uninstall()
    assert detail["status"] == "closed"
    files = sorted(path.files)
    print(f"\none complaint, POST to closed: {len(files)} product files in {len(path.packages())} packages, "
          f"{path.sessions} database transactions")  # fmt: skip
    for name in files:
        print(f"  {name}")
    # 30 when the keyword rules assessed alone; the supervisor's assessment adds its step, the
    # intake run that assigns after it and the assess task email (38 measured)
    assert path.sessions <= 40


def _walk(world: World, dispatcher: Dispatcher, path: PathTracer) -> dict[str, Any]:
    """POST a complaint and take it to closed: the supervisor's assessment, result, confirmation,
    a satisfied revisit."""
    with TestClient(create_app(world.core, dispatcher, clock=world.clock)) as client:
        assert client.portal is not None

        def settle() -> None:
            client.portal.call(dispatcher.idle)  # type: ignore[union-attr]

        client.post("/api/complaints", json={"estate": "CH", "content": "warm-up"}).raise_for_status()
        settle()
        with path:
            r = client.post("/api/complaints", json=COMPLAINT)
            assert r.status_code == 201, r.text
            ref = r.json()["reference"]
            settle()
            world.clock.advance(hours=2)
            revisit = {"method": "on_site", "satisfaction": "satisfied", "signature_png_base64": SIGNATURE_PNG}
            assessment = {"valid": True, "category": "facility", "service_area": "repairs"}
            steps: list[tuple[str, str, dict[str, Any]]] = [
                ("assessment", "supervisor", assessment),  # the rules only suggest (R-AS-1..4)
                ("resolution", "engineering-1", {"result": "已更換防水層"}),
                ("resolution/confirmation", "head-engineering", {"confirmed": True}),
                ("revisits", "manager", revisit),
            ]
            for step, who, body in steps:
                r = client.post(f"/api/complaints/{ref}/{step}", json=body, headers=world.auth(who))
                assert r.status_code == 200, r.text
                settle()
        detail: dict[str, Any] = client.get(f"/api/complaints/{ref}", headers=world.auth("manager")).json()
    return detail
