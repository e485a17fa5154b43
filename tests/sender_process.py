"""A sender running in its own process, for the two-process delivery test (light imports)."""

from __future__ import annotations

import asyncio
from typing import Any

from estatecare.db import make_engine, make_session_factory
from notifications.sender import SmtpConfig, deliver_pending


def deliver_in_batches(url: str, port: int, barrier: Any) -> list[int]:
    """Wait for the other sender, then sweep in batches of 10 until nothing is due; the ids sent."""
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    config = SmtpConfig(host="127.0.0.1", port=port, timeout=10, connections=2)
    with engine.connect():
        pass
    barrier.wait(60)
    sent: list[int] = []
    try:
        while True:
            report = asyncio.run(deliver_pending(sessions, config, "Asia/Shanghai", limit=10))
            sent += report.sent
            if report.claimed == 0:
                return sent
    finally:
        engine.dispose()
