"""``estatecare staff ...``: staff API tokens (issued with an expiry, revoked at once)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from estatecare.services.errors import NotFound

staff_app = typer.Typer(help="Staff API tokens and web app passwords.", no_args_is_help=True)


@staff_app.command("issue-token")
def issue_token_cmd(
    email: Annotated[str, typer.Argument(help="The staff member's email address.")],
    days: Annotated[float, typer.Option(min=0.001, help="Days until the token expires.")] = 90,
) -> None:
    """Issue a new API token (the old one stops working); prints it once, with its expiry."""
    from estatecare.app import App
    from estatecare.services.tokens import issue_token

    core = App.from_settings()
    try:
        with core.transaction() as session:
            token, expires = issue_token(session, email, datetime.now(UTC), days)
    except NotFound as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    typer.echo(token)
    typer.echo(f"expires {expires.isoformat(timespec='seconds')}", err=True)


@staff_app.command("revoke-token")
def revoke_token_cmd(email: Annotated[str, typer.Argument(help="The staff member's email address.")]) -> None:
    """Revoke the staff member's API token at once."""
    from estatecare.app import App
    from estatecare.services.tokens import revoke_token

    core = App.from_settings()
    try:
        with core.transaction() as session:
            revoke_token(session, email)
    except NotFound as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"token of {email} revoked")


@staff_app.command("set-password")
def staff_set_password(
    email: str,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
) -> None:
    """Set a staff member's web app password (stored as an argon2id hash)."""
    from estatecare.app import App
    from estatecare.webapp.accounts import set_password

    core = App.from_settings()
    try:
        with core.transaction() as session:
            set_password(session, email, password)
    except (NotFound, ValueError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"password set for {email}")
