"""What may reach a log carries no resident's address or phone number (R-IN-6)."""

from __future__ import annotations

from estatecare.privacy import redact


def test_an_smtp_refusal_keeps_the_domain_and_the_code_but_not_the_address() -> None:
    text = redact("#3: meiyu.szeto@example.test: 550 5.1.1 no such user here")
    assert text == "#3: ***@example.test: 550 5.1.1 no such user here"


def test_phone_numbers_keep_only_their_last_two_digits() -> None:
    assert redact("call 13812340000 or +86 (139) 1234-0000") == "call ***00 or ***00"


def test_references_and_timestamps_are_left_alone() -> None:
    text = "CH-261123-7KQ4MZ received 2026-11-02T01:00:00Z, 3 notices"
    assert redact(text) == text
