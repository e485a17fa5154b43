"""Is Estate Care up, and do its schedules really run? One report for ``estatecare doctor``
and ``GET /api/health``.

Parts: the database, the Prefect API, the flow server (it polls the Prefect API for the
runs of its deployments; a poll stamps the deployments' ``last_polled``), the web app and
the SMTP server. Schedules: for every scheduled deployment, its last completed run and its
next scheduled run. A deployment with no completed run within twice its interval (counted
from when the flow server last deployed it) is LATE; one with no next run is UNSCHEDULED.
Nothing here reads personal data.
"""

from __future__ import annotations

import asyncio
import enum
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Engine, text

from estatecare.settings import Settings

#: The flow server polls every 10 s (PREFECT_RUNNER_POLL_FREQUENCY); three missed polls mean it is gone.
POLL_TOLERANCE = timedelta(seconds=30)
#: The Prefect scheduler fills a deployment's next runs within a minute of its (re)deployment.
SCHEDULER_GRACE = timedelta(seconds=90)
TIMEOUT = 5.0


class ScheduleStatus(enum.StrEnum):
    """How a scheduled deployment is doing."""

    OK = "ok"
    LATE = "late"  # no completed run within twice its interval
    UNSCHEDULED = "unscheduled"  # no next run: the scheduler is not scheduling it
    PAUSED = "paused"  # its schedule is paused (the flow server stopped cleanly)
    MISSING = "missing"  # not deployed on the Prefect server
    UNKNOWN = "unknown"  # the Prefect API did not answer


@dataclass(frozen=True)
class Part:
    """One running part, up or down, with a short detail for the operator."""

    name: str
    up: bool
    detail: str


@dataclass(frozen=True)
class Schedule:
    """One scheduled deployment's runs."""

    deployment: str
    every: timedelta
    status: ScheduleStatus
    completed_runs: int = 0
    last_completed_at: datetime | None = None
    next_scheduled_at: datetime | None = None


@dataclass(frozen=True)
class Health:
    """The whole report; ``ok`` when every part is up and every schedule is OK."""

    checked_at: datetime
    parts: list[Part]
    schedules: list[Schedule] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every part up, every schedule OK."""
        return all(p.up for p in self.parts) and all(s.status is ScheduleStatus.OK for s in self.schedules)

    def public(self) -> dict[str, Any]:
        """The report for monitors: states and times only, no addresses and no personal data."""
        return {
            "status": "ok" if self.ok else "degraded",
            "checked_at": self.checked_at.isoformat(),
            "parts": {p.name: "up" if p.up else "down" for p in self.parts},
            "schedules": [
                {
                    "deployment": s.deployment,
                    "every_seconds": int(s.every.total_seconds()),
                    "status": s.status.value,
                    "completed_runs": s.completed_runs,
                    "last_completed_at": s.last_completed_at.isoformat() if s.last_completed_at else None,
                    "next_scheduled_at": s.next_scheduled_at.isoformat() if s.next_scheduled_at else None,
                }
                for s in self.schedules
            ],
        }


def prefect_api_url(settings: Settings) -> str:
    """The Prefect API the flows report to: PREFECT_API_URL, else the local server's."""
    return (os.environ.get("PREFECT_API_URL") or f"http://127.0.0.1:{settings.prefect_port}/api").rstrip("/")


async def check_database(settings: Settings, engine: Engine | None = None) -> Part:
    """``SELECT 1`` on our database, through ``engine`` when the process has one."""
    from estatecare.db import make_engine

    def probe() -> None:
        used = engine or make_engine(settings.db_url)
        try:
            with used.connect() as conn:
                conn.execute(text("SELECT 1"))
        finally:
            if engine is None:
                used.dispose()

    try:
        await asyncio.wait_for(asyncio.to_thread(probe), TIMEOUT)
    except Exception as exc:
        return Part("database", False, _reason(exc))
    return Part("database", True, settings.db_url.split("://", 1)[0])


async def check_http(name: str, url: str) -> Part:
    """A GET that must answer 200."""
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT) as client:
            response = await client.get(url)
    except httpx.HTTPError as exc:
        return Part(name, False, f"{url}: {_reason(exc)}")
    return Part(name, response.status_code == 200, f"{url}: HTTP {response.status_code}")


async def check_smtp(host: str, port: int) -> Part:
    """The SMTP server's banner must start with 220."""
    where = f"{host}:{port}"
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(host, port), TIMEOUT)
    except (OSError, TimeoutError) as exc:
        return Part("mail (SMTP)", False, f"{where}: {_reason(exc)}")
    try:
        banner = (await asyncio.wait_for(reader.readline(), TIMEOUT)).decode("ascii", "replace").strip()
        writer.write(b"QUIT\r\n")
        await writer.drain()
    except (OSError, TimeoutError) as exc:
        return Part("mail (SMTP)", False, f"{where}: {_reason(exc)}")
    finally:
        writer.close()
    return Part("mail (SMTP)", banner.startswith("220"), f"{where}: {banner[:60]}")


def scheduled_deployments(settings: Settings) -> dict[str, timedelta]:
    """Every shipped deployment that has a schedule, by full name, with its interval (the
    gap between its next two dates for a cron or RRULE schedule). Built once per schedule
    settings and month: a monitor polling /api/health does not rebuild every deployment."""
    key = (
        settings.outbox_every_seconds,
        settings.deadline_sweep_every_seconds,
        settings.intake_sweep_every_seconds,
        str(settings.policy_file),
        datetime.now(UTC).strftime("%Y-%m"),
    )
    if key not in _SCHEDULED:
        from deployments import all_deployments

        _SCHEDULED[key] = {
            d.full_name: _every(d.schedules[0].schedule) for d in all_deployments(settings) if d.schedules
        }
    return _SCHEDULED[key]


