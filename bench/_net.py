"""What the benchmarks share on the local network: a free port and an SMTP sink process."""

from __future__ import annotations

import socket
import time
from typing import Any


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def serve_smtp(handler: Any, port: int, ready: Any) -> None:
    """Serve an aiosmtpd ``handler`` on 127.0.0.1:``port`` until this process is terminated;
    ``ready`` (a multiprocessing Event) is set once it listens. The body of a sink process."""
    from aiosmtpd.controller import Controller

    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()
