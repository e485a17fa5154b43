"""intake.p95: POST /api/complaints under 50 concurrent clients, beside the limit.

``python -m bench.intake [--requests 3000] [--clients 50] [--quick]``. Two real server
processes (uvicorn, same settings, access log off), one after the other, each on its own
fresh SQLite database seeded with the demo estate:

- **ours**: the Estate Care API (``create_app``) with the dispatcher off, so the figure is
  intake itself (validation, estate/unit lookups, reference, deadline, the complaint and
  its first history record in one transaction);
- **the limit**: a bare FastAPI endpoint that takes the same JSON body and does one INSERT
  of the complaint row (SQLAlchemy Core) on one database thread (SQLite has one writer;
  many threads only queue on its lock), nothing else.

The client (httpx, 50 concurrent connections kept alive) runs in this process. Goal: our
p95 within 2x of the limit's p95, measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from pydantic import BaseModel

from bench._net import free_port
from bench.results import print_table, row, write_json

GOAL_RATIO = 2.0
PROBLEMS = ["廚房漏水", "走廊垃圾未清", "晚上噪音", "保安態度差", "電梯故障", "停車位被佔", "路燈壞了"]


# --------------------------------------------------------------------------- the two servers


class BareBody(BaseModel):
    """The intake body, checked for types only."""

    estate: str
    building: str = ""
    unit: str = ""
    content: str
    complainant_name: str = ""
    contact_phone: str = ""
    contact_email: str = ""


def _process_settings() -> None:
    """What ``estatecare web`` sets for its process, so ours runs as it does in production.
    The limit keeps Python's default: it is a bare endpoint, tuned for nothing."""
    from estatecare.web import SWITCH_INTERVAL

    sys.setswitchinterval(SWITCH_INTERVAL)


def ours_app() -> Any:
    """Our API over ``ESTATECARE_DATABASE_URL``, without the dispatcher (uvicorn factory)."""
    from estatecare.app import App
    from estatecare.server import create_app

    _process_settings()
    return create_app(App.from_settings())


def bare_app() -> Any:
    """The limit: one endpoint, one INSERT of the complaint row (uvicorn factory)."""
    from fastapi import FastAPI
    from sqlalchemy import insert

    from estatecare.db import make_engine
    from models import Complaint

    engine = make_engine(os.environ["ESTATECARE_DATABASE_URL"])
    table = Complaint.__table__
    api = FastAPI()

    db_thread = ThreadPoolExecutor(1, thread_name_prefix="bare-db")  # SQLite has one writer anyway

    def write(body: BareBody) -> str:
        reference = f"{body.estate}-{secrets.token_hex(6).upper()}"
        now = datetime.now(UTC)
        with engine.begin() as conn:
            conn.execute(
                insert(table).values(
                    reference=reference,
                    estate_id=1,
                    complainant_name=body.complainant_name,
                    contact_phone=body.contact_phone,
                    contact_email=body.contact_email,
                    locale="zh-Hant",
                    channel="online",
                    content=body.content,
                    received_at=now,
                    reply_only=False,
                    severity="general",
                    urgency="normal",
                    status="received",
                    escalation_level=0,
                    intake_done=False,
                    resolution_text="",
                    explanation_text="",
                    version=1,
                )
            )
        return reference

    @api.post("/api/complaints", status_code=201)
    async def post(body: BareBody) -> dict[str, str]:
        reference = await asyncio.get_running_loop().run_in_executor(db_thread, write, body)
        return {"reference": reference, "status": "received"}

    @api.get("/healthz")
    def healthz() -> dict[str, bool]:
        return {"ok": True}

    return api


# --------------------------------------------------------------------------- measuring


def _body(i: int, rng: random.Random) -> dict[str, Any]:
    return {
        "estate": "CH",
        "building": f"{1 + i % 3}座",
        "unit": f"{1 + (i // 3) % 5}0{1 + i % 2}",
        "content": f"{PROBLEMS[i % len(PROBLEMS)]}，{rng.randint(1, 9)}天了，請盡快處理",
        "complainant_name": f"住戶{i}",
        "contact_phone": f"139{i:08d}",
        "contact_email": f"resident{i}@example.test",
    }


