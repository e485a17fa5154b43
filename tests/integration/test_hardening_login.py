"""Sign-in and status look-ups on real SQLite and PostgreSQL: the client address comes from
``X-Forwarded-For`` only when the peer is a configured proxy (also under uvicorn, in a real
`estatecare web` process), limits per address, and a per-account lockout with backoff that
answers an unknown account exactly like a known one."""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from estatecare import prefect_server
from estatecare.app import App
from estatecare.server import create_app
from estatecare.settings import Settings
from estatecare.webapp.accounts import set_password
from models import Staff
from tests.lifecycle_support import DOMAIN, PASSWORD, World, make_world
from tests.smtp_server import free_port

MANAGER = f"manager-ch@{DOMAIN}"
NOBODY = f"nobody-ch@{DOMAIN}"

MakeWorld = Callable[..., World]


@pytest.fixture
def make(db_url: str, tmp_path: Path) -> MakeWorld:
    """A seeded world (the manager has a password) with the given settings."""

    seeded: list[World] = []

    def build(**settings: Any) -> World:
        if seeded:  # the same database, other settings
            config = Settings(database_url=db_url, var_dir=tmp_path, base_url="http://estatecare.test", **settings)
            return World(App.from_settings(config), seeded[0].tokens)
        world = make_world(db_url, tmp_path, **settings)
        with world.core.transaction() as s:
            set_password(s, MANAGER, PASSWORD)
        seeded.append(world)
        return world

    return build


def _token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html[:500]
    return match.group(1)


def sign_in(client: Any, email: str, password: str, forwarded_for: str | None = None) -> Any:
    """One sign-in attempt (a fresh form, as a browser does), optionally through a proxy."""
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    token = _token(client.get("/staff/login", headers=headers).text)
    return client.post(
        "/staff/login",
        data={"email": email, "password": password, "next": "/staff", "csrf_token": token},
        headers=headers,
        follow_redirects=False,
    )


def look_up(client: Any, forwarded_for: str | None = None) -> Any:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    token = _token(client.get("/status", headers=headers).text)
    return client.post(
        "/status",
        data={"reference": "CH-261102-AAAAAA", "contact": "13900000000", "csrf_token": token},
        headers=headers,
    )


def account(world: World, email: str = MANAGER) -> Staff:
    with world.core.sessions() as s:
        staff = s.scalar(select(Staff).where(Staff.email == email))
        assert staff is not None
        return staff


# --------------------------------------------------------------------------- the client address


def test_x_forwarded_for_counts_only_from_a_configured_proxy(make: MakeWorld) -> None:
    world = make(login_rate="3/minute", trusted_proxies="testclient")  # the TestClient's peer is the proxy
    with TestClient(create_app(world.core, clock=world.clock)) as proxy:
        for i in range(6):  # a new client each time: no address reaches its limit
            assert sign_in(proxy, f"x{i}@example.test", "wrong", f"198.51.100.{i + 1}").status_code == 401
        for _ in range(3):
            assert sign_in(proxy, "y@example.test", "wrong", "203.0.113.7").status_code == 401
        # a client's own X-Forwarded-For entry is ignored: the proxy appended the real address
        refused = sign_in(proxy, "z@example.test", "wrong", "192.0.2.1, 203.0.113.7")
        assert refused.status_code == 429, refused.text
        assert 1 <= int(refused.headers["Retry-After"]) <= 60
        for _ in range(3):
            assert look_up(proxy, "203.0.113.8").status_code == 404
        assert look_up(proxy, "203.0.113.8").status_code == 429
        assert look_up(proxy, "203.0.113.9").status_code == 404
    other = make(login_rate="3/minute")  # no proxy configured: the header is the client's word
    with TestClient(create_app(other.core, clock=other.clock)) as client:
        for i in range(3):
            assert sign_in(client, f"x{i}@example.test", "wrong", f"198.51.100.{i + 1}").status_code == 401
        assert sign_in(client, "x9@example.test", "wrong", "198.51.100.99").status_code == 429


def _start_web(tmp_path: Path, db: str, **env: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    variables = {
        **{k: v for k, v in os.environ.items() if k != "FORWARDED_ALLOW_IPS" and not k.startswith("ESTATECARE_")},
        **prefect_server.prefect_env(tmp_path, free_port()),
        "ESTATECARE_DATABASE_URL": db,
        "ESTATECARE_VAR_DIR": str(tmp_path),
        "ESTATECARE_WEB_PORT": str(port),
        "ESTATECARE_SMTP_PORT": str(free_port()),
        "ESTATECARE_MAIL_CATCHER": "false",
        **env,
    }
    with (tmp_path / "web.log").open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "estatecare", "web"], env=variables, stdout=log, stderr=subprocess.STDOUT
        )
    base = f"http://127.0.0.1:{port}"
    until = time.monotonic() + 180
    while time.monotonic() < until:
        assert proc.poll() is None, (tmp_path / "web.log").read_text()[-3000:]
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    proc.kill()
    raise TimeoutError("the web process did not start")


