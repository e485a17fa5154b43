"""The policy file: shipped files are valid, bad values are refused naming the key."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from models.policy import DEFAULT_POLICY_FILE, POLICY_DIR, PolicyError, load_policy, parse_policy


def test_the_shipped_default_holds_the_seed_values() -> None:
    policy = load_policy(DEFAULT_POLICY_FILE)
    assert policy.deadlines.urgent_assign_minutes == 30
    assert policy.deadlines.first_response_hours == 24
    assert policy.deadlines.general_resolution_days == 2
    assert policy.targets.revisit_handling_rate == 1.0
    assert policy.targets.phone_letter_share_max == 0.70
    assert policy.sampling.rule == "tiered"
    assert policy.company.timezone == "Asia/Shanghai"


def test_the_alternative_example_holds_the_other_seeds_values() -> None:
    policy = load_policy(POLICY_DIR / "alternative.toml")
    assert policy.targets.revisit_handling_rate == 0.96
    assert policy.targets.phone_letter_share_max == 0.60
    assert policy.sampling.rule == "percent_capped_households"
    assert policy.sampling.percent == 5


@pytest.mark.parametrize(
    ("data", "key", "value"),
    [
        ({"deadlines": {"general_resolution_days": -1}}, "deadlines.general_resolution_days", "-1"),
        ({"sampling": {"percent": 130}}, "sampling.percent", "130"),
        ({"routing": {"facility": "plumbing"}}, "routing.facility", "'plumbing'"),
        ({"area_routing": {"housing": "plumbing"}}, "area_routing.housing", "'plumbing'"),
        ({"targets": {"repair_satisfaction": 1.5}}, "targets.repair_satisfaction", "1.5"),
        ({"company": {"timezone": "Mars/Olympus"}}, "company.timezone", "'Mars/Olympus'"),
        ({"escalation": {"chain": ["gm", "gm"]}}, "escalation.chain", "gm"),
        ({"deadlines": {"urgent_assign_minute": 30}}, "deadlines.urgent_assign_minute", "unknown key"),
    ],
)
def test_a_bad_value_is_refused_naming_the_key_and_value(data: dict[str, object], key: str, value: str) -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy(data, "test.toml")
    assert key in str(info.value)
    assert value in str(info.value)


def test_policy_check_exits_2_and_prints_the_bad_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[sampling]\npercent = 130\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "estatecare", "policy", "check", str(bad)], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "sampling.percent = 130" in result.stderr


def test_a_file_that_is_not_toml_is_refused_clearly(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[deadlines\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="not valid TOML"):
        load_policy(bad)
