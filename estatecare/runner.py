"""The main job on embedded defaults: ``estatecare run``.

Migrates, seeds demo data into an empty database, starts a local Prefect server with
its UI, prints where everything is and stops every child cleanly on Ctrl-C.
"""

from __future__ import annotations

import os
import signal
import threading
from types import FrameType

from estatecare import prefect_server
from estatecare.app import App
from estatecare.demo import database_is_empty, seed_demo
from estatecare.migrate import upgrade


def run() -> None:
    """Start everything and block until SIGINT or SIGTERM."""
    core = App.from_settings()
    settings = core.settings
    upgrade(settings.db_url)
    with core.transaction() as session:
        seeded = seed_demo(session, core.policy) if database_is_empty(session) else []
    if seeded:
        tokens = settings.var_dir / "demo-tokens-CH.txt"
        tokens.write_text("".join(f"{s.email}\t{s.role.value}\t{s.token}\n" for s in seeded), encoding="utf-8")
        tokens.chmod(0o600)
        print(f"demo data seeded ({len(seeded)} staff; API tokens in {tokens})", flush=True)

    env = prefect_server.prefect_env(settings.var_dir, settings.prefect_port)
    os.environ.update(env)
    api = env["PREFECT_API_URL"]
    print(f"starting the Prefect server (log: {settings.var_dir / 'prefect-server.log'}) ...", flush=True)
    server = prefect_server.start_server(settings.var_dir, settings.prefect_port)
    stop = threading.Event()

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    try:
        prefect_server.wait_healthy(api, proc=server)
        print(
            "Estate Care is running\n"
            f"  Prefect UI:  http://127.0.0.1:{settings.prefect_port}\n"
            f"  Prefect API: {api}\n"
            f"  database:    {settings.db_url}\n"
            f"  policy:      {settings.policy_file or 'shipped default (seed values)'}\n"
            "Press Ctrl-C to stop.",
            flush=True,
        )
        while not stop.wait(1.0):
            if server.poll() is not None:
                raise RuntimeError(f"the Prefect server exited with code {server.returncode}")
    finally:
        print("stopping ...", flush=True)
        prefect_server.stop_process(server)
        print("stopped.", flush=True)
