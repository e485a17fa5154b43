"""The ``estatecare`` command line."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from estatecare.cli_mail import mail_app
from estatecare.cli_repairs import repair_app
from estatecare.cli_staff import staff_app
from models.policy import PolicyError, load_policy

app = typer.Typer(help="Estate Care: complaint handling and revisits (投訴處理 / 回訪).", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
policy_app = typer.Typer(help="The policy file.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(policy_app, name="policy")
app.add_typer(mail_app, name="mail")
app.add_typer(staff_app, name="staff")
app.add_typer(repair_app, name="repair")


def _fail(message: str) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(2)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Migrate the database to the latest schema."""
    from estatecare.migrate import upgrade
    from estatecare.settings import get_settings

    settings = get_settings()
    settings.make_var_dir()
    upgrade(settings.db_url, revision)
    typer.echo(f"database at {revision}: {_safe_url(settings.db_url)}")


@app.command("seed-demo")
def seed_demo_cmd(
    if_empty: Annotated[bool, typer.Option(help="Do nothing when the database has data.")] = False,
    code: Annotated[str, typer.Option(help="Estate code.")] = "CH",
    history: Annotated[
        bool,
        typer.Option(
            help="Seed the three demo estates (CH, HB, SZ) with a year of complaints, work orders, "
            "monthly draws and reports, as `estatecare run` does."
        ),
    ] = False,
    now: Annotated[
        str,
        typer.Option(
            help="With --history: when the history ends, ISO 8601 with its offset "
            "(e.g. 2026-11-18T11:00+08:00); the same moment gives the same history. Default: now."
        ),
    ] = "",
) -> None:
    """Create a demo estate with buildings, units, departments, staff and residents (with --history,
    three estates with a year of history)."""
    from datetime import UTC, datetime

    from sqlalchemy import select

    from estatecare.app import App
    from estatecare.demo import database_is_empty, seed_demo, write_demo_tokens
    from estatecare.demo.history import WORLD, seed_demo_world
    from models import Estate

    moment = datetime.now(UTC)
    if now:
        try:
            moment = datetime.fromisoformat(now)
        except ValueError:
            _fail(f"--now {now!r} is not an ISO 8601 moment (e.g. 2026-11-18T11:00+08:00)")
        if moment.tzinfo is None:
            _fail("--now needs its offset (e.g. 2026-11-18T11:00+08:00)")
    if history and code != "CH":
        _fail("--history seeds the estates CH, HB and SZ: leave --code out")
    core = App.from_settings()
    with core.transaction() as session:
        if if_empty and not database_is_empty(session):
            typer.echo("database has data: demo not seeded")
            return
        codes = [w.code for w in WORLD] if history else [code]
        taken = sorted(session.scalars(select(Estate.code).where(Estate.code.in_(codes))))
        if taken:
            _fail(f"{'estates' if len(taken) > 1 else 'estate'} {', '.join(taken)} already there: demo not seeded")
        if history:
            seeded = seed_demo_world(session, core, moment)
        else:
            seeded = {code: seed_demo(session, core.policy, code=code)}
    from estatecare.webapp.accounts import write_demo_passwords

    for estate, staff in seeded.items():
        tokens = write_demo_tokens(core.settings.var_dir, estate, staff)
        typer.echo(f"demo estate {estate} seeded: {len(staff)} staff; API tokens in {tokens}")
        typer.echo(f"web app sign-in passwords in {write_demo_passwords(core, estate)}")
    if history:
        typer.echo(f"with a year of history up to {moment.astimezone(core.policy.tz):%Y-%m-%d %H:%M}")


@policy_app.command("check")
def policy_check(file: Path) -> None:
    """Validate a policy file; exit 2 with every bad key named."""
    try:
        policy = load_policy(file)
    except PolicyError as exc:
        _fail(str(exc))
        return
    typer.echo(
        f"policy {file} is valid: timezone {policy.company.timezone}, sampling rule {policy.sampling.rule}, "
        f"escalation chain {' -> '.join(r.value for r in policy.escalation.chain)}"
    )


@app.command("run")
def run_cmd() -> None:
    """Run everything on embedded defaults: migrate, seed demo data, local Prefect server."""
    from estatecare.runner import run

    try:
        run()
    except PolicyError as exc:
        _fail(str(exc))


@app.command("doctor")
def doctor_cmd() -> None:
    """Is every part up, and do the scheduled flows really run? Exit 1 when not."""
    import asyncio

    from estatecare.health import check, prefect_api_url
    from estatecare.health_report import render
    from estatecare.settings import get_settings

    settings = get_settings()
    health = asyncio.run(check(settings))
    typer.echo(render(health, settings.policy.tz, prefect_api_url(settings)))
    if not health.ok:
        raise typer.Exit(1)


