"""Deadline rules R-HD-1, R-RV-3..6, R-RV-13, on the clock and on the business calendar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from models.deadlines import Deadlines
from models.enums import Severity, Urgency, WorkOrderKind
from models.policy import Policy, parse_policy

SH = ZoneInfo("Asia/Shanghai")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=SH)  # type: ignore[misc]


@pytest.fixture
def rules(policy: Policy) -> Deadlines:
    return Deadlines(policy)


@pytest.fixture
def business() -> Deadlines:
    return Deadlines(parse_policy({"calendar": {"business_days": True, "holidays_country": "CN"}}))


def test_urgent_complaints_are_assigned_within_30_minutes(rules: Deadlines) -> None:  # R-HD-1
    assert rules.response_due(local(2026, 11, 2, 9, 0), Urgency.URGENT) == local(2026, 11, 2, 9, 30)


def test_normal_complaints_get_a_first_response_within_24_hours(rules: Deadlines) -> None:  # R-HD-1
    assert rules.response_due(local(2026, 11, 2, 9, 0), Urgency.NORMAL) == local(2026, 11, 3, 9, 0)


def test_general_complaints_are_resolved_within_2_days(rules: Deadlines) -> None:  # R-HD-1
    assert rules.resolution_due(local(2026, 11, 6, 16, 0), Severity.GENERAL) == local(2026, 11, 8, 16, 0)


def test_major_complaints_take_leaderships_deadline_when_set(rules: Deadlines) -> None:  # R-HD-1
    set_by_leader = local(2026, 11, 20, 18, 0)
    assert rules.resolution_due(local(2026, 11, 2, 9), Severity.MAJOR, set_by_leader) == set_by_leader
    assert rules.resolution_due(local(2026, 11, 2, 9), Severity.MAJOR) == local(2026, 11, 7, 9)


def test_general_resolution_skips_the_weekend_on_the_business_calendar(business: Deadlines) -> None:
    friday = local(2026, 11, 6, 16, 0)
    assert business.resolution_due(friday, Severity.GENERAL) == local(2026, 11, 10, 16, 0)


def test_resolution_skips_national_day_holidays_on_the_business_calendar(business: Deadlines) -> None:
    # 2026-10-01..07 are mainland public holidays (National Day golden week).
    assert business.resolution_due(local(2026, 9, 30, 10, 0), Severity.GENERAL) == local(2026, 10, 9, 10, 0)


def test_extra_holidays_and_make_up_workdays_from_the_policy_count() -> None:
    rules = Deadlines(
        parse_policy(
            {"calendar": {"business_days": True, "extra_holidays": ["2026-11-09"], "extra_workdays": ["2026-11-07"]}}
        )
    )
    # Fri 6th -> Sat 7th is a make-up workday (1), Sun 8th skipped, Mon 9th holiday, Tue 10th (2).
    assert rules.resolution_due(local(2026, 11, 6, 16), Severity.GENERAL) == local(2026, 11, 10, 16)


def test_complaint_revisit_is_due_days_after_confirmation(rules: Deadlines) -> None:  # R-RV-3
    assert rules.complaint_revisit_due(local(2026, 11, 2, 9)) == local(2026, 11, 4, 9)


def test_major_jobs_get_an_immediate_revisit(rules: Deadlines) -> None:  # R-RV-4
    done = local(2026, 11, 2, 9)
    assert rules.job_revisit_due(done, WorkOrderKind.URGENT_REPAIR) == done + timedelta(hours=24)
    assert rules.job_revisit_due(done, WorkOrderKind.MAJOR_REPAIR) == done + timedelta(hours=24)
    assert rules.job_revisit_due(done, WorkOrderKind.REPAIR) is None


def test_renovation_is_revisited_on_site_within_7_days(rules: Deadlines) -> None:  # R-RV-5
    assert rules.job_revisit_due(local(2026, 11, 2, 9), WorkOrderKind.RENOVATION) == local(2026, 11, 9, 9)


def test_sampled_orders_are_revisited_before_the_5th_of_next_month(rules: Deadlines) -> None:  # R-RV-6
    assert rules.sample_revisits_due(2026, 11) == local(2026, 12, 5, 0, 0)
    assert rules.sample_revisits_due(2026, 12) == local(2027, 1, 5, 0, 0)


@pytest.mark.parametrize(
    ("year", "month", "day"),
    [(2026, 1, 30), (2026, 2, 28), (2027, 2, 28), (2028, 2, 29), (2026, 4, 30), (2026, 12, 30)],
)
def test_the_draw_runs_at_18_00_on_the_30th_or_the_last_day_of_a_shorter_month(
    rules: Deadlines, year: int, month: int, day: int
) -> None:  # R-RV-6
    assert rules.draw_at(year, month) == local(year, month, day, 18, 0)


def test_revisit_records_are_due_by_the_end_of_the_next_day(rules: Deadlines) -> None:  # R-RV-13
    assert rules.revisit_record_due(local(2026, 11, 2, 23, 30)) == local(2026, 11, 4, 0, 0)


def test_deadlines_are_timezone_aware_utc(rules: Deadlines) -> None:
    due = rules.response_due(datetime(2026, 11, 2, 1, 0, tzinfo=UTC), Urgency.NORMAL)
    assert due.tzinfo is not None and due.utcoffset() == timedelta(0)
