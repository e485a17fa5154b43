"""Deadline arithmetic (R-HD-1, R-RV-3..6, R-RV-13), optionally on a business calendar.

Hour and minute deadlines run on the clock; day deadlines count working days when the
policy's business calendar is on (weekends and the country's public holidays skipped).
All inputs and outputs are timezone-aware; local dates are the company's timezone.
"""

from __future__ import annotations

import calendar as _calendar
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from models.enums import Severity, Urgency, WorkOrderKind
from models.policy import Policy


@dataclass(frozen=True)
class BusinessCalendar:
    """Which local dates are working days."""

    tz: ZoneInfo
    enabled: bool = False
    country: str = "CN"
    extra_holidays: frozenset[date] = frozenset()
    extra_workdays: frozenset[date] = frozenset()
    _cache: dict[int, set[date]] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_policy(cls, policy: Policy) -> BusinessCalendar:
        """The calendar the policy describes."""
        cal = policy.calendar
        return cls(
            tz=policy.tz,
            enabled=cal.business_days,
            country=cal.holidays_country,
            extra_holidays=frozenset(date.fromisoformat(d) for d in cal.extra_holidays),
            extra_workdays=frozenset(date.fromisoformat(d) for d in cal.extra_workdays),
        )

    def _holidays(self, year: int) -> set[date]:
        if year not in self._cache:
            # imported on first use: only a policy with business days needs it, and importing the
            # package costs a process ~5 MB resident (and ~15 MB more for a moment)
            import holidays

            self._cache[year] = set(holidays.country_holidays(self.country, years=year).keys())
        return self._cache[year]

    def is_working_day(self, day: date) -> bool:
        """True when ``day`` counts for a day-based deadline."""
        if not self.enabled or day in self.extra_workdays:
            return True
        if day in self.extra_holidays or day.weekday() >= 5:
            return False
        return day not in self._holidays(day.year)

    def add_days(self, start: datetime, days: int) -> datetime:
        """``start`` plus ``days`` (working days when enabled), same local time of day."""
        local = start.astimezone(self.tz)
        day, wall = local.date(), local.timetz().replace(tzinfo=None)
        remaining = days
        while remaining > 0:
            day += timedelta(days=1)
            if self.is_working_day(day):
                remaining -= 1
        return datetime.combine(day, wall, tzinfo=self.tz).astimezone(UTC)


class Deadlines:
    """Every deadline rule of the policy, in one place."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.d = policy.deadlines
        self.tz = policy.tz
        self.calendar = BusinessCalendar.from_policy(policy)

    def response_due(self, received_at: datetime, urgency: Urgency) -> datetime:
        """Urgent: assign within minutes; otherwise first response within hours (R-HD-1)."""
        if urgency is Urgency.URGENT:
            return received_at + timedelta(minutes=self.d.urgent_assign_minutes)
        return received_at + timedelta(hours=self.d.first_response_hours)

    def resolution_due(
        self, assigned_at: datetime, severity: Severity, set_by_leadership: datetime | None = None
    ) -> datetime:
        """General: N days; major: leadership's deadline, provisional until set (R-HD-1)."""
        if set_by_leadership is not None:
            return set_by_leadership
        days = self.d.general_resolution_days if severity is Severity.GENERAL else self.d.major_resolution_days
        return self.calendar.add_days(assigned_at, days)

    def complaint_revisit_due(self, confirmed_at: datetime) -> datetime:
        """Revisit of a handled valid complaint (R-RV-3)."""
        return self.calendar.add_days(confirmed_at, self.d.complaint_revisit_days)

    def job_revisit_due(self, completed_at: datetime, kind: WorkOrderKind) -> datetime | None:
        """Immediate revisit of major jobs (R-RV-4), renovation within 7 days (R-RV-5)."""
        if kind in (WorkOrderKind.URGENT_REPAIR, WorkOrderKind.MAJOR_REPAIR):
            return completed_at + timedelta(hours=self.d.major_job_revisit_hours)
        if kind is WorkOrderKind.RENOVATION:
            return completed_at + timedelta(days=self.d.renovation_revisit_days)
        return None

    def revisit_record_due(self, done_at: datetime) -> datetime:
        """Records are completed the same or the next day: end of that local day (R-RV-13)."""
        day = done_at.astimezone(self.tz).date() + timedelta(days=self.d.revisit_record_days)
        return datetime.combine(day + timedelta(days=1), time(0), tzinfo=self.tz).astimezone(UTC)

    def draw_at(self, year: int, month: int) -> datetime:
        """When a month's draw runs: the draw day (30th), or the month's last day if shorter (R-RV-6)."""
        s = self.policy.sampling
        last = _calendar.monthrange(year, month)[1]
        return datetime.combine(date(year, month, min(s.draw_day, last)), s.draw_time, tzinfo=self.tz).astimezone(UTC)

    def sample_revisits_due(self, year: int, month: int) -> datetime:
        """Sampled orders are revisited before the 5th of the next month (R-RV-6)."""
        ny, nm = (year + 1, 1) if month == 12 else (year, month + 1)
        return datetime.combine(date(ny, nm, self.d.sample_revisits_before_day), time(0), tzinfo=self.tz).astimezone(
            UTC
        )
