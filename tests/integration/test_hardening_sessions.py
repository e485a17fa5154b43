"""Staff sessions and the caught-mail pages, on real SQLite and PostgreSQL: ``/mail`` only
for signed-in staff and only with the embedded catcher (real emails caught by aiosmtpd);
sign-out and a password change end every session signed in before."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from estatecare.cli import app as cli
from estatecare.mailcatcher import MailCatcher
from estatecare.server import create_app
from estatecare.webapp.accounts import set_password
from notifications.sender import SmtpConfig, deliver_pending
from tests.lifecycle_support import DOMAIN, FORM, PASSWORD, World, make_world
from tests.smtp_server import free_port

COOKIE = "estatecare_session"


def _world(db_url: str, var: Path, **settings: Any) -> World:
    w = make_world(db_url, var, **settings)
    with w.core.transaction() as s:
        for who in ("manager", "engineering-1"):
            set_password(s, f"{who}-ch@{DOMAIN}", PASSWORD)
    return w


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def world(db_url: str, tmp_path: Path, smtp_port: int) -> World:
    """The default set-up: mail to 127.0.0.1, caught by the embedded catcher into var/mail."""
    return _world(db_url, tmp_path, smtp_port=smtp_port)


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    with TestClient(create_app(world.core), raise_server_exceptions=False) as c:
        yield c


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html[:500]
    return match.group(1)


def sign_in(client: TestClient, who: str, password: str = PASSWORD) -> None:
    token = _csrf(client.get("/staff/login").text)
    r = client.post(
        "/staff/login",
        data={"email": f"{who}-ch@{DOMAIN}", "password": password, "next": "/staff", "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/staff", r.text


def sign_out(client: TestClient) -> None:
    r = client.post("/staff/logout", data={"csrf_token": _csrf(client.get("/staff").text)}, follow_redirects=False)
    assert r.status_code == 303


def is_signed_in(client: TestClient) -> bool:
    r = client.get("/staff", follow_redirects=False)
    assert r.status_code in (200, 303), r.text
    return r.status_code == 200


def assigned_complaint_with_caught_mail(client: TestClient, world: World, smtp_port: int) -> str:
    """A complaint submitted online and assigned; its emails delivered to the real catcher."""
    page = client.get("/complaints/new")
    r = client.post("/complaints/new", data={**FORM, "csrf_token": _csrf(page.text)}, follow_redirects=False)
    assert r.status_code == 303, r.text
    reference = r.headers["location"].rsplit("/", 1)[-1]
    world.intake(reference)
    catcher = MailCatcher(world.core.settings.var_dir / "mail", port=smtp_port)
    catcher.start()
    try:
        report = asyncio.run(deliver_pending(world.core.sessions, SmtpConfig(port=smtp_port), "Asia/Shanghai"))
    finally:
        catcher.stop()
    assert report.sent
    return reference


# --------------------------------------------------------------------------- the caught-mail pages


def test_caught_mail_with_its_action_links_is_shown_only_to_signed_in_staff(
    client: TestClient, world: World, smtp_port: int
) -> None:
    reference = assigned_complaint_with_caught_mail(client, world, smtp_port)
    caught = sorted((world.core.settings.var_dir / "mail").glob("*.eml"))
    assert caught
    ids = [p.stem for p in caught]

    anonymous = client.get("/mail", follow_redirects=False)
    assert anonymous.status_code == 303, anonymous.text[:300]
    assert anonymous.headers["location"] == "/staff/login?next=%2Fmail"
    for mail_id in ids:
        one = client.get(f"/mail/{mail_id}", follow_redirects=False)
        assert one.status_code == 303 and one.headers["location"].startswith("/staff/login?")
        assert "?t=" not in one.text and "13900000001" not in one.text
    assert 'href="/mail"' not in client.get("/").text  # no link a visitor cannot follow

    # Signed in, the sign-in page leads back to the caught mail, which lists every message.
    token = _csrf(client.get("/staff/login?next=/mail").text)
    r = client.post(
        "/staff/login",
        data={"email": f"manager-ch@{DOMAIN}", "password": PASSWORD, "next": "/mail", "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/mail"
    listed = client.get("/mail")
    assert listed.status_code == 200 and all(f'href="/mail/{mail_id}"' in listed.text for mail_id in ids)
    bodies = [client.get(f"/mail/{mail_id}").text for mail_id in ids]
    assert any(f"/staff/complaints/{reference}/resolution?t=" in body for body in bodies)
    assert 'href="/mail"' in client.get("/").text


def test_with_a_real_mail_server_the_caught_mail_pages_do_not_exist(db_url: str, tmp_path: Path) -> None:
    world = _world(db_url, tmp_path, smtp_host="smtp.example.test", smtp_port=587)
    (tmp_path / "mail").mkdir()
    (tmp_path / "mail" / "20261102T010000000000-abcdef12.eml").write_bytes(b"Subject: left over\r\n\r\nhello\r\n")
    with TestClient(create_app(world.core), raise_server_exceptions=False) as client:
        for path in ("/mail", "/mail/20261102T010000000000-abcdef12"):
            assert client.get(path, follow_redirects=False).status_code == 404
        sign_in(client, "manager")
        for path in ("/mail", "/mail/20261102T010000000000-abcdef12"):
            assert client.get(path, follow_redirects=False).status_code == 404
        assert 'href="/mail"' not in client.get("/").text


# --------------------------------------------------------------------------- sessions


def test_a_cookie_copied_before_sign_out_no_longer_opens_staff_pages(client: TestClient, world: World) -> None:
    sign_in(client, "manager")
    copied = client.cookies[COOKIE]
    with TestClient(create_app(world.core), raise_server_exceptions=False) as other_device:
        sign_in(other_device, "manager")
        sign_out(client)
        assert not is_signed_in(client)
        with TestClient(create_app(world.core), raise_server_exceptions=False) as thief:
            thief.cookies.set(COOKIE, copied)
            r = thief.get("/staff", follow_redirects=False)
            assert r.status_code == 303 and r.headers["location"].startswith("/staff/login?")
            assert thief.get("/staff/register", follow_redirects=False).status_code == 303
        # Signing out ends every session of that person signed in before, not others' sessions.
        assert not is_signed_in(other_device)
    sign_in(client, "engineering-1")
    sign_in_again = TestClient(create_app(world.core), raise_server_exceptions=False)
    with sign_in_again:
        sign_in(sign_in_again, "manager")
        assert is_signed_in(sign_in_again)
        assert is_signed_in(client)


def test_a_password_change_from_the_cli_ends_every_session_signed_in_before(
    client: TestClient, world: World, db_url: str
) -> None:
    sign_in(client, "manager")
    assert is_signed_in(client)
    env = {"ESTATECARE_DATABASE_URL": db_url, "ESTATECARE_VAR_DIR": str(world.core.settings.var_dir)}
    new = "another long enough password"
    result = CliRunner().invoke(cli, ["staff", "set-password", f"manager-ch@{DOMAIN}", "--password", new], env=env)
    assert result.exit_code == 0, result.output
    assert not is_signed_in(client)
    sign_in(client, "manager", new)
    assert is_signed_in(client)
