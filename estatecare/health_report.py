"""The health report as the operator reads it in a terminal (``estatecare doctor``)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from estatecare.health import Health, ScheduleStatus, short


def render(health: Health, tz: ZoneInfo, prefect_api: str) -> str:
    """Parts up or down, then every scheduled deployment's runs; the verdict last."""
    now = health.checked_at
    lines = [f"Estate Care health at {now.astimezone(tz):%Y-%m-%d %H:%M:%S} ({tz.key})", ""]
    width = max(len(p.name) for p in health.parts)
    for part in health.parts:
        lines.append(f"  {part.name:<{width}}  {'up' if part.up else 'DOWN':<4}  {part.detail}")
    lines += ["", f"scheduled deployments (Prefect API {prefect_api}):"]
    rows = [("deployment", "every", "completed", "last completed", "next run", "status")]
    for s in health.schedules:
        rows.append(
            (
                s.deployment,
                _span(s.every),
                str(s.completed_runs),
                _moment(s.last_completed_at, now, tz),
                _moment(s.next_scheduled_at, now, tz),
                s.status.value.upper(),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        lines.append("  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    down = [p.name for p in health.parts if not p.up]
    bad = [s for s in health.schedules if s.status is not ScheduleStatus.OK]
    lines.append("")
    if health.ok:
        lines.append("all parts up; every schedule ran within twice its interval")
    else:
        if down:
            lines.append(f"DOWN: {', '.join(down)}")
        for s in bad:
            lines.append(f"{s.status.value.upper()}: {s.deployment}: {_why(s.status, s.every)}")
    return "\n".join(lines)


def _why(status: ScheduleStatus, every: timedelta) -> str:
    return {
        ScheduleStatus.LATE: f"no completed run within {_span(2 * every)} (twice its interval)",
        ScheduleStatus.UNSCHEDULED: "no next run: the Prefect server's scheduler is not scheduling it",
        ScheduleStatus.PAUSED: "its schedule is paused (the flow server is stopped, or it was paused in the UI)",
        ScheduleStatus.MISSING: "not deployed: is the flow server (estatecare serve-flows) running?",
        ScheduleStatus.UNKNOWN: "the Prefect API does not answer",
        ScheduleStatus.OK: "",
    }[status]


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    if seconds % 86400 == 0 or seconds > 86400 * 7:
        return f"{round(seconds / 86400)} d"
    if seconds % 3600 == 0:
        return f"{seconds // 3600} h"
    if seconds % 60 == 0:
        return f"{seconds // 60} min"
    return f"{seconds} s"


def _moment(at: datetime | None, now: datetime, tz: ZoneInfo) -> str:
    if at is None:
        return "-"
    delta = at - now
    when = at.astimezone(tz)
    stamp = f"{when:%H:%M:%S}" if abs(delta) < timedelta(hours=20) else f"{when:%Y-%m-%d %H:%M}"
    return f"{stamp} (in {short(delta)})" if delta.total_seconds() > 0 else f"{stamp} ({short(delta)} ago)"
