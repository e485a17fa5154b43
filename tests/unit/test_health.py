"""The health report's verdict on a scheduled deployment, and how doctor prints it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from estatecare.health import Health, Part, Schedule, ScheduleStatus, schedule_status
from estatecare.health_report import render

NOW = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def status(**overrides: object) -> ScheduleStatus:
    given: dict[str, object] = {
        "every": MINUTE,
        "active": True,
        "deployed_at": NOW - timedelta(hours=1),
        "last_completed_at": NOW - timedelta(seconds=30),
        "next_run_at": NOW + timedelta(seconds=30),
        **overrides,
    }
    return schedule_status(NOW, **given)  # type: ignore[arg-type]


def test_a_run_completed_within_twice_the_interval_is_ok() -> None:
    assert status() is ScheduleStatus.OK
    assert status(last_completed_at=NOW - 2 * MINUTE + timedelta(seconds=1)) is ScheduleStatus.OK


def test_no_completed_run_within_twice_the_interval_is_late() -> None:
    assert status(last_completed_at=NOW - 2 * MINUTE - timedelta(seconds=1)) is ScheduleStatus.LATE
    assert status(last_completed_at=None) is ScheduleStatus.LATE  # deployed an hour ago, never ran


def test_the_clock_starts_again_when_the_flow_server_redeploys() -> None:
    # Stopped for a weekend: the last run is old, but the flow server deployed again a minute ago.
    assert status(last_completed_at=NOW - timedelta(days=2), deployed_at=NOW - MINUTE) is ScheduleStatus.OK
    assert status(last_completed_at=NOW - timedelta(days=2), deployed_at=NOW - 3 * MINUTE) is ScheduleStatus.LATE


def test_a_paused_schedule_and_one_with_no_next_run_are_not_ok() -> None:
    assert status(active=False) is ScheduleStatus.PAUSED
    assert status(next_run_at=None) is ScheduleStatus.UNSCHEDULED
    assert status(next_run_at=None, deployed_at=NOW - timedelta(seconds=30)) is ScheduleStatus.OK  # not yet filled


def test_doctor_names_what_is_down_and_what_is_late() -> None:
    health = Health(
        NOW,
        [Part("database", True, "sqlite"), Part("Prefect API", False, "refused")],
        [
            Schedule("deliver-outbox/deliver-outbox", MINUTE, ScheduleStatus.LATE, 0, None, NOW + MINUTE),
            Schedule("deadline-sweep/deadline-sweep", 5 * MINUTE, ScheduleStatus.OK, 3, NOW - MINUTE, NOW + MINUTE),
        ],
    )
    text = render(health, ZoneInfo("Asia/Shanghai"), "http://127.0.0.1:4200/api")
    assert not health.ok
    assert "DOWN: Prefect API" in text
    assert "LATE: deliver-outbox/deliver-outbox: no completed run within 2 min (twice its interval)" in text
    assert "09:01:00 (in 60 s)" in text  # times in the company's timezone
    public = health.public()
    assert public["status"] == "degraded" and public["parts"] == {"database": "up", "Prefect API": "down"}
    assert "refused" not in str(public) and "sqlite" not in str(public)  # no details for anonymous monitors
