"""The RFC 5322 bytes of a notification read back by Python's own mail parser."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes
from email.policy import default

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notifications.mime import build_message, encode_header
from notifications.samples import SAMPLE_CONTEXTS


@pytest.mark.parametrize(
    "subject",
    [
        "Complaint CH-2026-0042 received",
        "我們已收到您的投訴（CH-2026-0042）",
        "2026年11月投诉及回访月报：翠湖花園 — a long subject that needs more than one encoded word 🙂",
    ],
)
def test_a_subject_reads_back_as_written(subject: str) -> None:
    encoded = encode_header(subject)
    assert all(len(line) <= 78 for line in f"Subject: {encoded}".split("\r\n"))
    msg = message_from_bytes(f"Subject: {encoded}\r\n\r\nbody\r\n".encode("ascii"), policy=default)
    assert str(msg["Subject"]) == subject


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1, max_size=120))
def test_any_subject_encodes_to_ascii_words_that_decode_to_it(subject: str) -> None:
    encoded = encode_header(subject)
    encoded.encode("ascii")  # raises if anything but ASCII got through
    if not (subject.isascii() and subject.isprintable()):
        words = encoded.split("\r\n ")
        assert all(len(w) <= 75 for w in words)
        msg = message_from_bytes(f"Subject: {encoded}\r\n\r\n".encode("ascii"), policy=default)
        assert str(msg["Subject"]) == subject


def test_a_built_message_parses_with_both_parts_and_its_headers() -> None:
    row = {
        "template": "complaint_ack",
        "context": SAMPLE_CONTEXTS["complaint_ack"],
        "locale": "zh-Hant",
        "recipient_email": "resident@example.test",
        "recipient_name": "陳大文",
        "message_id": "<m1@estatecare>",
    }
    sender = "翠湖物業 <no-reply@estatecare.localhost>"
    data = build_message(row, (), sender, "Asia/Shanghai", datetime(2026, 11, 2, tzinfo=UTC))
    assert all(len(line) <= 998 for line in data.split(b"\r\n"))
    msg = message_from_bytes(data, policy=default)
    assert "CH-" in str(msg["Subject"])
    assert str(msg["From"]) == "翠湖物業 <no-reply@estatecare.localhost>"
    assert str(msg["To"]) == "陳大文 <resident@example.test>"
    assert msg["Message-ID"] == "<m1@estatecare>"
    text = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert text is not None and html is not None
    assert "CH-" in text.get_content() and "<html" in html.get_content().lower()
