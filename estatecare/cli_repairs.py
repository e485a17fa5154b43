"""``estatecare repair ...``: the front desk registers a resident's repair or service request."""

from __future__ import annotations

from typing import Annotated

import typer

repair_app = typer.Typer(help="Repair and service requests (報修).", no_args_is_help=True)

#: The channels the front desk takes a request by, as the command names them.
CHANNELS = {"phone": "phone", "walk_in": "front_desk", "front_desk": "front_desk"}


def _fail(message: str) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(2)


@repair_app.command("request")
def repair_request(
    estate: Annotated[str, typer.Option(help="Estate code.")],
    trade: Annotated[
        str,
        typer.Option(
            help="water, electrical, doors_windows, lifts, cleaning, renovation_application, "
            "renovation_completion, other"
        ),
    ],
    name: Annotated[str, typer.Option(help="The resident's name.")],
    text: Annotated[str, typer.Option(help="What needs repairing or doing.")],
    received_by: Annotated[str, typer.Option(help="Email of the staff member who took the request.")] = "",
    building: Annotated[str, typer.Option()] = "",
    unit: Annotated[str, typer.Option(help="Unit number; empty: a shared area.")] = "",
    urgency: Annotated[str, typer.Option(help="urgent or normal")] = "normal",
    phone: Annotated[str, typer.Option()] = "",
    email: Annotated[str, typer.Option()] = "",
    channel: Annotated[str, typer.Option(help="phone or walk_in")] = "phone",
    locale: Annotated[str, typer.Option(help="zh-Hant, zh-Hans or en")] = "zh-Hant",
) -> None:
    """Register a request taken by phone or at the desk, dispatched at once to its trade's least
    busy technician; prints the job's reference, technician and on-site deadline."""
    from datetime import UTC, datetime

    from pydantic import ValidationError
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from estatecare.app import App
    from estatecare.reads import repairs as repair_reads
    from estatecare.services import steps
    from estatecare.services.errors import Forbidden, InvalidInput
    from estatecare.services.people import Actor
    from estatecare.services.records import in_transaction
    from estatecare.services.repair_schemas import JobView, RepairIn
    from models import Staff

    if channel not in CHANNELS:
        _fail(f"channel: use phone or walk_in, not {channel!r}")
    if not received_by.strip():
        _fail("received-by: a phone or walk-in request is registered by a staff member: give their email")
    try:
        data = RepairIn.model_validate(
            {
                "estate": estate,
                "building": building,
                "unit": unit,
                "channel": CHANNELS[channel],
                "trade": trade,
                "urgency": urgency,
                "description": text,
                "contact_name": name,
                "contact_phone": phone,
                "contact_email": email,
                "locale": locale,
            }
        )
    except ValidationError as exc:
        _fail("; ".join(f"{'.'.join(map(str, e['loc'])) or 'request'}: {e['msg']}" for e in exc.errors()))
        return
    core = App.from_settings()

    def register(s: Session) -> JobView:
        staff = s.scalar(select(Staff).where(Staff.email == received_by.strip(), Staff.active.is_(True)))
        if staff is None:
            raise InvalidInput("received-by", f"no active staff member with email {received_by!r}")
        receiver = Actor.of(staff)
        done = steps.apply_step(core, s, "repair-request", 0, data, receiver, datetime.now(UTC))
        return repair_reads.job(s, receiver, done.answer.reference)

    try:
        job = in_transaction(core.sessions, register)
    except (InvalidInput, Forbidden) as exc:
        _fail(str(exc))
        return
    zone = core.policy.tz
    typer.echo(job.reference)
    typer.echo(f"technician {job.technician_name or '(none yet: the department head assigns it)'}")
    if job.on_site_due_at is not None:
        typer.echo(f"on site by {job.on_site_due_at.astimezone(zone):%Y-%m-%d %H:%M}")
