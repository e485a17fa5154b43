"""Monthly sampling rules (R-RV-6): sizes, on-site split, draw window, schedule dates."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prefect.client.schemas.schedules import CronSchedule, RRuleSchedule

from models.enums import RevisitMethod
from models.policy import Sampling, Summary
from models.sampling import (
    PRESETS,
    draw_cutoff,
    draw_rrule,
    draw_schedule,
    month_bounds,
    month_of_draw,
    parse_month,
    pick,
    revisits_due,
    sample_size,
    summary_cron,
    summary_month,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
POPULATIONS = [0, 1, 4, 5, 19, 20, 21, 35, 50, 51, 200]

# (size, on site) per population, worked out by hand from the seeds' rules.
EXPECTED = {
    # <20 -> 5 (all if fewer than 5); 20-50 -> 30 % rounded up; >50 -> 20; half on site rounded up
    "tiered": [(0, 0), (1, 1), (4, 2), (5, 3), (5, 3), (6, 3), (7, 4), (11, 6), (15, 8), (20, 10), (20, 10)],
    # 5 % rounded up, capped at 5 % of 100 households = 5
    "percent_capped_households": [
        (0, 0),
        (1, 1),
        (1, 1),
        (1, 1),
        (1, 1),
        (1, 1),
        (2, 1),
        (2, 1),
        (3, 2),
        (3, 2),
        (5, 3),
    ],
    # 30 % rounded up
    "percent_30": [(0, 0), (1, 1), (2, 1), (2, 1), (6, 3), (6, 3), (7, 4), (11, 6), (15, 8), (16, 8), (60, 30)],
}


@pytest.mark.parametrize("preset", sorted(EXPECTED))
def test_sample_size_and_on_site_count_follow_each_preset(preset: str) -> None:
    got = [sample_size(n, PRESETS[preset], households=100) for n in POPULATIONS]
    print(f"\n{preset}: " + ", ".join(f"{s.population}->{s.size}/{s.on_site}" for s in got))
    assert [(s.size, s.on_site) for s in got] == EXPECTED[preset]
    for s in got:
        assert s.phone == s.size - s.on_site >= 0
        assert s.on_site * 2 >= s.size  # at least half on site


def test_household_cap_applies_only_when_households_are_known() -> None:
    capped = PRESETS["percent_capped_households"]
    assert sample_size(200, capped, households=100).size == 5
    assert sample_size(200, capped, households=0).size == 10
    assert sample_size(200, capped, households=360).size == 10  # cap 18 is above 5 % of 200


def test_negative_population_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        sample_size(-1, Sampling())


def test_pick_is_reproducible_from_the_seed_and_independent_of_row_order() -> None:
    ids = list(range(100, 160))
    size = sample_size(len(ids), Sampling())
    first = pick(ids, 42, size)
    assert pick(list(reversed(ids)), 42, size) == first
    assert pick(ids, 43, size) != first
    assert len({wid for wid, _ in first}) == 20
    methods = [m for _, m in first]
    assert methods.count(RevisitMethod.ON_SITE) == 10 and methods.count(RevisitMethod.PHONE) == 10


def test_schedule_dates_2026_to_2028_in_shanghai() -> None:
    sampling = Sampling()
    moments = draw_schedule(date(2026, 1, 1), date(2028, 12, 31), sampling, SHANGHAI)
    expected = []
    for year in (2026, 2027, 2028):
        for month in range(1, 13):
            day = {2026: 28, 2027: 28, 2028: 29}[year] if month == 2 else 30
            expected.append(datetime(year, month, day, 18, 0, tzinfo=SHANGHAI))
    print("\n" + " ".join(m.strftime("%Y-%m-%d") for m in moments if m.month in (1, 2, 3)))
    assert moments == expected
    assert datetime(2026, 2, 28, 18, tzinfo=SHANGHAI) in moments
    assert datetime(2028, 2, 29, 18, tzinfo=SHANGHAI) in moments

    # Prefect's own schedule object built from the rule fires on exactly these moments.
    prefect_rule = RRuleSchedule(rrule=draw_rrule(sampling), timezone="Asia/Shanghai").to_rrule()
    fired = list(
        itertools.takewhile(
            lambda d: d.year <= 2028,
            prefect_rule.xafter(datetime(2026, 1, 1, tzinfo=SHANGHAI), inc=True),  # type: ignore[union-attr]
        )
    )
    assert [d.astimezone(UTC) for d in fired] == [m.astimezone(UTC) for m in expected]


def test_summary_runs_at_nine_on_the_first_for_the_previous_month() -> None:
    cron = summary_cron(Summary())
    assert cron == "0 9 1 * *"
    CronSchedule(cron=cron, timezone="Asia/Shanghai")  # Prefect accepts it
    assert summary_month(datetime(2026, 12, 1, 1, 0, tzinfo=UTC), SHANGHAI) == (2026, 11)
    assert summary_month(datetime(2027, 1, 1, 1, 0, tzinfo=UTC), SHANGHAI) == (2026, 12)


def test_an_order_completed_on_the_31st_falls_into_the_next_months_draw() -> None:
    sampling = Sampling()
    on_31st = datetime(2026, 10, 31, 10, 0, tzinfo=SHANGHAI)
    assert month_of_draw(on_31st, sampling, SHANGHAI) == (2026, 11)
    assert month_of_draw(datetime(2026, 10, 30, 18, 0, tzinfo=SHANGHAI), sampling, SHANGHAI) == (2026, 10)
    assert month_of_draw(datetime(2026, 10, 30, 18, 0, 1, tzinfo=SHANGHAI), sampling, SHANGHAI) == (2026, 11)
    assert month_of_draw(datetime(2026, 12, 31, 23, 0, tzinfo=SHANGHAI), sampling, SHANGHAI) == (2027, 1)
    assert month_of_draw(datetime(2027, 3, 1, 0, 0, tzinfo=SHANGHAI), sampling, SHANGHAI) == (2027, 3)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=3 * 366 * 24 * 3600), min_size=1, max_size=60))
def test_every_completion_time_belongs_to_exactly_one_draw_window(offsets: list[int]) -> None:
    """Consecutive cutoffs tile time: each moment lies in exactly one (previous cutoff, cutoff]."""
    sampling = Sampling()
    cutoffs = [draw_cutoff(y, m, sampling, SHANGHAI) for y in (2025, 2026, 2027, 2028, 2029) for m in range(1, 13)]
    base = datetime(2026, 1, 1, tzinfo=UTC)
    for off in offsets:
        t = base + timedelta(seconds=off)
        windows = [i for i in range(1, len(cutoffs)) if cutoffs[i - 1] < t <= cutoffs[i]]
        assert len(windows) == 1
        y, m = month_of_draw(t, sampling, SHANGHAI)
        assert cutoffs[windows[0]] == draw_cutoff(y, m, sampling, SHANGHAI)


def test_revisits_are_due_before_the_fifth_of_next_month(policy: object) -> None:
    from models.policy import Policy

    assert isinstance(policy, Policy)
    assert revisits_due(2026, 11, policy) == datetime(2026, 12, 5, tzinfo=SHANGHAI).astimezone(UTC)
    assert revisits_due(2026, 12, policy) == datetime(2027, 1, 5, tzinfo=SHANGHAI).astimezone(UTC)


def test_month_bounds_are_local_midnights() -> None:
    start, end = month_bounds(2026, 11, SHANGHAI)
    assert start == datetime(2026, 10, 31, 16, tzinfo=UTC)
    assert end == datetime(2026, 11, 30, 16, tzinfo=UTC)


@pytest.mark.parametrize("bad", ["2026-13", "2026-1", "26-11", "2026/11", "november", "", "2026-00"])
def test_a_bad_month_is_refused_with_the_expected_shape(bad: str) -> None:
    with pytest.raises(ValueError, match="YYYY-MM"):
        parse_month(bad)
    assert parse_month("2026-11") == (2026, 11)
