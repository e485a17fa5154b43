"""A local Prefect server as a child process, for the embedded default."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx


def prefect_env(var_dir: Path, port: int) -> dict[str, str]:
    """Environment for a local Prefect server and its clients, kept under ``var_dir``."""
    home = (var_dir / "prefect").resolve()
    home.mkdir(parents=True, exist_ok=True)
    return {
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_API_HOST": "127.0.0.1",
        "PREFECT_SERVER_API_PORT": str(port),
        "PREFECT_UI_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_LOGGING_LEVEL": os.environ.get("PREFECT_LOGGING_LEVEL", "INFO"),
    }


def wait_healthy(api_url: str, timeout: float = 120.0, proc: subprocess.Popen[bytes] | None = None) -> None:
    """Block until ``{api_url}/health`` answers, or raise with the reason."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the Prefect server exited with code {proc.returncode}; see its log")
        try:
            if httpx.get(f"{api_url}/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"the Prefect server at {api_url} did not answer within {timeout:.0f} s")


def start_child(
    args: list[str], log_path: Path, env: dict[str, str], *, die_with_parent: bool = False
) -> subprocess.Popen[bytes]:
    """Start ``python -m ARGS`` in its own process group, logging to ``log_path`` (created mode 600).
    ``die_with_parent``: on Linux the child gets SIGTERM when this process dies, even by SIGKILL,
    so no orphan keeps a port that the next start needs."""
    with open(os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), "ab") as log:
        return subprocess.Popen(  # noqa: S603 (our own interpreter, fixed arguments)
            [sys.executable, "-m", *args],
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_term_when_parent_dies if die_with_parent and sys.platform == "linux" else None,
        )


def _term_when_parent_dies() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def server_args(port: int) -> list[str]:
    """``python -m`` arguments of a local Prefect server on ``port``."""
    return ["prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)]


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    """SIGTERM the process group, then SIGKILL if it lingers."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    except ProcessLookupError:
        pass
