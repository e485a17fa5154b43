"""Keeping residents' contact data out of logs and run states (R-IN-6).

Whatever may be logged (exception messages, task results, warnings) goes through
:func:`redact` when it can carry an address or a phone number, e.g. an SMTP server's
answer naming the refused recipient. The full detail stays where access is controlled:
the outbox row (``estatecare mail failed``).
"""

from __future__ import annotations

import re

_EMAIL = re.compile(r"[^\s<>()\[\]:;,\"'@]+@([A-Za-z0-9.-]+\.[A-Za-z]{2,})")
_PHONE = re.compile(r"(?<![\w-])\+?\d[\d ()-]{6,}\d(?![\w-])")


def redact(text: str) -> str:
    """``text`` with email addresses as ``***@domain`` and phone numbers as ``***`` plus their last 2 digits."""
    text = _EMAIL.sub(lambda m: f"***@{m.group(1)}", text)
    return _PHONE.sub(lambda m: f"***{m.group(0)[-2:]}", text)
