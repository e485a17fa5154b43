"""The embedded mail catcher and `estatecare mail ...`."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from estatecare.cli import app
from estatecare.db import make_engine, make_session_factory
from estatecare.mailcatcher import MailCatcher
from estatecare.migrate import upgrade
from notifications.sender import SmtpConfig, deliver_pending
from tests.integration.test_delivery import queue_acks
from tests.smtp_server import free_port


def test_the_mail_catcher_stores_messages_and_the_cli_lists_and_shows_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'estatecare.db'}"
    upgrade(url)
    engine = make_engine(url)
    sessions: sessionmaker[Session] = make_session_factory(engine)
    queue_acks(sessions, 3)
    port = free_port()
    catcher = MailCatcher(tmp_path / "mail", port=port)
    catcher.start()
    try:
        report = asyncio.run(deliver_pending(sessions, SmtpConfig(port=port), "Asia/Hong_Kong"))
    finally:
        catcher.stop()
    engine.dispose()
    assert len(report.sent) == 3
    files = sorted((tmp_path / "mail").glob("*.eml"))
    assert len(files) == 3

    monkeypatch.setenv("ESTATECARE_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("ESTATECARE_DATABASE_URL", url)
    runner = CliRunner()
    listed = runner.invoke(app, ["mail", "list"])
    assert listed.exit_code == 0, listed.output
    lines = listed.output.strip().splitlines()
    assert len(lines) == 3 and all("我們已收到您的投訴（CH-2026-0042）" in line for line in lines)
    assert lines[0].split()[0] == files[-1].stem  # newest first
    shown = runner.invoke(app, ["mail", "show", files[0].stem])
    assert shown.exit_code == 0, shown.output
    assert "Subject: 我們已收到您的投訴（CH-2026-0042）" in shown.output
    assert "您的投訴已登記，編號為 CH-2026-0042" in shown.output  # the text part, decoded
    failed = runner.invoke(app, ["mail", "failed"])
    assert failed.exit_code == 0 and "no failed notifications" in failed.output
