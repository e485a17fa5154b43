"""Monthly sampling of work orders (R-RV-6): sample size, on-site split, the draw window,
the reproducible pick, and the dates the draw and the summary run on.

Pure rules: no Prefect, no SMTP, no Session. Money-style arithmetic with
:class:`fractions.Fraction`, so "30 % of 20" is exactly 6 and never 6.000000000000001.
"""

from __future__ import annotations

import calendar as _calendar
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from fractions import Fraction
from zoneinfo import ZoneInfo

from models.enums import RevisitMethod
from models.policy import Policy, Sampling, SamplingTier, Summary

#: The sampling rules of the seeds (R-RV-6), ready to put in a policy's ``[sampling]``.
PRESETS: dict[str, Sampling] = {
    # seed 000 天下城 4.3-4.4: <20 -> 5 (all if fewer), 20-50 -> 30 % rounded up, >50 -> 20
    "tiered": Sampling(),
    # seed 004: 5 % of orders, capped at 5 % of households
    "percent_capped_households": Sampling(rule="percent_capped_households", percent=5, household_cap_percent=5),
    # seed 004 篇3: 30 % of repair requests
    "percent_30": Sampling(rule="percent", percent=30),
}


def _ceil_percent(count: int, percent: float) -> int:
    return math.ceil(Fraction(str(percent)) * count / 100)


def _tier_for(population: int, tiers: Sequence[SamplingTier]) -> SamplingTier:
    for tier in tiers:
        if tier.below is None or population < tier.below:
            return tier
    return tiers[-1]


@dataclass(frozen=True)
class SampleSize:
    """How many orders a draw takes, and how many of them are revisited on site."""

    population: int
    size: int
    on_site: int

    @property
    def phone(self) -> int:
        """The rest are revisited by phone (R-RV-6)."""
        return self.size - self.on_site


def sample_size(population: int, sampling: Sampling, households: int = 0) -> SampleSize:
    """The sample for ``population`` orders under the policy's rule (R-RV-6).

    ``tiered`` (default): fewer than 20 -> 5 (all if fewer than 5); 20-50 -> 30 %
    rounded up; more than 50 -> 20. ``percent``: the percentage rounded up.
    ``percent_capped_households``: the percentage rounded up, but no more than
    ``household_cap_percent`` of the estate's households (rounded up; no cap when the
    household count is unknown, i.e. 0). Never more than the population. At least
    ``on_site_min_share`` of the sample (rounded up) is revisited on site.
    """
    if population < 0:
        raise ValueError(f"population cannot be negative: {population}")
    if sampling.rule == "tiered":
        tier = _tier_for(population, sampling.tiers)
        size = tier.take if tier.take is not None else _ceil_percent(population, tier.percent or 0)
    else:
        size = _ceil_percent(population, sampling.percent)
        if sampling.rule == "percent_capped_households" and households > 0:
            size = min(size, _ceil_percent(households, sampling.household_cap_percent))
    size = min(size, population)
    on_site = min(size, math.ceil(Fraction(str(sampling.on_site_min_share)) * size))
    return SampleSize(population, size, on_site)


def pick(population_ids: Sequence[int], seed: int, size: SampleSize) -> list[tuple[int, RevisitMethod]]:
    """The reproducible pick: the same ids, seed and size always give the same sample.

    Ids are sorted first, so the order the database returns them in does not matter.
    The first ``size.on_site`` picked are revisited on site, the rest by phone.
    """
    ordered = sorted(population_ids)
    if size.size > len(ordered):
        raise ValueError(f"cannot draw {size.size} from a population of {len(ordered)}")
    chosen = random.Random(seed).sample(ordered, size.size)  # noqa: S311 - audit sampling, not cryptography
    return [(wid, RevisitMethod.ON_SITE if i < size.on_site else RevisitMethod.PHONE) for i, wid in enumerate(chosen)]


# ---------------------------------------------------------------------- months and dates


def parse_month(value: str) -> tuple[int, int]:
    """``"2026-11"`` -> ``(2026, 11)``; a clear ValueError for anything else."""
    text = value.strip()
    parts = text.split("-")
    if len(parts) != 2 or len(parts[0]) != 4 or len(parts[1]) != 2 or not all(p.isdigit() for p in parts):
        raise ValueError(f"month must look like 2026-11 (YYYY-MM), got {value!r}")
    year, month = int(parts[0]), int(parts[1])
    if not 1 <= month <= 12 or year < 1900:
        raise ValueError(f"month must look like 2026-11 (YYYY-MM) with a month 01-12, got {value!r}")
    return year, month


