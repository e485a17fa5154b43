"""The bytes of one notification email: rendered parts, RFC 2047 headers, base64 bodies.

Pure (no database, no SMTP), so it can run in a helper process while the sender's
connections are busy (see :mod:`notifications.render_pool`).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from datetime import datetime
from email.utils import format_datetime as rfc2822_date
from email.utils import formataddr, parseaddr
from functools import cache
from typing import Any
from urllib.parse import quote

from notifications.render import render

#: A built message: (notification id, the bytes, "") or (id, None, why it cannot be rendered).
Built = tuple[int, bytes | None, str]


def build_message(
    row: dict[str, Any], attachments: Sequence[tuple[str, str, bytes]], mail_from: str, tz: str, now: datetime
) -> bytes:
    """The RFC 5322 bytes of one notification: multipart/alternative (text + HTML), plus attachments.

    Assembled directly (base64 parts, RFC 2047 headers) rather than through
    ``email.message``: several times faster, which matters when a sweep sends thousands.
    """
    rendered = render(row["template"], row["context"], row["locale"], tz)
    token = hashlib.blake2b(str(row["message_id"]).encode(), digest_size=12).hexdigest()
    alt = f"=_alt_{token}"  # "=_" never occurs in base64 bodies, so it is a safe boundary
    name = " ".join(str(row["recipient_name"]).split())
    to = formataddr((name, row["recipient_email"]), charset="utf-8") if name else row["recipient_email"]
    head = [
        f"Subject: {encode_header(rendered.subject)}",
        f"From: {_address(mail_from)}",
        f"To: {to}",
        f"Date: {rfc2822_date(now)}",
        f"Message-ID: {row['message_id']}",
        "MIME-Version: 1.0",
        f"Content-Language: {row['locale']}",
        "Auto-Submitted: auto-generated",
        f"X-EstateCare-Template: {row['template']}",
    ]
    body = [
        f"--{alt}",
        'Content-Type: text/plain; charset="utf-8"',
        "Content-Transfer-Encoding: base64",
        "",
        _b64(rendered.text.encode()),
        f"--{alt}",
        'Content-Type: text/html; charset="utf-8"',
        "Content-Transfer-Encoding: base64",
        "",
        _b64(rendered.html.encode()),
        f"--{alt}--",
    ]
    if not attachments:
        lines = [*head, f'Content-Type: multipart/alternative; boundary="{alt}"', "", *body, ""]
        return "\r\n".join(lines).encode("ascii")
    mixed = f"=_mix_{token}"
    lines = [*head, f'Content-Type: multipart/mixed; boundary="{mixed}"', "", f"--{mixed}"]
    lines += [f'Content-Type: multipart/alternative; boundary="{alt}"', "", *body]
    for filename, content_type, data in attachments:
        lines += [
            f"--{mixed}",
            f"Content-Type: {content_type}",
            "Content-Transfer-Encoding: base64",
            f"Content-Disposition: attachment; {_filename_param(filename)}",
            "",
            _b64(data),
        ]
    lines += [f"--{mixed}--", ""]
    return "\r\n".join(lines).encode("ascii")


def _b64(data: bytes) -> str:
    """Base64 in 76-character lines joined by CRLF (RFC 2045)."""
    flat = base64.b64encode(data).decode("ascii")
    return "\r\n".join([flat[i : i + 76] for i in range(0, len(flat), 76)])


def encode_header(value: str) -> str:
    """A header value as RFC 2047 encoded words (UTF-8, base64), folded; plain ASCII as it is.

    Each word carries at most 42 bytes (56 base64 characters), so even the first line,
    after "Subject: ", stays within 78 characters; a word never splits a character.
    Written out because ``email.header.Header`` measures every candidate encoding and
    took a third of the time of building a message.
    """
    if value.isascii() and value.isprintable():
        return value
    words: list[str] = []
    chunk: list[str] = []
    size = 0
    for ch in value:
        n = len(ch.encode())
        if size + n > 42:
            words.append("".join(chunk))
            chunk, size = [], 0
        chunk.append(ch)
        size += n
    words.append("".join(chunk))
    return "\r\n ".join(f"=?utf-8?b?{base64.b64encode(w.encode()).decode('ascii')}?=" for w in words)


def _filename_param(filename: str) -> str:
    """``filename="x.xlsx"``, or the RFC 2231 form for non-ASCII names."""
    if filename.isascii() and '"' not in filename and "\\" not in filename:
        return f'filename="{filename}"'
    return f"filename*=utf-8''{quote(filename, safe='')}"


@cache
def _address(value: str) -> str:
    """``Name <addr>`` with a non-ASCII name encoded (RFC 2047)."""
    name, addr = parseaddr(value)
    if not name:
        return addr or value
    return formataddr((name, addr), charset="utf-8")


def build_many(
    rows: Sequence[dict[str, Any]],
    files: dict[int, list[Any]],
    mail_from: str,
    tz: str,
    now: datetime,
) -> list[Built]:
    """:func:`build_message` for each row; a row that cannot be rendered says why instead."""
    out: list[Built] = []
    for row in rows:
        try:
            out.append((row["id"], build_message(row, files.get(row["id"], ()), mail_from, tz, now), ""))
        except Exception as exc:  # a template or context error will not fix itself
            out.append((row["id"], None, f"cannot render: {type(exc).__name__}: {exc}"))
    return out
