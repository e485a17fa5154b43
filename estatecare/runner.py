"""The main job on embedded defaults: ``estatecare run``.

Migrates, seeds demo data (three estates with a year of history) into an empty database,
then supervises four processes: the local mail catcher, a local Prefect server with its UI,
the web app (REST API, dispatcher, intake sweep) and the flow server (every deployment and
schedule). It prints
"running" once every one of them answers, restarts one that dies (the others keep
serving) and stops them all cleanly on Ctrl-C.
"""

from __future__ import annotations

import signal
import socket
import threading
import time
from datetime import UTC, datetime
from types import FrameType

import httpx

from estatecare import mailcatcher, prefect_server
from estatecare.app import App
from estatecare.demo import database_is_empty, write_demo_tokens
from estatecare.demo.history import seed_demo_world
from estatecare.migrate import upgrade
from estatecare.settings import Settings
from estatecare.supervisor import Child, Supervisor
from estatecare.webapp.accounts import write_demo_passwords

#: How long the first start may take before "running" (the Prefect server's first start migrates its database).
START_TIMEOUT = 300.0


def run() -> None:
    """Start everything and block until SIGINT or SIGTERM."""
    core = App.from_settings()
    settings = core.settings
    upgrade(settings.db_url)
    seed_world(core)
    core.engine.dispose()

    env = prefect_server.prefect_env(settings.var_dir, settings.prefect_port)
    api = env["PREFECT_API_URL"]
    catcher = mailcatcher.for_settings(settings)
    mail = f"smtp://{settings.smtp_host}:{settings.smtp_port}"
    if catcher is not None and not mailcatcher.port_is_free(catcher):
        print(f"mail catcher not started ({catcher.address} is taken); mail goes to whatever listens there", flush=True)
        catcher = None
    if catcher is not None:
        mail = f"{catcher.address} (caught in {catcher.directory}; `estatecare mail list`)"
    supervisor = Supervisor(children(settings, api, with_catcher=catcher is not None), env)

    stop = threading.Event()

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    web = f"http://{settings.web_host}:{settings.web_port}"
    print(f"starting (logs: {settings.var_dir}/*.log) ...", flush=True)
    try:
        until = time.monotonic() + START_TIMEOUT
        while not stop.is_set() and not supervisor.all_ready():
            if time.monotonic() > until:
                late = ", ".join(c.name for c in supervisor.children if not c.is_ready)
                raise TimeoutError(f"{late} did not answer within {START_TIMEOUT:.0f} s; see the logs under var/")
            supervisor.watch()
            stop.wait(0.5)
        if stop.is_set():
            return
        print(
            "Estate Care is running\n"
            f"  Prefect UI:  http://127.0.0.1:{settings.prefect_port}\n"
            f"  Prefect API: {api}\n"
            f"  REST API:    {web}/docs\n"
            f"  web app:     {web}/  (caught mail: /mail)\n"
            f"  health:      {web}/api/health  (or: estatecare doctor)\n"
            f"  database:    {settings.db_url}\n"
            f"  policy:      {settings.policy_file or 'shipped default (seed values)'}\n"
            f"  mail:        {mail}\n"
            f"  logs:        {settings.var_dir}/*.log\n"
            "Press Ctrl-C to stop.",
            flush=True,
        )
        while not stop.wait(1.0):
            supervisor.watch()
    finally:
        print("stopping ...", flush=True)
        supervisor.stop_all()
        print("stopped.", flush=True)


def seed_world(core: App) -> None:
    """Seed the demo estates with a year of history into an empty database, and list each estate's
    API tokens and web sign-in passwords under var/ (the company-wide leaders with the first)."""
    started = time.monotonic()
    with core.transaction() as session:
        seeded = seed_demo_world(session, core, datetime.now(UTC)) if database_is_empty(session) else {}
    if not seeded:
        return
    count = sum(len(staff) for staff in seeded.values())
    print(
        f"demo data seeded in {time.monotonic() - started:.0f} s: {len(seeded)} estates with a year of complaints, "
        f"work orders, monthly draws and reports ({count} staff)",
        flush=True,
    )
    for code, staff in seeded.items():
        tokens = write_demo_tokens(core.settings.var_dir, code, staff)
        print(
            f"  {code}: API tokens in {tokens}; web app sign-in passwords in {write_demo_passwords(core, code)}",
            flush=True,
        )


def children(settings: Settings, api: str, *, with_catcher: bool) -> list[Child]:
    """The supervised processes, in start order (stopped in reverse)."""
    logs = settings.var_dir
    web_host = "127.0.0.1" if settings.web_host in ("0.0.0.0", "::", "") else settings.web_host  # noqa: S104
    found = [
        Child(
            "the Prefect server",
            prefect_server.server_args(settings.prefect_port),
            logs / "prefect-server.log",
            lambda _c: _answers(f"{api}/health"),
        ),
        Child(
            "the web app",
            ["estatecare", "web"],
            logs / "web.log",
            lambda _c: _answers(f"http://{web_host}:{settings.web_port}/healthz"),
        ),
        Child(
            "the flow server",
            ["estatecare", "serve-flows"],
            logs / "flows.log",
            lambda c: _polled_since(api, c.started_at),
            needs="the Prefect server",
        ),
    ]
    if with_catcher:
        catcher = Child(
            "the mail catcher",
            ["estatecare", "mail", "catch"],
            logs / "mail-catcher.log",
            lambda _c: _smtp_answers(settings.smtp_host, settings.smtp_port),
        )
        found.insert(0, catcher)
    return found


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _smtp_answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2) as conn:
            return conn.recv(64).startswith(b"220")
    except OSError:
        return False


def _polled_since(api: str, started_at: float) -> bool:
    """The flow server has registered its deployments and polled for their runs since it started."""
    from deployments.lifecycle import full_name
    from flows.deliver_outbox import deliver_outbox_flow

    try:
        response = httpx.get(f"{api}/deployments/name/{full_name(deliver_outbox_flow)}", timeout=2)
    except httpx.HTTPError:
        return False
    polled = response.json().get("last_polled") if response.status_code == 200 else None
    if not polled:
        return False
    at = datetime.fromisoformat(polled)
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp() >= started_at - 1