async def _load(base: str, requests: int, clients: int) -> tuple[list[float], float]:
    """``requests`` POSTs from ``clients`` concurrent clients; returns (latencies, seconds)."""
    rng = random.Random(7)
    bodies = [_body(i, rng) for i in range(requests)]
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    latencies: list[float] = []
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        for i in range(clients):  # warm up: open every connection once
            r = await client.post("/api/complaints", json=bodies[i % len(bodies)])
            r.raise_for_status()
        todo = iter(bodies)

        async def worker() -> None:
            for body in todo:
                t0 = time.perf_counter()
                r = await client.post("/api/complaints", json=body)
                latencies.append(time.perf_counter() - t0)
                if r.status_code != 201:
                    raise RuntimeError(f"POST answered {r.status_code}: {r.text[:300]}")

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - t0
    return latencies, elapsed


def _percentile(sorted_values: list[float], q: float) -> float:
    index = min(len(sorted_values) - 1, max(0, round(q * len(sorted_values)) - 1))
    return sorted_values[index]


def _wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    until = time.monotonic() + timeout
    while time.monotonic() < until:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer")


def _database(tmp: Path, name: str) -> str:
    from estatecare.app import App
    from estatecare.demo import seed_demo
    from estatecare.migrate import upgrade
    from estatecare.settings import Settings

    url = f"sqlite:///{tmp / name}.db"
    upgrade(url)
    core = App.from_settings(Settings(database_url=url, var_dir=tmp))
    with core.transaction() as s:
        seed_demo(s, core.policy)
    core.engine.dispose()
    return url


def measure(factory: str, tmp: Path, requests: int, clients: int) -> dict[str, float]:
    """Start ``factory`` under uvicorn on a fresh database and load it; returns its figures."""
    url = _database(tmp, factory)
    port = free_port()
    env = {
        **os.environ,
        "ESTATECARE_DATABASE_URL": url,
        "ESTATECARE_VAR_DIR": str(tmp),
        # the load comes from one address: the intake limits would measure themselves
        "ESTATECARE_PUBLIC_FORM_RATE": "1000000/minute",
        "ESTATECARE_PUBLIC_TOTAL_RATE": "1000000/minute",
        "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
    }
    log = (tmp / f"{factory}.log").open("ab")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            f"bench.intake:{factory}",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
            "--timeout-keep-alive",
            "60",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_http(f"http://127.0.0.1:{port}/healthz", proc)
        latencies, elapsed = asyncio.run(_load(f"http://127.0.0.1:{port}", requests, clients))
    finally:
        proc.terminate()
        proc.wait(30)
    latencies.sort()
    return {
        "p50": _percentile(latencies, 0.50) * 1000,
        "p95": _percentile(latencies, 0.95) * 1000,
        "p99": _percentile(latencies, 0.99) * 1000,
        "throughput": len(latencies) / elapsed,
    }


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    """Measure both servers, print the comparison and return the rows."""
    parser = argparse.ArgumentParser(prog="python -m bench.intake", description=__doc__)
    parser.add_argument("--requests", type=int, default=None, help="POSTs per server (default 3000; --quick 500)")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--quick", action="store_true", help="a small scale for smoke runs")
    args = parser.parse_args(argv)
    requests = args.requests or (500 if args.quick else 3000)
    tmp = Path(tempfile.mkdtemp(prefix="estatecare-intake-"))
    try:
        limit = measure("bare_app", tmp, requests, args.clients)
        ours = measure("ours_app", tmp, requests, args.clients)
    finally:
        if not os.environ.get("BENCH_KEEP"):
            shutil.rmtree(tmp, ignore_errors=True)
    how = f"{requests} POSTs, {args.clients} concurrent clients, SQLite, uvicorn"
    reference = "bare FastAPI + one INSERT (same run)"
    rows = [
        row(
            "intake.p95",
            ours["p95"],
            "ms",
            reference=reference,
            reference_figure=limit["p95"],
            goal=f"<= {GOAL_RATIO:g}x the limit",
            met=ours["p95"] <= GOAL_RATIO * limit["p95"],
            digits=1,
            detail={"how": how},
        ),
        row("intake.p50", ours["p50"], "ms", reference=reference, reference_figure=limit["p50"], digits=1),
        row("intake.p99", ours["p99"], "ms", reference=reference, reference_figure=limit["p99"], digits=1),
        row(
            "intake.throughput",
            ours["throughput"],
            "req/s",
            reference=reference,
            reference_figure=limit["throughput"],
            digits=1,
        ),
    ]
    print_table(rows)
    write_json(rows, "intake")
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
