"""`estatecare run` as a user starts it, in a subprocess whose console the test reads."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class RunProcess:
    """The running command and every line it printed so far (read by a background thread)."""

    proc: subprocess.Popen[str]
    env: dict[str, str]  # the environment it runs with (for `estatecare doctor` and the like)
    lines: list[str] = field(default_factory=list)
    reader: threading.Thread | None = None

    def wait(self, timeout: float) -> int:
        """Wait for the process to exit and its last lines to be read; its exit code."""
        code = self.proc.wait(timeout)
        if self.reader is not None:
            self.reader.join(10)
        return code

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def printed(self, text: str) -> bool:
        return any(text in line for line in self.lines)


def start_run(var_dir: Path, **settings: str) -> RunProcess:
    """`python -m estatecare run` with ESTATECARE_VAR_DIR and the given ESTATECARE_* settings
    (``web_port="8001"`` -> ``ESTATECARE_WEB_PORT``); no PREFECT_* from the test session leaks in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update({f"ESTATECARE_{k.upper()}": v for k, v in settings.items()})
    env.update({"ESTATECARE_VAR_DIR": str(var_dir), "PYTHONUNBUFFERED": "1"})
    proc = subprocess.Popen(
        [sys.executable, "-m", "estatecare", "run"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    run = RunProcess(proc, env)
    assert proc.stdout is not None
    run.reader = threading.Thread(target=lambda: run.lines.extend(iter(proc.stdout.readline, "")), daemon=True)  # type: ignore[union-attr]
    run.reader.start()
    return run


def demo_token(var_dir: Path, who: str) -> str:
    """The API token `estatecare run` seeded for the demo staff member ``who`` (``supervisor-ch``)."""
    for line in (var_dir / "demo-tokens-CH.txt").read_text(encoding="utf-8").splitlines():
        email, _, token = line.split("\t")
        if email.split("@")[0] == who:
            return token
    raise LookupError(f"no demo token for {who}")
