"""A local SMTP server for the embedded default: every message is kept as an .eml file.

``estatecare run`` starts it (``estatecare mail catch``, a process of its own) when mail
goes to this machine (ESTATECARE_SMTP_HOST is localhost and ESTATECARE_MAIL_CATCHER is
true); ``estatecare mail list/show`` read it.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import threading
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from estatecare.settings import Settings

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class _Store:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd hook
        data: bytes = envelope.original_content or envelope.content
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
        path = self.directory / f"{stamp}-{uuid.uuid4().hex[:8]}.eml"
        await asyncio.to_thread(path.write_bytes, data)
        return "250 Message accepted for delivery"


class MailCatcher:
    """aiosmtpd on ``host:port`` writing each message to ``directory``/<time>-<id>.eml."""

    def __init__(self, directory: Path, host: str = "127.0.0.1", port: int = 1025) -> None:
        self.directory = directory
        self.host = host
        self.port = port
        self._controller: Controller | None = None

    @property
    def address(self) -> str:
        """``smtp://host:port``."""
        return f"smtp://{self.host}:{self.port}"

    def start(self) -> None:
        """Listen in a background thread."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self._controller = Controller(_Store(self.directory), hostname=self.host, port=self.port)
        self._controller.start()

    def stop(self) -> None:
        """Stop listening."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


def mail_dir(settings: Settings) -> Path:
    """Where caught mail is kept."""
    return settings.var_dir / "mail"


def for_settings(settings: Settings) -> MailCatcher | None:
    """The catcher ``settings`` ask for, or None when mail goes to a real server."""
    if not settings.mail_catcher or settings.smtp_host not in LOCAL_HOSTS:
        return None
    host = "127.0.0.1" if settings.smtp_host == "localhost" else settings.smtp_host
    return MailCatcher(mail_dir(settings), host=host, port=settings.smtp_port)


def port_is_free(catcher: MailCatcher) -> bool:
    """False when something already listens on the catcher's address (MailHog, Mailpit, an
    earlier run): mail then goes there, which is what the operator wants."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((catcher.host, catcher.port))
        except OSError:
            return False
    return True


def serve(settings: Settings) -> None:
    """Run the catcher ``settings`` ask for until SIGTERM or SIGINT (``estatecare mail catch``)."""
    catcher = for_settings(settings)
    if catcher is None:
        raise SystemExit("no mail catcher: ESTATECARE_SMTP_HOST is not this machine or ESTATECARE_MAIL_CATCHER=false")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    catcher.start()
    print(f"catching mail at {catcher.address} in {catcher.directory}", flush=True)
    try:
        stop.wait()
    finally:
        catcher.stop()
