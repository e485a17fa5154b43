"""``estatecare mail ...``: read caught mail, list failed notifications, send now."""

from __future__ import annotations

import asyncio
from email import message_from_bytes, policy
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path

import typer

from estatecare.mailcatcher import mail_dir
from estatecare.settings import get_settings

mail_app = typer.Typer(help="Email: caught mail (var/mail), failed and pending notifications.", no_args_is_help=True)


def _read(path: Path) -> EmailMessage:
    msg = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def _files() -> list[Path]:
    return sorted(mail_dir(get_settings()).glob("*.eml"), key=lambda p: p.name, reverse=True)


@mail_app.command("catch")
def mail_catch() -> None:
    """Run the local mail catcher until stopped (``estatecare run`` starts it)."""
    from estatecare.mailcatcher import serve

    serve(get_settings())


@mail_app.command("list")
def mail_list(limit: int = typer.Option(50, help="How many, newest first.")) -> None:
    """Caught messages, newest first: id, time, recipient, subject."""
    files = _files()
    if not files:
        typer.echo(f"no mail in {mail_dir(get_settings())}")
        return
    for path in files[:limit]:
        msg = _read(path)
        try:
            when = parsedate_to_datetime(str(msg["Date"])).isoformat(timespec="seconds")
        except (TypeError, ValueError):
            when = "?"
        typer.echo(f"{path.stem}  {when}  {msg['To']}  {msg['Subject']}")


@mail_app.command("show")
def mail_show(mail_id: str = typer.Argument(..., metavar="ID")) -> None:
    """One caught message: its headers and the decoded text part."""
    matches = [p for p in _files() if p.stem == mail_id or p.stem.startswith(mail_id)]
    if len(matches) != 1:
        typer.echo(f"no single message matches {mail_id!r}", err=True)
        raise typer.Exit(2)
    msg = _read(matches[0])
    for name in ("Message-ID", "Date", "From", "To", "Subject", "Content-Language"):
        if msg[name] is not None:
            typer.echo(f"{name}: {msg[name]}")
    attachments = [a.get_filename() for a in msg.iter_attachments() if a.get_filename()]
    if attachments:
        typer.echo(f"Attachments: {', '.join(str(a) for a in attachments)}")
    body = msg.get_body(preferencelist=("plain",))
    typer.echo("")
    typer.echo(body.get_content() if isinstance(body, EmailMessage) else "(no text part)")


@mail_app.command("failed")
def mail_failed() -> None:
    """Notifications that failed permanently, with the reason."""
    from sqlalchemy import select

    from estatecare.app import App
    from models import Notification
    from models.enums import NotificationStatus

    core = App.from_settings()
    with core.sessions() as s:
        rows = s.scalars(
            select(Notification).where(Notification.status == NotificationStatus.FAILED).order_by(Notification.id)
        ).all()
        for n in rows:
            typer.echo(f"#{n.id}  {n.template}  {n.recipient_email}  attempts={n.attempts}  {n.last_error}")
    if not rows:
        typer.echo("no failed notifications")


@mail_app.command("send")
def mail_send(limit: int = typer.Option(10_000, help="At most this many.")) -> None:
    """Deliver due notifications now; exit 1 if any failed permanently."""
    from estatecare.app import App
    from notifications.sender import SmtpConfig, deliver_pending

    core = App.from_settings()
    config = SmtpConfig.from_settings(core.settings)
    report = asyncio.run(deliver_pending(core.sessions, config, core.policy.company.timezone, limit=limit))
    typer.echo(f"sent {len(report.sent)}, deferred {len(report.deferred)}, failed {len(report.failed)}")
    for nid in report.deferred + report.failed:
        typer.echo(f"  #{nid}: {report.failures[nid]}")
    if report.failed:
        raise typer.Exit(1)
