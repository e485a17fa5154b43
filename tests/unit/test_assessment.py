"""Keyword rules that suggest an assessment (R-AS-1..3) and duplicate detection (R-IN-5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from models.assessment import Candidate, Evidence, find_first_report, similarity, suggest
from models.enums import Category, ServiceArea, Severity, Urgency
from models.policy import Policy, PolicyError, parse_policy

T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)


def test_a_person_trapped_in_a_lift_is_urgent_major_safety_with_its_evidence(policy: Policy) -> None:
    s = suggest("3座電梯困人，有人被困", policy)
    assert (s.category, s.urgency, s.severity) == (Category.SAFETY, Urgency.URGENT, Severity.MAJOR)
    assert Evidence("trapped now", ("被困", "困人")) in s.evidence["severity"]
    assert not s.confident  # a person assesses: the default policy never lets rules decide severity


def test_a_leak_is_facility_in_simplified_chinese(policy: Policy) -> None:
    s = suggest("楼上渗水到我家天花板", policy)
    assert (s.category, s.service_area, s.urgency, s.severity) == (
        Category.FACILITY,
        ServiceArea.REPAIRS,
        Urgency.NORMAL,
        Severity.GENERAL,
    )
    assert {"category", "service_area"} <= s.confident_fields and not s.confident


def test_media_makes_a_complaint_major(policy: Policy) -> None:
    assert suggest("垃圾很臭，我要找記者", policy).severity is Severity.MAJOR


@pytest.mark.parametrize(
    "text",
    [
        "樓上住戶發火罵人",
        "走廊有人抽煙",
        "樓下火鍋店油煙",
        "楼上住户发火骂人",
        "有人在走廊抽烟",
        "火警鐘無啦啦響",
        "经常被困扰",
    ],
)
def test_near_misses_of_fire_and_trapping_suggest_neither_urgent_nor_major_nor_safety(
    policy: Policy, text: str
) -> None:
    s = suggest(text, policy)
    assert (s.urgency, s.severity) == (Urgency.NORMAL, Severity.GENERAL), s.evidence
    assert s.category is not Category.SAFETY, s.evidence


def test_smoke_and_cooking_fumes_are_environment(policy: Policy) -> None:
    assert suggest("走廊有人抽煙", policy).category is Category.ENVIRONMENT
    assert suggest("樓下火鍋店油煙", policy).category is Category.ENVIRONMENT


def test_a_guards_attitude_is_service_quality_of_the_security_area(policy: Policy) -> None:
    s = suggest("保安態度差", policy)
    assert (s.category, s.service_area) == (Category.SERVICE, ServiceArea.SECURITY)
    assert s.severity is Severity.GENERAL


def test_a_municipal_road_suggests_invalid_with_its_evidence(policy: Policy) -> None:
    s = suggest("小區門口的市政道路有個大坑", policy)
    assert s.valid is False and s.evidence["valid"] == (Evidence("municipal", ("市政",)),)
    assert not s.confident  # an invalid one is always explained by a person (R-AS-2)


def test_renovation_noise_suggests_environment_and_housing(policy: Policy) -> None:
    s = suggest("樓上裝修成日打鑽，嘈到瞓唔到", policy)
    assert (s.category, s.service_area) == (Category.ENVIRONMENT, ServiceArea.HOUSING)


def test_english_keywords_match_whole_words_only(policy: Policy) -> None:
    assert suggest("There is a fire in block 2", policy).severity is Severity.MAJOR
    assert suggest("The lights in the firewall room flicker", policy).severity is Severity.GENERAL
    assert suggest("ＦＩＲＥ on the 3rd floor", policy).urgency is Urgency.URGENT  # NFKC + casefold


def test_a_past_trapping_is_major_but_not_urgent(policy: Policy) -> None:
    s = suggest("昨天有人被困在2号电梯40分钟，物业一直没人来", policy)
    assert (s.urgency, s.severity) == (Urgency.NORMAL, Severity.MAJOR)


def test_a_text_without_keywords_suggests_nothing(policy: Policy) -> None:
    s = suggest("想問一下", policy)
    assert s.category is None and s.urgency is Urgency.NORMAL and s.valid and s.evidence == {}


def test_rules_decide_alone_only_what_the_policy_marks_and_only_without_conflict(policy: Policy) -> None:
    data = policy.model_dump(mode="json")
    every = ["category", "service_area", "urgency", "severity", "valid"]
    data["assessment"] = {
        "rules": [
            {
                "name": "lift",
                "keywords": ["電梯"],
                "category": "facility",
                "service_area": "repairs",
                "apply_alone": every,
            },
            {"name": "noise", "keywords": ["噪音"], "category": "environment", "service_area": "housing"},
        ]
    }
    confident = parse_policy(data)
    assert suggest("2座電梯壞了", confident).confident
    assert not suggest("2座電梯噪音好大", confident).confident_fields >= {"category"}  # two rules disagree
    data["assessment"]["auto"] = False
    assert suggest("2座電梯壞了", parse_policy(data)).confident_fields == frozenset()


def test_a_rule_must_suggest_something_and_apply_alone_only_what_it_sets() -> None:
    with pytest.raises(PolicyError, match="at least one of"):
        parse_policy({"assessment": {"rules": [{"keywords": ["x"]}]}})
    with pytest.raises(PolicyError, match="apply_alone"):
        parse_policy({"assessment": {"rules": [{"keywords": ["x"], "urgency": "urgent", "apply_alone": ["category"]}]}})


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
