"""What may reach a log carries no resident's address or phone number, and a masked phone
shows at most its last 4 digits (R-IN-6)."""

from __future__ import annotations

import pytest

from estatecare.privacy import redact
from notifications.catalogue import mask_phone


def test_an_smtp_refusal_keeps_the_domain_and_the_code_but_not_the_address() -> None:
    text = redact("#3: meiyu.szeto@example.test: 550 5.1.1 no such user here")
    assert text == "#3: ***@example.test: 550 5.1.1 no such user here"


def test_phone_numbers_keep_only_their_last_two_digits() -> None:
    assert redact("call 13812340000 or +86 (139) 1234-0000") == "call ***00 or ***00"


def test_references_and_timestamps_are_left_alone() -> None:
    text = "CH-261123-7KQ4MZ received 2026-11-02T01:00:00Z, 3 notices"
    assert redact(text) == text


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("91234567", "****4567"),  # Hong Kong
        ("9123 4567", "****4567"),
        ("+852 9123 4567", "+852 ****4567"),
        ("+85291234567", "+852 ****4567"),
        ("00852-9123-4567", "+852 ****4567"),
        ("13812345678", "*******5678"),  # mainland
        ("138-1234-5678", "*******5678"),
        ("+86 138 1234 5678", "+86 *******5678"),
        ("0912345678", "******5678"),  # Taiwan
        ("0912-345-678", "******5678"),
        ("+886 912 345 678", "+886 *****5678"),
        ("+886-912-345-678", "+886 *****5678"),
        ("+1 415 555 0100", "*******0100"),  # another country: its code is masked with the number
        ("123456", "****56"),  # a short number shows fewer digits
        ("1234", "****"),
        ("", ""),
    ],
)
def test_a_masked_phone_shows_at_most_the_last_four_digits_of_the_local_number(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked
    local = masked.rsplit(" ", 1)[-1]
    assert sum(c.isdigit() for c in local) <= 4
