"""Keep child processes running: start each, restart one that dies (with a backoff and a
log line) while the others go on serving, and stop them all in reverse order.

``estatecare run`` supervises the mail catcher, the Prefect server, the web app and the
flow server with it. Each child runs in a process group of its own, so a Ctrl-C in the
terminal reaches only the supervisor, which then stops the children cleanly.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from estatecare.prefect_server import start_child, stop_process

#: Waits before restart number 1, 2, 3, ...; the last one repeats.
BACKOFF = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 60.0)
#: A child that has run this long since its last start counts as healthy again: the backoff starts over.
STABLE_AFTER = 120.0


@dataclass
class Child:
    """One supervised command: ``python -m ARGS``, logging to ``log``; ``ready`` probes that it serves."""

    name: str
    args: list[str]
    log: Path
    ready: Callable[[Child], bool]
    needs: str | None = None  # the name of a child that must answer before this one starts
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0  # time.time() of the last start
    restarts: int = 0  # restarts in a row without a stable run between them
    restart_at: float | None = None  # monotonic time of the pending restart
    is_ready: bool = False

    @property
    def running(self) -> bool:
        """The process exists and has not exited."""
        return self.proc is not None and self.proc.poll() is None


@dataclass
class Supervisor:
    """Starts, watches and stops ``children`` (in their order; stopped in reverse)."""

    children: list[Child]
    env: dict[str, str]
    say: Callable[[str], None] = field(default=lambda line: print(line, flush=True))

    def start(self, child: Child) -> None:
        """Start ``child`` in a process group of its own, appending to its log."""
        child.log.parent.mkdir(parents=True, exist_ok=True)
        child.proc = start_child(child.args, child.log, self.env, die_with_parent=True)
        child.started_at = time.time()
        child.restart_at = None
        child.is_ready = False

    def probe(self, child: Child) -> bool:
        """Whether ``child`` runs and answers; logs when it comes back after a restart."""
        if not child.running:
            return False
        if not child.is_ready:
            try:
                child.is_ready = child.ready(child)
            except Exception:
                child.is_ready = False
            if child.is_ready and child.restarts:
                self.say(f"{_stamp()} {child.name} is back (pid {child.proc.pid if child.proc else '?'})")
        return child.is_ready

    def watch(self) -> None:
        """One round: start the children whose prerequisite answers, restart the ones that
        died once their backoff has passed."""
        now = time.monotonic()
        for child in self.children:
            if child.proc is None:
                needed = next((c for c in self.children if c.name == child.needs), None)
                if needed is None or self.probe(needed):
                    self.start(child)
                continue
            code = child.proc.poll()
            if code is None:
                self.probe(child)
                if child.restarts and time.time() - child.started_at > STABLE_AFTER:
                    child.restarts = 0
                continue
            if child.restart_at is None:
                wait = BACKOFF[min(child.restarts, len(BACKOFF) - 1)]
                child.restarts += 1
                child.restart_at = now + wait
                child.is_ready = False
                self.say(
                    f"{_stamp()} {child.name} exited ({_exit(code)}); restarting in {wait:.0f} s"
                    f" (restart {child.restarts} in a row; log: {child.log})"
                )
            elif now >= child.restart_at:
                self.start(child)

    def all_ready(self) -> bool:
        """Every child runs and answers."""
        return all([self.probe(c) for c in self.children])

    def stop_all(self, timeout: float = 20.0) -> None:
        """SIGTERM each child's process group in reverse order; SIGKILL one that lingers."""
        for child in reversed(self.children):
            if child.proc is not None:
                stop_process(child.proc, timeout)


def _exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"code {code}"


def _stamp() -> str:
    return datetime.now().strftime("%H:%M:%S")