_SCHEDULED: dict[tuple[object, ...], dict[str, timedelta]] = {}


def _every(schedule: Any) -> timedelta:
    interval = getattr(schedule, "interval", None)
    if isinstance(interval, timedelta):
        return interval
    from prefect.server.schemas import schedules as server

    kind = server.CronSchedule if hasattr(schedule, "cron") else server.RRuleSchedule
    model: Any = kind.model_validate(schedule.model_dump())
    dates = list(model._get_dates_generator(n=2, start=datetime.now(UTC)))
    return dates[1] - dates[0] if len(dates) == 2 else timedelta(days=31)


async def check_schedules(
    api_url: str, wanted: dict[str, timedelta], now: datetime
) -> tuple[list[Schedule], datetime | None]:
    """Each wanted deployment's runs (from the Prefect REST API), and when the flow server
    last polled for any of them."""
    found: list[Schedule] = []
    polled: datetime | None = None
    async with httpx.AsyncClient(base_url=api_url, timeout=TIMEOUT) as client:

        async def runs(deployment_id: str, state: str, sort: str) -> tuple[int, dict[str, Any] | None]:
            body = {
                "deployments": {"id": {"any_": [deployment_id]}},
                "flow_runs": {"state": {"type": {"any_": [state]}}},
            }
            first = await client.post("/flow_runs/filter", json={**body, "sort": sort, "limit": 1})
            count = await client.post("/flow_runs/count", json=body)
            first.raise_for_status()
            count.raise_for_status()
            rows = first.json()
            return int(count.json()), rows[0] if rows else None

        for name, every in wanted.items():
            response = await client.get(f"/deployments/name/{name}")
            if response.status_code == 404:
                found.append(Schedule(name, every, ScheduleStatus.MISSING))
                continue
            response.raise_for_status()
            dep = response.json()
            last_polled = _when(dep.get("last_polled"))
            if last_polled is not None:
                polled = max(polled, last_polled) if polled else last_polled
            count, done = await runs(dep["id"], "COMPLETED", "END_TIME_DESC")
            _, upcoming = await runs(dep["id"], "SCHEDULED", "EXPECTED_START_TIME_ASC")
            last = _when(done["end_time"]) if done else None
            following = _when(upcoming["expected_start_time"]) if upcoming else None
            deployed = _when(dep.get("updated")) or _when(dep.get("created")) or now
            active = not dep.get("paused") and any(s.get("active") for s in dep.get("schedules", []))
            status = schedule_status(
                now, every=every, active=active, deployed_at=deployed, last_completed_at=last, next_run_at=following
            )
            found.append(Schedule(name, every, status, count, last, following))
    return found, polled


def schedule_status(
    now: datetime,
    *,
    every: timedelta,
    active: bool,
    deployed_at: datetime,
    last_completed_at: datetime | None,
    next_run_at: datetime | None,
) -> ScheduleStatus:
    """A scheduled deployment is LATE with no completed run within twice its interval,
    counted from its last completed run or, when later, from its last (re)deployment."""
    if not active:
        return ScheduleStatus.PAUSED
    if next_run_at is None and now - deployed_at > SCHEDULER_GRACE:
        return ScheduleStatus.UNSCHEDULED
    if now - max(last_completed_at or deployed_at, deployed_at) > 2 * every:
        return ScheduleStatus.LATE
    return ScheduleStatus.OK


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


async def check(settings: Settings, *, web: bool = True, engine: Engine | None = None) -> Health:
    """Every part and every schedule; ``web=False`` when the web app itself is asking (with
    its ``engine``)."""
    now = datetime.now(UTC)
    api = prefect_api_url(settings)
    probes = [
        check_database(settings, engine),
        check_http("Prefect API", f"{api}/health"),
        check_smtp(settings.smtp_host, settings.smtp_port),
    ]
    if web:
        probes.append(check_http("web app", f"http://{settings.web_host}:{settings.web_port}/healthz"))
    parts = list(await asyncio.gather(*probes))
    wanted = await asyncio.to_thread(scheduled_deployments, settings)  # to_deployment is a coroutine inside a loop
    prefect_up = parts[1].up
    if not prefect_up:
        schedules = [Schedule(name, every, ScheduleStatus.UNKNOWN) for name, every in wanted.items()]
        parts.insert(2, Part("flow server", False, "unknown: the Prefect API does not answer"))
        return Health(now, parts, schedules)
    try:
        schedules, polled = await check_schedules(api, wanted, now)
    except Exception as exc:
        schedules = [Schedule(name, every, ScheduleStatus.UNKNOWN) for name, every in wanted.items()]
        parts.insert(2, Part("flow server", False, f"unknown: {_reason(exc)}"))
        return Health(now, parts, schedules)
    if polled is None:
        flows = Part("flow server", False, "has never polled for its deployments' runs")
    else:
        ago = now - polled
        flows = Part("flow server", ago <= POLL_TOLERANCE, f"last polled {short(ago)} ago")
    parts.insert(2, flows)
    return Health(datetime.now(UTC), parts, schedules)


def short(delta: timedelta) -> str:
    """``45 s``, ``12 min``, ``3 h`` (of the absolute value)."""
    seconds = int(abs(delta.total_seconds()))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:200] if str(exc) else type(exc).__name__
