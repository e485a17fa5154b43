"""The Prefect task and flow on the session's Prefect test server."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from prefect import flow
from sqlalchemy.orm import Session, sessionmaker

from estatecare.db import make_engine, make_session_factory
from estatecare.migrate import upgrade
from flows.deliver_outbox import deliver_outbox_flow
from tasks.delivery import deliver_outbox
from tests.integration.test_delivery import queue_acks
from tests.smtp_server import SmtpTestServer


@pytest.mark.prefect
def test_a_permanent_failure_ends_the_delivery_task_and_flow_failed_and_the_rest_is_sent(
    prefect_api: str, tmp_path: Path, smtp_server: SmtpTestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'estatecare.db'}"
    upgrade(url)
    engine = make_engine(url)
    sessions: sessionmaker[Session] = make_session_factory(engine)
    ids = queue_acks(sessions, 4)
    smtp_server.reject["r2@example.com"] = 550
    monkeypatch.setenv("ESTATECARE_DATABASE_URL", url)
    monkeypatch.setenv("ESTATECARE_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("ESTATECARE_SMTP_PORT", str(smtp_server.port))

    @flow
    async def one_task() -> tuple[bool, str]:
        state = await deliver_outbox(return_state=True)  # type: ignore[misc]
        return state.is_failed(), str(state.message)

    failed, message = asyncio.run(one_task())
    assert failed and "550" in message
    assert len(smtp_server.messages) == 3 and smtp_server.rcpt_attempts["r2@example.com"] == 1

    queue_acks(sessions, 2, prefix="s")
    flow_state = asyncio.run(deliver_outbox_flow(return_state=True))  # type: ignore[call-overload]
    assert flow_state.is_completed()  # nothing failed in this run: the failed row is not retried
    assert len(smtp_server.messages) == 5 and smtp_server.rcpt_attempts["r2@example.com"] == 1
    smtp_server.reject["s9@example.com"] = 550
    queue_acks(sessions, 10, prefix="s")  # s0, s1 exist already (idempotent); s9 is refused
    flow_state = asyncio.run(deliver_outbox_flow(return_state=True))  # type: ignore[call-overload]
    assert flow_state.is_failed()
    assert ids and len(smtp_server.messages) == 12
    engine.dispose()