def month_key(year: int, month: int) -> str:
    """``(2026, 11)`` -> ``"2026-11"``."""
    return f"{year:04d}-{month:02d}"


def previous_month(year: int, month: int) -> tuple[int, int]:
    """The month before."""
    return (year - 1, 12) if month == 1 else (year, month - 1)


def next_month(year: int, month: int) -> tuple[int, int]:
    """The month after."""
    return (year + 1, 1) if month == 12 else (year, month + 1)


def month_bounds(year: int, month: int, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The month in the company's timezone, as [start, end) in UTC."""
    ny, nm = next_month(year, month)
    start = datetime.combine(date(year, month, 1), time(0), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(date(ny, nm, 1), time(0), tzinfo=tz).astimezone(UTC)
    return start, end


def draw_date(year: int, month: int, sampling: Sampling) -> date:
    """The draw day: the 30th, or the month's last day when the month is shorter (R-RV-6)."""
    return date(year, month, min(sampling.draw_day, _calendar.monthrange(year, month)[1]))


def draw_cutoff(year: int, month: int, sampling: Sampling, tz: ZoneInfo) -> datetime:
    """The moment a month's draw closes its population: draw day at draw time, local (R-RV-6).

    An order completed at or before the cutoff is in this month's draw; one completed
    after it (e.g. on the 31st) is in the next month's.
    """
    return datetime.combine(draw_date(year, month, sampling), sampling.draw_time, tzinfo=tz).astimezone(UTC)


def month_of_draw(completed_at: datetime, sampling: Sampling, tz: ZoneInfo) -> tuple[int, int]:
    """The month whose draw takes an order completed at ``completed_at``."""
    local = completed_at.astimezone(tz)
    year, month = local.year, local.month
    if completed_at > draw_cutoff(year, month, sampling, tz):
        return next_month(year, month)
    return year, month


def revisits_due(year: int, month: int, policy: Policy) -> datetime:
    """Sampled orders are revisited before the 5th of the next month (R-RV-6): midnight local."""
    ny, nm = next_month(year, month)
    day = date(ny, nm, policy.deadlines.sample_revisits_before_day)
    return datetime.combine(day, time(0), tzinfo=policy.tz).astimezone(UTC)


def draw_rrule(sampling: Sampling) -> str:
    """An RFC 5545 rule firing on each month's draw day at the draw time (local).

    ``BYMONTHDAY=28,29,30;BYSETPOS=-1`` is "the 30th, or the last day of a shorter month":
    of the listed days that exist in a month, the last one.
    """
    t = sampling.draw_time
    days = list(range(28, sampling.draw_day + 1)) if sampling.draw_day >= 28 else [sampling.draw_day]
    setpos = ";BYSETPOS=-1" if len(days) > 1 else ""
    return (
        f"FREQ=MONTHLY;BYMONTHDAY={','.join(map(str, days))}{setpos};"
        f"BYHOUR={t.hour};BYMINUTE={t.minute};BYSECOND={t.second}"
    )


def summary_cron(summary: Summary) -> str:
    """Cron for the monthly summary: the summary day at the summary time (default 09:00 on the 1st)."""
    return f"{summary.time.minute} {summary.time.hour} {summary.day} * *"


def draw_schedule(first: date, last: date, sampling: Sampling, tz: ZoneInfo) -> list[datetime]:
    """Every draw moment (local time) between two dates, by the rule itself (for docs and tests)."""
    out: list[datetime] = []
    year, month = first.year, first.month
    while date(year, month, 1) <= last:
        moment = datetime.combine(draw_date(year, month, sampling), sampling.draw_time, tzinfo=tz)
        if first <= moment.date() <= last:
            out.append(moment)
        year, month = next_month(year, month)
    return out


def summary_month(run_at: datetime, tz: ZoneInfo) -> tuple[int, int]:
    """The month a summary run reports on: the one before the run's local date (R-KP-1)."""
    local = run_at.astimezone(tz).date()
    return previous_month(local.year, local.month)
