"""KPI arithmetic (R-KP-2): rates, targets met or missed, no data."""

from __future__ import annotations

import pytest

from models.kpi import Counts, kpis, met, rate, rates
from models.policy import Targets


def test_a_rate_is_exact_and_none_without_anything_to_count() -> None:
    assert rate(49, 50) == 0.98
    assert rate(0, 0) is None
    with pytest.raises(ValueError, match="numerator"):
        rate(3, 2)


def test_targets_compare_exactly_in_both_directions() -> None:
    assert met(0.98, 0.98, ">=") is True
    assert met(0.979, 0.98, ">=") is False
    assert met(0.70, 0.70, "<=") is True
    assert met(0.7001, 0.70, "<=") is False
    assert met(None, 0.70, "<=") is None


def test_every_target_of_the_policy_is_marked() -> None:
    c = Counts(
        revisits_due=50, revisits_handled=48, repair_rated=100, repair_satisfied=98, revisits_done=10,
        on_site_signed=4, phone_letter=7, revisits_done_ytd=100, on_site_signed_ytd=39, phone_letter_ytd=60,
    )  # fmt: skip
    got = {k.id: (k.value, k.met) for k in kpis(c, Targets())}
    assert got == {
        "revisit_handling_rate": (0.96, False),  # 100 % by default
        "repair_satisfaction": (0.98, True),
        "on_site_signed_share": (0.4, True),
        "on_site_signed_share_ytd": (0.39, False),
        "phone_letter_share": (0.7, True),
        "phone_letter_share_ytd": (0.6, True),
    }
    alternative = Targets(revisit_handling_rate=0.96, phone_letter_share_max=0.60)
    assert {k.id: k.met for k in kpis(c, alternative)}["revisit_handling_rate"] is True
    assert {k.id: k.met for k in kpis(c, alternative)}["phone_letter_share"] is False


def test_company_counts_are_the_sum_of_the_estates() -> None:
    a, b = Counts(complaints=3, valid=2, invalid=1), Counts(complaints=2, valid=2, response_due=2, response_on_time=1)
    a.add(b)
    assert (a.complaints, a.valid, a.invalid) == (5, 4, 1)
    assert rates(a)["response_on_time"] == 0.5 and rates(a)["valid_share"] == 0.8