@pytest.fixture
def web_db(tmp_path: Path) -> Iterator[str]:
    """A seeded SQLite database for real `estatecare web` processes (the address handling
    does not depend on the database, so one is enough)."""
    db = f"sqlite:///{tmp_path / 'web.db'}"
    world = make_world(db, tmp_path)
    world.core.engine.dispose()
    yield db


def test_estatecare_web_trusts_no_forwarded_address_by_default_and_a_configured_proxy_only(
    tmp_path: Path, web_db: str
) -> None:
    proc, base = _start_web(tmp_path, web_db)
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            codes = [sign_in(client, f"n{i}@example.test", "wrong", f"10.9.0.{i}").status_code for i in range(11)]
            assert codes == [401] * 10 + [429], codes  # loopback is no proxy unless configured
            lookups = [look_up(client, f"10.8.0.{i}").status_code for i in range(11)]
            assert lookups == [404] * 10 + [429], lookups
    finally:
        proc.terminate()
        proc.wait(60)
    proc, base = _start_web(tmp_path, web_db, ESTATECARE_TRUSTED_PROXIES="127.0.0.1")
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            codes = [sign_in(client, f"m{i}@example.test", "wrong", f"10.7.0.{i}").status_code for i in range(11)]
            assert codes == [401] * 11, codes  # eleven clients behind the proxy
            same = [sign_in(client, f"s{i}@example.test", "wrong", "10.6.0.1").status_code for i in range(11)]
            assert same == [401] * 10 + [429], same
    finally:
        proc.terminate()
        proc.wait(60)


# --------------------------------------------------------------------------- the per-account lockout


def _story(world: World, email: str, password: str) -> list[tuple[int, str | None, str]]:
    """Sign-ins from ever new addresses with the clock moved by hand: each answer's status,
    Retry-After and page (the typed email and the CSRF token left out)."""
    out: list[tuple[int, str | None, str]] = []
    seen: list[int] = [0]

    def attempt(pw: str) -> None:
        seen[0] += 1
        r = sign_in(client, email, pw, f"198.51.100.{seen[0]}")
        text = re.sub(r'<input[^>]*name="(csrf_token|email)"[^>]*>', "", r.text)
        out.append((r.status_code, r.headers.get("Retry-After"), text))

    with TestClient(create_app(world.core, clock=world.clock)) as client:
        for _ in range(5):
            attempt("wrong")  # the fifth locks the account for 60 s
        attempt(password)  # locked: even the right password is refused
        world.clock.advance(seconds=59)
        attempt(password)
        for lock in (60, 120, 240, 480, 900):  # once a lock ends, the next failure locks twice as long
            world.clock.advance(seconds=lock)
            attempt("wrong")
            attempt("wrong")
        world.clock.advance(seconds=900 + 24 * 3600)  # a day after the last lock ended it is forgotten
        attempt("wrong")
        attempt("wrong")
        attempt(password)
    return out


LOCKED_STORY = [
    *[(401, None)] * 5,
    (429, "60"),
    (429, "1"),
    *[(401, None), (429, "120")],
    *[(401, None), (429, "240")],
    *[(401, None), (429, "480")],
    *[(401, None), (429, "900")],  # 960 s, capped
    *[(401, None), (429, "900")],
    (401, None),
    (401, None),
]


def test_an_account_locks_after_five_failures_for_a_doubling_time_up_to_a_cap_and_a_success_resets_it(
    make: MakeWorld,
) -> None:
    world = make(trusted_proxies="testclient")  # each try through the proxy from another address
    story = _story(world, MANAGER, PASSWORD)
    answers = [(code, after) for code, after, _ in story]
    assert answers == [*LOCKED_STORY, (303, None)], answers
    assert "登入失敗次數太多" in story[5][2]
    staff = account(world)
    assert (staff.failed_logins, staff.locked_until) == (0, None)


def test_an_unknown_account_gets_the_same_answers_at_the_same_times(make: MakeWorld) -> None:
    world = make(trusted_proxies="testclient")
    known = _story(world, MANAGER, "wrong")
    unknown = _story(world, NOBODY, "wrong")
    assert [(c, a) for c, a, _ in unknown] == [(c, a) for c, a, _ in known]
    assert [t for _, _, t in unknown] == [t for _, _, t in known]


def test_a_failed_sign_in_costs_the_same_for_an_unknown_account_as_for_a_known_one(make: MakeWorld) -> None:
    world = make(login_rate="1000/minute", login_lockout_after=1000)
    timings: dict[str, list[float]] = {MANAGER: [], NOBODY: []}
    with TestClient(create_app(world.core, clock=world.clock)) as client:
        for _ in range(7):
            for email, seconds in timings.items():
                token = _token(client.get("/staff/login").text)
                started = time.perf_counter()
                r = client.post("/staff/login", data={"email": email, "password": "wrong", "csrf_token": token})
                seconds.append(time.perf_counter() - started)
                assert r.status_code == 401
    known, unknown = (statistics.median(timings[e]) for e in (MANAGER, NOBODY))
    assert 0.5 < unknown / known < 2, (known, unknown)
