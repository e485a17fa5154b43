"""The SMTP transport (aiosmtplib): where to send, connecting, one MAIL/RCPT/DATA
transaction per message, and whether a failure is temporary (timeouts, dropped
connections, 4xx: retry later) or permanent (5xx, invalid address: never retried).
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field

import aiosmtplib
from aiosmtplib.typing import SMTPStatus

from estatecare.settings import Settings
from notifications import render_pool


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to send mail."""

    host: str = "127.0.0.1"
    port: int = 1025
    starttls: bool = False
    use_tls: bool = False  # implicit TLS (SMTPS, usually port 465)
    username: str = ""
    password: str = ""
    timeout: float = 10.0
    mail_from: str = "Estate Care <no-reply@estatecare.localhost>"
    connections: int = 1  # parallel SMTP connections per deliver_pending call
    # build large batches in a helper process (notifications.render_pool); default: if worthwhile here
    render_helper: bool = field(default_factory=render_pool.worthwhile)

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpConfig:
        """The SMTP settings of ``settings`` (ESTATECARE_SMTP_*)."""
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            starttls=settings.smtp_starttls,
            use_tls=settings.smtp_ssl,
            username=settings.smtp_username,
            password=settings.smtp_password,
            timeout=settings.smtp_timeout,
            mail_from=settings.mail_from,
            connections=settings.smtp_connections,
            render_helper=render_pool.worthwhile()
            if settings.smtp_render_helper is None
            else settings.smtp_render_helper,
        )


class _Permanent(Exception):
    """A failure that retrying will not fix (5xx, invalid address, bad template)."""


class _Temporary(Exception):
    """A failure worth retrying later (connection, timeout, 4xx)."""


def _classify(exc: BaseException) -> Exception:
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [e.code for e in exc.recipients]
        reason = "; ".join(f"{e.recipient}: {e.code} {e.message}" for e in exc.recipients)
        return _Permanent(reason) if codes and all(c >= 500 for c in codes) else _Temporary(reason)
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        reason = f"{exc.code} {exc.message}"
        return _Permanent(reason) if exc.code >= 500 else _Temporary(reason)
    if isinstance(exc, ValueError | aiosmtplib.SMTPNotSupported):
        return _Permanent(f"{type(exc).__name__}: {exc}")
    return _Temporary(f"{type(exc).__name__}: {exc}")


async def _connect(config: SmtpConfig) -> aiosmtplib.SMTP:
    smtp = aiosmtplib.SMTP(
        hostname=config.host,
        port=config.port,
        use_tls=config.use_tls,
        start_tls=config.starttls if config.starttls else False,
        timeout=config.timeout,
        username=config.username or None,
        password=config.password or None,
    )
    await smtp.connect()
    if smtp.is_ehlo_or_helo_needed:  # MAIL is sent directly (see _transact): greet first
        try:
            await smtp.ehlo()
        except aiosmtplib.SMTPHeloError:
            await smtp.helo()
    return smtp


#: What may stand between the angle brackets of MAIL FROM / RCPT TO: no spaces, brackets or controls.
_MAILBOX = re.compile(r"[^\s<>()\[\]\\,;:\"]+@[^\s<>()\[\]\\,;:\"@]+", re.ASCII)


def _envelope_address(address: str) -> bytes | None:
    """``<addr>`` for an SMTP command, or None for an address that needs aiosmtplib's own
    handling (non-ASCII, SMTPUTF8) or that it will refuse (anything that could smuggle a command)."""
    if not (address.isascii() and _MAILBOX.fullmatch(address)):
        return None
    return f"<{address}>".encode("ascii")


def _wire_data(message: bytes) -> bytes | None:
    """The DATA payload of a message whose lines all end in CRLF (as built by
    :mod:`notifications.mime`): dot-stuffed and terminated; None for anything else.

    ``SMTP.data`` rewrites every line ending and scans every line with a regular expression
    for each message; for a message known to be clean a few byte counts are enough.
    """
    crlf = message.count(b"\r\n")
    if not message.endswith(b"\r\n") or message.count(b"\n") != crlf or message.count(b"\r") != crlf:
        return None
    if message.startswith(b"."):
        message = b"." + message
    return message.replace(b"\r\n.", b"\r\n..") + b".\r\n"


async def _send_data(smtp: aiosmtplib.SMTP, wire: bytes) -> None:
    """DATA with a payload from :func:`_wire_data`, as ``SMTP.data`` sends it."""
    answer = await smtp.execute_command(b"DATA")
    if answer.code != SMTPStatus.start_input:
        raise aiosmtplib.SMTPDataError(answer.code, answer.message)
    protocol = smtp.protocol
    if protocol is None:
        raise aiosmtplib.SMTPServerDisconnected("Connection lost")
    try:
        protocol.write(wire)
        # read_response marks the reply as expected before anything can arrive: the event
        # loop runs no callback between the write and this call.
        answer = await protocol.read_response(timeout=smtp.timeout)
    except (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPTimeoutError):
        smtp.close()  # as SMTP.data does: the connection is out of step
        raise
    if answer.code != SMTPStatus.completed:
        raise aiosmtplib.SMTPDataError(answer.code, answer.message)


async def _transact(smtp: aiosmtplib.SMTP, sender: str, recipient: str, data: bytes) -> None:
    """MAIL, RCPT, DATA for one message, as ``SMTP.sendmail`` does for one recipient, but with
    plain addresses checked once by a pattern rather than parsed again for every command (that
    parsing was a third of the client's work per message). After a refusal the transaction is
    reset so the connection can carry the next message."""
    mail_from, rcpt_to = _envelope_address(sender), _envelope_address(recipient)
    if mail_from is None or rcpt_to is None:
        await smtp.sendmail(sender, [recipient], data)
        return
    try:
        answer = await smtp.execute_command(b"MAIL", b"FROM:" + mail_from)
        if answer.code != SMTPStatus.completed:
            raise aiosmtplib.SMTPSenderRefused(answer.code, answer.message, sender)
        answer = await smtp.execute_command(b"RCPT", b"TO:" + rcpt_to)
        if answer.code not in (SMTPStatus.completed, SMTPStatus.will_forward):
            raise aiosmtplib.SMTPRecipientRefused(answer.code, answer.message, recipient)
        wire = _wire_data(data)
        if wire is None:
            await smtp.data(data)
        else:
            await _send_data(smtp, wire)
    except aiosmtplib.SMTPResponseException:
        if smtp.is_connected:
            with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                await smtp.rset()
        raise
