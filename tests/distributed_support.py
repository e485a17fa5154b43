"""A distributed Estate Care on this machine, for the distributed-mode and fault tests.

PostgreSQL holds both our data and the Prefect server's; the deployments are registered
on a process work pool (``estatecare deploy --pool``); two ``prefect worker start``
processes run the flows; ``estatecare web`` takes complaints and starts deployment runs
(``ESTATECARE_DISPATCH=deployments``). Mail goes to a real aiosmtpd server in the test
process. Every process is real and can be stopped, restarted or killed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.engine import make_url

from estatecare import prefect_server
from estatecare.app import App
from estatecare.demo import seed_demo
from estatecare.migrate import upgrade
from estatecare.settings import Settings
from models import Assignment, Complaint, ComplaintEvent, Notification
from models.enums import NotificationStatus
from tests.lifecycle_support import trusting_policy
from tests.smtp_server import SmtpTestServer, free_port

POOL = "estatecare-test"


def wait_for(what: str, check: Callable[[], bool], timeout: float, every: float = 0.5) -> None:
    """Poll ``check`` until it holds, or fail naming ``what``."""
    until = time.monotonic() + timeout
    while time.monotonic() < until:
        if check():
            return
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@dataclass
class Cluster:
    """The processes of a distributed deployment and the databases they share."""

    tmp: Path
    admin: Engine
    db_url: str
    prefect_db_url: str
    smtp: SmtpTestServer
    env: dict[str, str] = field(default_factory=dict)
    server: subprocess.Popen[bytes] | None = None
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    web: subprocess.Popen[bytes] | None = None
    base: str = ""
    engine: Engine | None = None
    names: list[str] = field(default_factory=list)

    # ------------------------------------------------------------------ set-up

    @classmethod
    def create(cls, admin: Engine, tmp: Path, smtp: SmtpTestServer) -> Cluster:
        """Two new PostgreSQL databases (ours, the Prefect server's); ours migrated and seeded."""
        suffix = uuid.uuid4().hex[:8]
        ours, theirs = f"estatecare_dist_{suffix}", f"prefect_dist_{suffix}"
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{ours}"'))
            conn.execute(text(f'CREATE DATABASE "{theirs}"'))
        base_url = make_url(admin.url.render_as_string(hide_password=False))
        db_url = base_url.set(drivername="postgresql+psycopg", database=ours).render_as_string(hide_password=False)
        prefect_db = base_url.set(drivername="postgresql+asyncpg", database=theirs).render_as_string(
            hide_password=False
        )
        cluster = cls(tmp=tmp, admin=admin, db_url=db_url, prefect_db_url=prefect_db, smtp=smtp, names=[ours, theirs])
        upgrade(db_url)
        policy = trusting_policy(tmp)  # the rules assess alone: the subject is the distributed intake
        core = App.from_settings(Settings(database_url=db_url, var_dir=tmp, policy_file=policy))
        with core.transaction() as s:
            seed_demo(s, core.policy)
        core.engine.dispose()
        cluster.engine = create_engine(db_url, pool_pre_ping=True)
        prefect_port, web_port = free_port(), free_port()
        cluster.base = f"http://127.0.0.1:{web_port}"
        cluster.env = {
            **prefect_server.prefect_env(tmp, prefect_port),
            "PREFECT_API_DATABASE_CONNECTION_URL": prefect_db,
            "PREFECT_UI_ENABLED": "false",
            "PREFECT_WORKER_QUERY_SECONDS": "5",  # ~3 min of tolerance for a server restart
            "PREFECT_WORKER_PREFETCH_SECONDS": "5",
            "PREFECT_LOGGING_LEVEL": "INFO",
            "ESTATECARE_DATABASE_URL": db_url,
            "ESTATECARE_VAR_DIR": str(tmp),
            "ESTATECARE_POLICY_FILE": str(policy),
            "ESTATECARE_WEB_PORT": str(web_port),
            "ESTATECARE_SMTP_PORT": str(smtp.port),
            # hundreds of complaints from this one address: no intake limit in the way
            "ESTATECARE_PUBLIC_FORM_RATE": "100000/minute",
            "ESTATECARE_PUBLIC_TOTAL_RATE": "100000/minute",
            "ESTATECARE_MAIL_CATCHER": "false",
            "ESTATECARE_DISPATCH": "deployments",
            "ESTATECARE_SWEEP_EVERY_SECONDS": "5",
            "ESTATECARE_SWEEP_AGE_SECONDS": "15",
            "ESTATECARE_INTAKE_LEASE_SECONDS": "20",
            "ESTATECARE_SEND_LEASE_SECONDS": "30",
        }
        return cluster

    def start(self) -> None:
        """Prefect server, the deployments on the pool, two workers, the web process."""
        self.start_server()
        deploy = subprocess.run(
            [sys.executable, "-m", "estatecare", "deploy", "--pool", POOL],
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert deploy.returncode == 0, deploy.stdout + deploy.stderr
        assert "intake/intake -> pool" in deploy.stdout, deploy.stdout
        for name in ("w1", "w2"):
            self.start_worker(name)
        self.web = prefect_server.start_child(["estatecare", "web"], self.tmp / "web.log", self.env)
        wait_for("the web process", self._web_up, 120)

    def _web_up(self) -> bool:
        assert self.web is not None
        if self.web.poll() is not None:
            raise RuntimeError(f"the web process exited with code {self.web.returncode}:\n{self.log('web')}")
        try:
            return httpx.get(f"{self.base}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def start_server(self) -> None:
        """``prefect server start`` on PostgreSQL (the same port and database every time)."""
        port = self.env["PREFECT_SERVER_API_PORT"]
        self.server = prefect_server.start_child(
            ["prefect", "server", "start", "--host", "127.0.0.1", "--port", port],
            self.tmp / "prefect-server.log",
            self.env,
        )
        prefect_server.wait_healthy(self.env["PREFECT_API_URL"], timeout=240, proc=self.server)

    def stop_server(self) -> None:
        """Stop the Prefect server (SIGTERM to its process group)."""
        if self.server is not None:
            prefect_server.stop_process(self.server)
            self.server = None

    def start_worker(self, name: str) -> None:
        """One ``prefect worker start`` on the pool, one flow run at a time."""
        self.workers[name] = prefect_server.start_child(
            ["prefect", "worker", "start", "--pool", POOL, "--type", "process", "--name", name, "--limit", "1"],
            self.tmp / f"worker-{name}.log",
            self.env,
        )

    def kill_worker(self, name: str) -> None:
        """SIGKILL the worker's process group: the worker and the flow run it is running."""
        proc = self.workers.pop(name)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)

    def stop(self) -> None:
        """Stop every process (flow runs included) and drop both databases."""
        runs = [pid for w in self.workers.values() for pid in descendants(w.pid)]
        procs = [self.web, *self.workers.values(), self.server]
        for proc in procs:
            if proc is not None:
                prefect_server.stop_process(proc)
        for pid in runs:  # a flow-run process has its own session: it outlives its worker
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self.engine is not None:
            self.engine.dispose()
        with self.admin.connect() as conn:
            for name in self.names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def log(self, name: str, tail: int = 4000) -> str:
        """The end of a process's log (``web``, ``prefect-server``, ``worker-w1`` ...)."""
        path = self.tmp / f"{name}.log"
        return path.read_text(errors="replace")[-tail:] if path.exists() else ""

    def logs(self) -> str:
        """The ends of every log, for failure messages."""
        names = ["web", "prefect-server", *(f"worker-{w}" for w in ("w1", "w2"))]
        return "\n".join(f"--- {n}.log\n{self.log(n, 2500)}" for n in names)

    # ------------------------------------------------------------------ traffic

    def post(
        self, n: int, *, tag: str, concurrency: int = 20, retry_503: bool = True
    ) -> tuple[list[str], Counter[int]]:
        """POST ``n`` distinct complaints (no two are duplicates of each other); returns the
        references and how many times each status code was answered."""

        async def go() -> tuple[list[str], Counter[int]]:
            refs: list[str] = []
            codes: Counter[int] = Counter()
            gate = asyncio.Semaphore(concurrency)
            async with httpx.AsyncClient(base_url=self.base, timeout=60) as client:

                async def one(i: int) -> None:
                    body = {
                        "estate": "CH",
                        "content": f"水管漏水 {tag} {i} {uuid.uuid4().hex}",
                        "complainant_name": "陳先生",
                        "contact_email": f"{tag}-{i}@example.test",
                    }
                    async with gate:
                        for _ in range(20):
                            r = await client.post("/api/complaints", json=body)
                            codes[r.status_code] += 1
                            if r.status_code == 503 and retry_503:
                                await asyncio.sleep(0.5)
                                continue
                            break
                    if r.status_code == 201:
                        refs.append(r.json()["reference"])

                await asyncio.gather(*(one(i) for i in range(n)))
            return refs, codes

        return asyncio.run(go())

    def scalar(self, stmt: Any) -> Any:
        assert self.engine is not None
        with self.engine.connect() as conn:
            return conn.execute(stmt).scalar()

    def rows(self, stmt: Any) -> list[Any]:
        assert self.engine is not None
        with self.engine.connect() as conn:
            return list(conn.execute(stmt).all())

    def done(self, refs: list[str]) -> int:
        """How many of ``refs`` are through intake."""
        return int(
            self.scalar(
                select(func.count()).select_from(Complaint).where(Complaint.reference.in_(refs), Complaint.intake_done)
            )
        )

    def all_mail_out(self, refs: list[str]) -> bool:
        """Every notification of ``refs`` is sent and arrived at the SMTP server."""
        rows = self.rows(
            select(Notification.status, Notification.message_id)
            .join(Complaint, Complaint.id == Notification.complaint_id)
            .where(Complaint.reference.in_(refs))
        )
        if not rows or any(status != NotificationStatus.SENT.value for status, _ in rows):
            return False
        arrived = self.smtp.message_ids()
        return all(arrived[mid] >= 1 for _, mid in rows)

    def wait_processed(self, refs: list[str], timeout: float = 300) -> None:
        """Until every complaint of ``refs`` is through intake and its mail has arrived."""
        wait_for(
            f"{len(refs)} complaints processed and mailed",
            lambda: self.done(refs) == len(refs) and self.all_mail_out(refs),
            timeout,
            every=1.0,
        )

    def check_exactly_once(self, refs: list[str]) -> dict[str, int]:
        """Assert: each complaint assigned exactly once with one history record per step, and
        each of its emails (acknowledgement, work arrangement notice) sent and received once."""
        ids = dict(self.rows(select(Complaint.reference, Complaint.id).where(Complaint.reference.in_(refs))))
        assert set(ids) == set(refs), "a posted complaint is missing"
        statuses = Counter(s for (s,) in self.rows(select(Complaint.status).where(Complaint.id.in_(ids.values()))))
        assert statuses == {"assigned": len(refs)}, statuses
        per_complaint = Counter(
            cid
            for (cid,) in self.rows(select(Assignment.complaint_id).where(Assignment.complaint_id.in_(ids.values())))
        )
        assert set(per_complaint) == set(ids.values()) and set(per_complaint.values()) == {1}, "assigned twice"
        events = Counter(
            (cid, action)
            for cid, action in self.rows(
                select(ComplaintEvent.complaint_id, ComplaintEvent.action).where(
                    ComplaintEvent.complaint_id.in_(ids.values())
                )
            )
        )
        assert set(events.values()) == {1}, [k for k, v in events.items() if v > 1][:5]
        mails = self.rows(
            select(Notification.complaint_id, Notification.template, Notification.message_id).where(
                Notification.complaint_id.in_(ids.values())
            )
        )
        by_complaint = Counter((cid, template) for cid, template, _ in mails)
        expected = {(cid, t) for cid in ids.values() for t in ("complaint_ack", "work_arrangement")}
        assert expected <= set(by_complaint), "an acknowledgement or work arrangement notice is missing"
        assert set(by_complaint.values()) == {1}, "a notification was queued twice"
        arrived = self.smtp.message_ids()
        twice = [mid for _, _, mid in mails if arrived[mid] != 1]
        assert not twice, f"{len(twice)} message(s) not received exactly once: {twice[:5]}"
        return {"complaints": len(refs), "emails": len(mails)}


def terminate_our_connections(admin: Engine, database: str) -> int:
    """``pg_terminate_backend`` on every connection to ``database``; how many were dropped."""
    with admin.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = :db AND pid <> pg_backend_pid()"
                ),
                {"db": database},
            ).scalar()
            or 0
        )


def descendants(pid: int) -> list[int]:
    """Every live process started (directly or not) by ``pid``."""
    children: dict[int, list[int]] = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(proc.name))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def running_intake(log: str) -> str | None:
    """The name of the intake flow run a worker's log shows begun and not finished."""
    begun = re.findall(r"Beginning flow run '(intake [^']+)'", log)
    if not begun:
        return None
    last = begun[-1]
    return None if f"Flow run '{last}' - Finished in state" in log else last
