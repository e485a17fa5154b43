"""Request bodies are limited while they arrive: a real `estatecare web` process keeps its
memory while an anonymous client sends a 200 MB body and a staff member a 300 MB upload.

The bodies are streamed from generators (the client holds 1 MB at a time); a thread samples
the web process's resident memory (VmRSS) all along. The figures are printed.

Acceptance: the peak resident memory of the web process while the bodies arrive stays under
150 MB (the sampled peak VmRSS; VmHWM, printed too, would also count start-up).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest

from estatecare import prefect_server
from estatecare.app import App
from estatecare.demo import seed_demo
from estatecare.migrate import upgrade
from estatecare.services import lifecycle
from estatecare.services.schemas import ComplaintIn
from estatecare.settings import Settings
from tests.smtp_server import free_port

MB = 1024 * 1024
CHUNK = b"x" * MB
#: Growth of the web process's resident memory allowed while the bodies arrive. The limits keep
#: at most one attachment (10 MB) in memory; without them a 200 MB body took it to ~960 MB.
GROWTH_CEILING_MB = 64
#: The acceptance ceiling: the web process's peak VmRSS while the bodies arrive (idle ~138 MB).
PEAK_CEILING_MB = 150


@dataclass
class Web:
    base: str
    pid: int
    staff_token: str
    reference: str


class RssSampler(threading.Thread):
    """Samples a process's VmRSS every few milliseconds and keeps the highest."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_kb = 0
        self.stopped = threading.Event()

    def field_kb(self, name: str) -> int:
        """A ``/proc/PID/status`` figure in kB (0 once the process is gone)."""
        with open(f"/proc/{self.pid}/status") as status:
            for line in status:
                if line.startswith(name + ":"):
                    return int(line.split()[1])
        return 0

    def sample(self) -> int:
        rss = self.field_kb("VmRSS")
        self.peak_kb = max(self.peak_kb, rss)
        return rss

    def run(self) -> None:
        while not self.stopped.is_set():
            self.sample()
            time.sleep(0.005)


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Web]:
    """`estatecare web` on a free port with the demo estate and one complaint."""
    tmp_path = tmp_path_factory.mktemp("limits")
    db = f"sqlite:///{tmp_path / 'limits.db'}"
    upgrade(db)
    core = App.from_settings(Settings(database_url=db, var_dir=tmp_path))
    with core.transaction() as s:
        staff = seed_demo(s, core.policy)
        complaint = lifecycle.submit(
            core, s, ComplaintIn(estate="CH", content="大堂漏水", contact_phone="13900000002"), datetime.now(UTC)
        )
        reference = complaint.reference
    core.engine.dispose()
    [token] = [m.token for m in staff if m.email.startswith("supervisor-ch@")]
    web_port = free_port()
    env = {
        **prefect_server.prefect_env(tmp_path, free_port()),  # no Prefect server: nothing here needs one
        "ESTATECARE_DATABASE_URL": db,
        "ESTATECARE_VAR_DIR": str(tmp_path),
        "ESTATECARE_WEB_PORT": str(web_port),
        "ESTATECARE_SMTP_PORT": str(free_port()),
        "ESTATECARE_MAIL_CATCHER": "false",
        "ESTATECARE_SWEEP_EVERY_SECONDS": "3600",
    }
    log = (tmp_path / "web.log").open("ab")
    proc = subprocess.Popen(
        [sys.executable, "-m", "estatecare", "web"], env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{web_port}"
    try:
        _wait(base, proc)
        yield Web(base, proc.pid, token, reference)
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait(base: str, proc: subprocess.Popen[bytes]) -> None:
    until = time.monotonic() + 120
    while time.monotonic() < until:
        if proc.poll() is not None:
            raise RuntimeError(f"the web process exited with code {proc.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise TimeoutError("the web process did not start")


def _stream(head: bytes, megabytes: int, tail: bytes, sampler: RssSampler, ceiling_kb: int) -> Iterator[bytes]:
    """``head``, ``megabytes`` MB of filler and ``tail``; stops sending once the server's memory passed the ceiling."""
    yield head
    for _ in range(megabytes):
        if sampler.sample() > ceiling_kb:
            raise MemoryError(f"the web process holds {sampler.peak_kb // 1024} MB: the body is being buffered")
        yield CHUNK
    yield tail


def test_huge_bodies_are_refused_while_they_arrive_and_memory_stays_bounded(web: Web) -> None:
    sampler = RssSampler(web.pid)
    with httpx.Client(base_url=web.base, timeout=120) as client:
        for _ in range(5):  # warm up: every kind of request once
            assert client.get("/complaints/new").status_code == 200
            assert client.get(f"/api/complaints/{web.reference}/attachments", headers=_auth(web)).status_code == 200
        baseline_kb = sampler.sample()
        ceiling_kb = baseline_kb + GROWTH_CEILING_MB * 1024
        sampler.peak_kb = baseline_kb
        sampler.start()
        started = time.monotonic()
        try:
            sends = _send_all(client, web, sampler, ceiling_kb)
        finally:
            sampler.stopped.set()
            sampler.join()
        elapsed = time.monotonic() - started
        after = client.get("/healthz")  # the same keep-alive connection still serves
    peak_kb = sampler.peak_kb
    print(
        f"\nestatecare web while receiving 1000 MB in 4 bodies ({elapsed:.1f} s): "
        f"VmRSS {baseline_kb / 1024:.0f} MB before, peak {peak_kb / 1024:.0f} MB "
        f"(+{(peak_kb - baseline_kb) / 1024:.0f} MB, ceilings {PEAK_CEILING_MB} MB and +{GROWTH_CEILING_MB} MB); "
        f"VmHWM since start {sampler.field_kb('VmHWM') / 1024:.0f} MB"
    )
    for name, response in sends.items():
        print(f"  {name}: {response.status_code} {response.text[:120]}")
    assert {name: r.status_code for name, r in sends.items()} == dict.fromkeys(sends, 413)
    assert after.status_code == 200
    assert peak_kb - baseline_kb < GROWTH_CEILING_MB * 1024
    assert peak_kb < PEAK_CEILING_MB * 1024, f"peak VmRSS {peak_kb / 1024:.1f} MB while the bodies arrived"


def _send_all(client: httpx.Client, web: Web, sampler: RssSampler, ceiling_kb: int) -> dict[str, httpx.Response]:
    """The four bodies, one after the other on one connection."""
    head, tail = b'{"estate":"CH","content":"', b'"}'
    return {
        "anonymous JSON, 200 MB, chunked": client.post(
            "/api/complaints",
            content=_stream(head, 200, tail, sampler, ceiling_kb),
            headers={"content-type": "application/json"},
        ),
        "anonymous JSON, 200 MB, Content-Length": client.post(
            "/api/complaints",
            content=_stream(head, 200, tail, sampler, ceiling_kb),
            headers={"content-type": "application/json", "content-length": str(len(head) + 200 * MB + len(tail))},
        ),
        "staff attachment, 300 MB, chunked": client.post(
            f"/api/complaints/{web.reference}/attachments?filename=huge.bin",
            content=_stream(b"", 300, b"", sampler, ceiling_kb),
            headers={**_auth(web), "content-type": "application/octet-stream"},
        ),
        "resident's form photo, 300 MB, chunked": client.post(
            "/complaints/new",
            content=_stream(
                b'--b\r\ncontent-disposition: form-data; name="photos"; filename="huge.jpg"\r\n'
                b"content-type: image/jpeg\r\n\r\n",
                300,
                b"\r\n--b--\r\n",
                sampler,
                ceiling_kb,
            ),
            headers={"content-type": "multipart/form-data; boundary=b"},
        ),
    }


def _auth(web: Web) -> dict[str, str]:
    return {"Authorization": f"Bearer {web.staff_token}"}


def test_out_of_range_parameters_are_422_and_the_connection_serves_on(web: Web) -> None:
    with httpx.Client(base_url=web.base, timeout=30, headers=_auth(web)) as client:
        for path, params in [
            ("/api/complaints", {"offset": 2**63}),
            ("/api/revisits", {"offset": 2**63}),
            ("/api/revisits", {"due_before": "0001-01-01"}),
            ("/api/revisits", {"due_before": "768"}),
            ("/api/reports/monthly", {"month": "9999-12"}),
        ]:
            r = client.get(path, params=params)
            assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] in params, (path, r.text)
            assert client.get(f"/api/complaints/{web.reference}").status_code == 200  # same connection
        order = {"estate": "CH", "kind": "major_repair", "completed_at": "9999-12-31T10:00:00+08:00"}
        r = client.post("/api/work-orders", json=order)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "completed_at"], r.text
        assert client.get("/healthz").status_code == 200
