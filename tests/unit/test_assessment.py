"""Keyword assessment (R-AS-1, R-AS-3) and duplicate detection (R-IN-5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from models.assessment import Candidate, find_first_report, similarity, suggest
from models.enums import Category, Severity, Urgency
from models.policy import Policy

T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)


def test_a_person_trapped_in_a_lift_is_urgent_major_safety(policy: Policy) -> None:
    s = suggest("3座電梯困人，有人被困", policy)
    assert (s.category, s.urgency, s.severity) == (Category.SAFETY, Urgency.URGENT, Severity.MAJOR)
    assert s.confident


def test_a_leak_is_urgent_facility_in_simplified_chinese(policy: Policy) -> None:
    s = suggest("楼上渗水到我家天花板", policy)
    assert (s.category, s.urgency, s.severity) == (Category.FACILITY, Urgency.URGENT, Severity.GENERAL)


def test_media_makes_a_complaint_major(policy: Policy) -> None:
    assert suggest("垃圾很臭，我要找記者", policy).severity is Severity.MAJOR


def test_a_text_without_keywords_needs_a_person(policy: Policy) -> None:
    s = suggest("想問一下管理費的問題", policy)
    assert not s.confident and s.urgency is Urgency.NORMAL


def test_similar_chinese_texts_score_high_and_unrelated_low() -> None:
    assert similarity("2座電梯壞了停在5樓", "2座電梯壞了，停在5樓不動") > 0.6
    assert similarity("2座電梯壞了", "垃圾沒人收") < 0.1


def cand(id: int, text: str, days: float, unit: int | None = 5, category: str | None = "facility") -> Candidate:
    return Candidate(id, 1, unit, category, text, T0 + timedelta(days=days))


def test_a_repeat_report_links_to_the_first_one_within_the_window(policy: Policy) -> None:
    first, second = cand(1, "2座電梯壞了停在5樓", 0), cand(2, "2座電梯壞了停在5樓很久", 1)
    new = cand(3, "2座電梯壞了停在5樓！", 2)
    assert find_first_report(new, [second, first], policy) == first


def test_reports_outside_the_window_or_other_estates_are_not_duplicates(policy: Policy) -> None:
    new = cand(3, "2座電梯壞了停在5樓", 10)
    old = cand(1, "2座電梯壞了停在5樓", 0)
    other_estate = Candidate(2, 2, 5, "facility", "2座電梯壞了停在5樓", T0 + timedelta(days=9))
    assert find_first_report(new, [old, other_estate], policy) is None


def test_two_flats_reporting_their_own_kitchen_leak_are_not_one_problem(policy: Policy) -> None:
    """R-IN-5: one problem reported several times; flats 1203 and 1502 each have their own leak."""
    first = cand(1, "廚房水喉漏水，地下濕晒", 0, unit=1203, category="facility")
    new = cand(2, "廚房水喉漏水，地下濕晒！", 1, unit=1502, category="facility")
    assert find_first_report(new, [first], policy) is None


def test_reports_about_a_shared_area_of_the_estate_are_one_problem(policy: Policy) -> None:
    first = cand(1, "2座大堂電梯壞了停在5樓", 0, unit=None)
    new = cand(2, "2座大堂電梯壞了，停在5樓", 1, unit=None)
    assert find_first_report(new, [first], policy) == first


def test_a_flats_report_and_a_shared_area_report_are_different_problems(policy: Policy) -> None:
    flat = cand(1, "2座電梯壞了停在5樓", 0, unit=5)
    lobby = cand(2, "2座電梯壞了停在5樓", 1, unit=None)
    assert find_first_report(lobby, [flat], policy) is None
    assert find_first_report(flat, [lobby], policy) is None
