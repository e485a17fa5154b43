"""End to end: the monthly flows on a real Prefect server, mail to a real SMTP server."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

from estatecare import runtime
from flows.monthly_sampling import monthly_sampling_flow
from flows.monthly_summary import monthly_summary_flow
from tests.integration.test_monthly import _estate, _hand_data, _orders, local
from tests.lifecycle_support import World, make_world
from tests.smtp_server import SmtpTestServer

pytestmark = pytest.mark.prefect


@pytest.fixture
def world(prefect_api: str, smtp_server: SmtpTestServer, tmp_path: Path) -> Iterator[World]:
    w = make_world(f"sqlite:///{tmp_path / 'e2e.db'}", tmp_path, smtp_port=smtp_server.port)
    runtime.use_app(w.core)
    runtime.use_clock(w.clock)
    yield w
    runtime.use_app(None)
    runtime.use_clock(None)


def received(smtp: SmtpTestServer, to: str) -> list[EmailMessage]:
    with smtp.lock:
        return [m for m in smtp.messages if to in str(m["To"])]


async def artifact(key: str) -> object:
    async with get_client() as client:
        found = await client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))
    assert found, f"no artifact {key}"
    return found[0].data


def test_the_sampling_flow_draws_once_emails_the_list_and_shows_a_table(
    world: World, smtp_server: SmtpTestServer
) -> None:
    core = world.core
    _orders(core, _estate(core), [local(2026, 11, d, 10) for d in range(1, 26)])
    world.clock.now = local(2026, 11, 30, 18, 0)  # the schedule's moment (R-RV-6)
    assert asyncio.run(monthly_sampling_flow()) == 8  # 25 orders: 30 % rounded up
    assert asyncio.run(monthly_sampling_flow("2026-11")) == 8  # the same draw again
    (mail,) = received(smtp_server, "service-ch@")
    assert "WO-CH" in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert len(received(smtp_server, "manager-ch@")) == 1
    table = asyncio.run(artifact("sample-list-2026-11"))
    assert isinstance(table, str) and table.count("WO-CH") == 8


def test_the_summary_flow_emails_leadership_once_with_the_spreadsheet(
    world: World, smtp_server: SmtpTestServer
) -> None:
    _hand_data(world.core)
    world.clock.now = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)  # 09:00 on the 1st in Shanghai
    assert asyncio.run(monthly_summary_flow()) == 2  # November, to the deputy GM and the GM
    assert asyncio.run(monthly_summary_flow()) == 0  # not twice
    with smtp_server.lock:
        (gm,) = [m for m in smtp_server.messages if m["To"].addresses[0].addr_spec == "gm@estatecare.localhost"]
    attachments = [p.get_filename() for p in gm.iter_attachments()]
    assert attachments == ["monthly-revisit-statistics-2026-11.xlsx"]
    assert asyncio.run(monthly_summary_flow("2026-11", force=True)) == 2
    markdown = asyncio.run(artifact("monthly-summary-2026-11"))
    assert isinstance(markdown, str) and "維修滿意率" in markdown and "未達標" in markdown
