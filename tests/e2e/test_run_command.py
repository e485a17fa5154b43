"""The README's run command: starts, prints the Prefect UI address, stops cleanly on Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_run_starts_prints_the_prefect_ui_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    web_port = free_port()
    env = {
        "ESTATECARE_WEB_PORT": str(web_port),
        **os.environ,
        "ESTATECARE_VAR_DIR": str(tmp_path / "var"),
        "ESTATECARE_PREFECT_PORT": str(port),
        "ESTATECARE_SMTP_PORT": str(free_port()),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("PREFECT_API_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "estatecare", "run"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 180
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Press Ctrl-C to stop." in line:
                break
        output = "".join(lines)
        match = re.search(r"Prefect UI:\s+(http://127\.0\.0\.1:\d+)", output)
        assert match, output
        assert match.group(1) == f"http://127.0.0.1:{port}"
        assert "demo data seeded" in output
        assert re.search(r"mail: +smtp://127\.0\.0\.1:\d+ \(caught in ", output), output
        assert httpx.get(match.group(1), timeout=10).status_code == 200
        assert httpx.get(f"{match.group(1)}/api/health", timeout=10).json() is True
        assert f"web app:     http://127.0.0.1:{web_port}/" in output
        assert "web app sign-in passwords in " in output
        home = _wait_for_page(f"http://127.0.0.1:{web_port}/")
        assert "我要投訴" in home.text and 'href="/mail"' in home.text
        assert _wait_for_page(f"http://127.0.0.1:{web_port}/mail").status_code == 200
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, rest
    assert rest.rstrip().endswith("stopped.")
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0, "the Prefect server is still listening after Ctrl-C"


def _wait_for_page(url: str, timeout: float = 90.0) -> httpx.Response:
    """The web process starts after the Prefect server is healthy: wait for its first answer."""
    until = time.monotonic() + timeout
    while True:
        try:
            response = httpx.get(url, timeout=5)
            if response.status_code == 200:
                return response
        except httpx.HTTPError:
            if time.monotonic() > until:
                raise
        if time.monotonic() > until:
            raise AssertionError(f"{url} did not answer 200 within {timeout:.0f} s")
        time.sleep(0.5)
