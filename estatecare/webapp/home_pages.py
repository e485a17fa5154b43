"""The staff home (``/staff``): the queues of the signed-in person's role, each count a link to
the register filtered to exactly those complaints, their tasks with a deadline badge, the
leaders' per-estate figures and open escalations, and the health of the scheduled flows.

The health panel runs the check of ``estatecare doctor`` (``estatecare.health.check``) in the
background, waits for it briefly and keeps its answer for a minute: the page never waits on a
Prefect server that is down or slow (it says "unknown" then).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from estatecare.health import Health, ScheduleStatus, check
from estatecare.reads import home, tasks
from estatecare.webapp.context import WebContext
from models.enums import Role
from models.permissions import LEADERS

#: Who sees the health of the scheduled flows: the leaders and the service centre's manager.
HEALTH_ROLES = frozenset({*LEADERS, Role.SERVICE_CENTRE_MANAGER})
PART_NAMES = {"database": "database", "Prefect API": "prefect", "flow server": "flow_server", "mail (SMTP)": "mail"}


@dataclass(frozen=True)
class FlowHealth:
    """The panel: ``state`` ok, attention or unknown; the schedules not OK by flow name; the parts
    down (``PART_NAMES``' keys)."""

    state: str
    checked_at: datetime | None
    schedules: list[tuple[str, str]] = field(default_factory=list)
    down: list[str] = field(default_factory=list)


def flow_health(report: Health | None) -> FlowHealth:
    """The panel of a health report (None: it did not answer in time)."""
    if report is None:
        return FlowHealth("unknown", None)
    parts = {p.name: p.up for p in report.parts}
    if not parts.get("Prefect API", False):
        return FlowHealth("unknown", report.checked_at, down=[PART_NAMES["Prefect API"]])
    late = [(s.deployment.split("/")[0], s.status.value) for s in report.schedules if s.status is not ScheduleStatus.OK]
    down = [PART_NAMES.get(name, name) for name, up in parts.items() if not up]
    return FlowHealth("ok" if not late and not down else "attention", report.checked_at, late, down)


class HealthPanel:
    """The latest health report, refreshed in the background at most every ``ttl`` seconds; a page
    waits ``wait`` seconds for a refresh at most."""

    def __init__(self, probe: Callable[[], Awaitable[Health]], ttl: float = 60.0, wait: float = 1.5) -> None:
        self.probe, self.ttl, self.wait = probe, ttl, wait
        self._value: tuple[float, Health | None] | None = None
        self._task: asyncio.Task[None] | None = None

    async def _refresh(self) -> None:
        try:
            report: Health | None = await asyncio.wait_for(self.probe(), timeout=30)
        except Exception:
            report = None
        self._value = (time.monotonic(), report)

    async def get(self) -> Health | None:
        """The report: fresh, or the last one while a refresh runs; None when none answered yet."""
        if self._value is not None and time.monotonic() - self._value[0] < self.ttl:
            return self._value[1]
        task = self._task
        if task is None or task.done() or task.get_loop() is not asyncio.get_running_loop():
            task = self._task = asyncio.create_task(self._refresh())
        await asyncio.wait({task}, timeout=self.wait)
        return self._value[1] if self._value is not None else None


def register_link(queue: str, *, mine: bool = False, estate: str = "") -> str:
    """The register filtered to one queue (of ``estate``; the actor's own complaints with ``mine``)."""
    query = {"queue": queue, **({"mine": "1"} if mine else {}), **({"estate": estate} if estate else {})}
    return f"/staff/register?{urlencode(query)}"


def router(ctx: WebContext) -> APIRouter:
    """The staff home."""
    web = APIRouter()
    panel = HealthPanel(lambda: check(ctx.settings, web=False, engine=ctx.core.engine))

    @web.get("/staff", response_class=HTMLResponse)
    async def staff_home(request: Request) -> Response:
        actor = await ctx.require_staff(request)
        now, zone = ctx.now(), ctx.zone
        queues = home.queues_for(actor, ctx.core.policy.escalation.chain)
        leader = actor.role in LEADERS
        counts, mine, estates, attention = await ctx.core.run(
            lambda s: (
                home.queue_counts(s, actor, queues, now, zone),
                tasks.my_tasks(s, actor, now),
                home.estate_counts(s, actor, now, zone) if leader else [],
                home.attention(s, actor, now, zone) if leader else [],
            )
        )
        health = flow_health(await panel.get()) if actor.role in HEALTH_ROLES else None
        return ctx.render(
            request,
            "staff_home.html",
            actor=actor,
            queues=[(q.name, counts[q.name], register_link(q.name, mine=q.mine)) for q in queues],
            tasks=mine,
            estates=[(e, {q: register_link(q, estate=e.code) for q in home.ESTATE_QUEUES}) for e in estates],
            estate_queues=home.ESTATE_QUEUES,
            attention=attention,
            attention_link=register_link("attention") + "&sort=deadline",
            health=health,
            now=now,
        )

    return web
