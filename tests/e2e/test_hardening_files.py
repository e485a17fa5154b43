"""What an installation leaves on disk, with real processes: ``python -m estatecare db upgrade``,
``seed-demo``, ``complaint submit`` and ``web`` (started as ``estatecare run`` starts it,
logging to ``var/web.log``). Nothing under ``var/`` is readable by other users, and the
access log keeps no action-link token and no personal data from a query string.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from estatecare import links, prefect_server
from estatecare.settings import Settings
from tests.smtp_server import free_port

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\xdac\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)


@dataclass
class Installation:
    var: Path
    base: str
    env: dict[str, str]
    reference: str
    manager_token: str


def _estatecare(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "estatecare", *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _wait(base: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    until = time.monotonic() + 60
    while time.monotonic() < until:
        if proc.poll() is not None:
            raise RuntimeError(f"the web process exited with code {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError("the web process did not start")


@pytest.fixture(scope="module")
def installation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installation]:
    """A fresh installation under ``var/`` made only by estatecare processes, its web process running."""
    root = tmp_path_factory.mktemp("hardening-files")
    var = root / "var"
    web_port = free_port()
    env = {
        **os.environ,
        **prefect_server.prefect_env(root, free_port()),  # no Prefect server: nothing here needs one
        "ESTATECARE_VAR_DIR": str(var),
        "ESTATECARE_WEB_PORT": str(web_port),
        "ESTATECARE_SMTP_PORT": str(free_port()),
        "ESTATECARE_SWEEP_EVERY_SECONDS": "3600",
    }
    env.pop("ESTATECARE_DATABASE_URL", None)
    env.pop("ESTATECARE_ATTACHMENTS_DIR", None)
    _estatecare(env, "db", "upgrade")
    _estatecare(env, "seed-demo")
    submit = ["complaint", "submit", "--estate", "CH", "--content", "電梯停了", "--name", "黃先生"]
    reference = _estatecare(env, *submit, "--phone", "13900000001").strip()
    tokens = dict(line.split("\t")[0::2] for line in (var / "demo-tokens-CH.txt").read_text().splitlines())
    web = prefect_server.start_child(["estatecare", "web"], var / "web.log", env)
    base = f"http://127.0.0.1:{web_port}"
    try:
        _wait(base, web, var / "web.log")
        yield Installation(var, base, env, reference, tokens["manager-ch@estatecare.localhost"])
    finally:
        prefect_server.stop_process(web)


def test_the_access_log_keeps_no_action_link_token_and_no_query_string(installation: Installation) -> None:
    inst = installation
    settings = Settings(var_dir=inst.var)
    page = f"/staff/complaints/{inst.reference}/resolution"
    token = links.make_token(settings, 1, page)
    photo = f"/staff/complaints/{inst.reference}/photos/1"
    with httpx.Client(base_url=inst.base, timeout=10) as client:
        opened = client.get(page, params={links.QUERY_KEY: token})
        assert opened.status_code in (200, 403, 410), opened.text[:300]
        client.get(photo, params={links.QUERY_KEY: token})
        client.get("/staff/register", params={"text": "13900000001", "status": "assigned"})
        staff = {"Authorization": f"Bearer {inst.manager_token}"}
        client.get("/api/complaints", params={"text": "黃先生"}, headers=staff)
    log = ""
    until = time.monotonic() + 10
    while time.monotonic() < until and "/api/complaints " not in log:
        time.sleep(0.1)
        log = (inst.var / "web.log").read_text(encoding="utf-8", errors="replace")
    assert f'"GET {page} HTTP/1.1"' in log, log[-2000:]  # every request is still logged, by its path
    assert f'"GET {photo} HTTP/1.1"' in log and '"GET /staff/register HTTP/1.1"' in log
    assert token not in log and token[:20] not in log
    assert "13900000001" not in log and "%E9%BB%83" not in log and "黃先生" not in log
    assert "?" not in "".join(line for line in log.splitlines() if '"GET ' in line)


def test_nothing_under_var_is_readable_by_other_users(installation: Installation) -> None:
    inst = installation
    r = httpx.post(
        f"{inst.base}/api/complaints/{inst.reference}/attachments",
        params={"filename": "lift.png"},
        content=PNG,
        headers={"Authorization": f"Bearer {inst.manager_token}", "content-type": "image/png"},
        timeout=10,
    )
    assert r.status_code == 201, r.text
    var = inst.var
    attachments = [p for p in (var / "attachments").rglob("*") if p.is_file()]
    expected = [var / "estatecare.db", var / "web.log", var / "secret-key", var / "demo-tokens-CH.txt", *attachments]
    assert len(attachments) == 1 and all(p.is_file() for p in expected)
    assert stat.S_IMODE(var.stat().st_mode) == 0o700
    modes = {str(p.relative_to(var)): oct(stat.S_IMODE(p.stat().st_mode)) for p in [var, *var.rglob("*")]}
    loose = {name: mode for name, mode in modes.items() if int(mode, 8) & 0o077}
    assert not loose, loose
    assert {modes[str(p.relative_to(var))] for p in expected} == {"0o600"}
