"""The main job on embedded defaults: ``estatecare run``.

Migrates, seeds demo data into an empty database, starts a local Prefect server with its
UI, the web process (REST API, dispatcher, intake sweep) and the flow server (every
deployment and schedule), prints where everything is and stops every child cleanly on
Ctrl-C.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from types import FrameType

from estatecare import mailcatcher, prefect_server
from estatecare.app import App
from estatecare.demo import database_is_empty, seed_demo
from estatecare.migrate import upgrade
from estatecare.webapp.accounts import write_demo_passwords


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
        print(f"web app sign-in passwords in {write_demo_passwords(core)}", flush=True)

    catcher = mailcatcher.start_for(settings)
    env = prefect_server.prefect_env(settings.var_dir, settings.prefect_port)
    os.environ.update(env)
    api = env["PREFECT_API_URL"]
    print(f"starting the Prefect server (log: {settings.var_dir / 'prefect-server.log'}) ...", flush=True)
    children: dict[str, subprocess.Popen[bytes]] = {
        "the Prefect server": prefect_server.start_server(settings.var_dir, settings.prefect_port)
    }
    stop = threading.Event()

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    mail = f"smtp://{settings.smtp_host}:{settings.smtp_port}"
    if catcher is not None:
        mail = f"{catcher.address} (caught in {catcher.directory}; `estatecare mail list`)"
    try:
        prefect_server.wait_healthy(api, proc=children["the Prefect server"])
        children["the web process"] = prefect_server.start_child(
            ["estatecare", "web"], settings.var_dir / "web.log", env
        )
        children["the flow server"] = prefect_server.start_child(
            ["estatecare", "serve-flows"], settings.var_dir / "flows.log", env
        )
        print(
            "Estate Care is running\n"
            f"  Prefect UI:  http://127.0.0.1:{settings.prefect_port}\n"
            f"  Prefect API: {api}\n"
            f"  REST API:    http://{settings.web_host}:{settings.web_port}/docs\n"
            f"  web app:     http://{settings.web_host}:{settings.web_port}/  (caught mail: /mail)\n"
            f"  database:    {settings.db_url}\n"
            f"  policy:      {settings.policy_file or 'shipped default (seed values)'}\n"
            f"  mail:        {mail}\n"
            f"  logs:        {settings.var_dir}/*.log\n"
            "Press Ctrl-C to stop.",
            flush=True,
        )
        while not stop.wait(1.0):
            for name, child in children.items():
                if child.poll() is not None:
                    raise RuntimeError(f"{name} exited with code {child.returncode}; see its log under var/")
    finally:
        print("stopping ...", flush=True)
        for child in reversed(list(children.values())):
            prefect_server.stop_process(child)
        if catcher is not None:
            catcher.stop()
        print("stopped.", flush=True)