@app.command("web")
def web_cmd() -> None:
    """Serve the REST API (and run lifecycle flows in this process as complaints move)."""
    from estatecare.web import serve

    serve()


@app.command("serve-flows")
def serve_flows_cmd() -> None:
    """Serve every deployment and schedule from this process (needs PREFECT_API_URL)."""
    import asyncio

    from deployments import all_deployments
    from deployments.serve import serve

    asyncio.run(serve(all_deployments()))  # built before the loop: to_deployment is a coroutine inside one


@app.command("deploy")
def deploy_cmd(
    pool: Annotated[str, typer.Option(help="Process work pool (created when missing).")] = "estatecare",
) -> None:
    """Distributed mode: register every deployment on a process work pool (needs PREFECT_API_URL)."""
    import asyncio

    from deployments.pool import register

    ids = asyncio.run(register(pool))
    for name in sorted(ids):
        typer.echo(f"{name} -> pool {pool}")
    typer.echo(f"{len(ids)} deployment(s) registered; start workers with: prefect worker start --pool {pool}")


complaint_app = typer.Typer(help="Complaints.", no_args_is_help=True)
app.add_typer(complaint_app, name="complaint")


@complaint_app.command("submit")
def complaint_submit(
    estate: Annotated[str, typer.Option(help="Estate code.")],
    content: Annotated[str, typer.Option(help="What the complaint is about.")],
    channel: Annotated[
        str, typer.Option(help="phone, email, front_desk, online, letter, superior_body, patrol")
    ] = "phone",
    building: Annotated[str, typer.Option()] = "",
    unit: Annotated[str, typer.Option()] = "",
    name: Annotated[str, typer.Option(help="Complainant; empty for anonymous.")] = "",
    phone: Annotated[str, typer.Option()] = "",
    email: Annotated[str, typer.Option()] = "",
    locale: Annotated[str, typer.Option(help="zh-Hant, zh-Hans or en")] = "zh-Hant",
    received_by: Annotated[
        str, typer.Option(help="Email of the staff member who received it (R-IN-2); empty: nobody recorded.")
    ] = "",
    incoming_doc_number: Annotated[
        str, typer.Option(help="A letter's incoming-document number; empty: the next of the estate's log (R-IN-3).")
    ] = "",
    reply_only: Annotated[bool, typer.Option(help="A superior body asks only for a written reply (R-IN-4).")] = False,
) -> None:
    """Register a complaint (as the front desk does) and print its reference (and a written one's
    incoming-document number); the sweep takes it on."""
    from datetime import UTC, datetime

    from pydantic import ValidationError
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from estatecare.app import App
    from estatecare.services import steps
    from estatecare.services.errors import Forbidden, InvalidInput
    from estatecare.services.people import Actor
    from estatecare.services.records import in_transaction
    from estatecare.services.schemas import ComplaintIn
    from models import Staff

    try:
        data = ComplaintIn.model_validate(
            {
                "estate": estate,
                "content": content,
                "channel": channel,
                "building": building,
                "unit": unit,
                "complainant_name": name,
                "contact_phone": phone,
                "contact_email": email,
                "locale": locale,
                "incoming_doc_number": incoming_doc_number,
                "reply_only": reply_only,
            }
        )
    except ValidationError as exc:
        _fail("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()))
        return
    core = App.from_settings()

    def register(s: Session) -> tuple[str, str]:
        receiver = None
        if received_by:
            staff = s.scalar(select(Staff).where(Staff.email == received_by.strip(), Staff.active.is_(True)))
            if staff is None:
                raise InvalidInput("received-by", f"no active staff member with email {received_by!r}")
            receiver = Actor.of(staff)
        complaint = steps.intake(core, s, data, receiver, datetime.now(UTC)).complaint
        return complaint.reference, complaint.incoming_doc_number

    try:
        ref, number = in_transaction(core.sessions, register)
    except (InvalidInput, Forbidden) as exc:
        _fail(str(exc))
        return
    typer.echo(ref)
    if number:
        typer.echo(f"incoming-document number {number}")


from estatecare.cli_monthly import report_app, sample_cmd  # noqa: E402

app.add_typer(report_app, name="report")
app.command("sample")(sample_cmd)


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def main() -> None:
    """Console-script entry point (also ``python -m estatecare``)."""
    # The database, mail, logs and attachments are private: every file this process or its
    # children (the Prefect server, the web app, ...) create is for this user only.
    os.umask(0o077)
    app()
