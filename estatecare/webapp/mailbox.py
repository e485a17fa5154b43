"""The mail catcher's messages (``var/mail/*.eml``) for the demo page ``/mail``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path

_ID = re.compile(r"^[0-9A-Za-z_-]{1,80}$")


@dataclass(frozen=True)
class Caught:
    """One caught message."""

    id: str
    sent_at: datetime | None
    to: str
    subject: str
    text: str


def _read(path: Path) -> Caught:
    msg = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(msg, EmailMessage)
    try:
        when: datetime | None = parsedate_to_datetime(str(msg["Date"]))
    except (TypeError, ValueError):
        when = None
    body = msg.get_body(preferencelist=("plain",))
    text = body.get_content() if isinstance(body, EmailMessage) else ""
    return Caught(path.stem, when, str(msg["To"] or ""), str(msg["Subject"] or ""), str(text))


def messages(directory: Path, limit: int = 200) -> list[Caught]:
    """Newest first."""
    files = sorted(directory.glob("*.eml"), key=lambda p: p.name, reverse=True)[:limit]
    return [_read(p) for p in files]


def message(directory: Path, mail_id: str) -> Caught | None:
    """One message by id, or None (ids are file stems: nothing outside ``directory``)."""
    if not _ID.match(mail_id):
        return None
    path = directory / f"{mail_id}.eml"
    return _read(path) if path.is_file() else None
