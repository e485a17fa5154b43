"""``estatecare report monthly`` and ``estatecare sample``: the monthly procedures by hand.

Both are idempotent like their scheduled flows: a month's draw is made once (running it
again prints the recorded draw) and the summary email goes once unless ``--force``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from estatecare.app import App
    from estatecare.services.monthly_report import MonthlyReport

from models.enums import Locale
from models.sampling import parse_month

report_app = typer.Typer(help="Reports.", no_args_is_help=True)


def _month(value: str) -> tuple[int, int]:
    try:
        return parse_month(value)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--month") from None


def _core() -> App:
    from estatecare.app import App  # imported lazily: `--help` stays fast

    return App.from_settings()


@report_app.command("monthly")
def report_monthly(
    month: Annotated[str, typer.Option(help="The month, YYYY-MM (e.g. 2026-11).")],
    estate: Annotated[
        str | None, typer.Option(help="One estate's code; default: every estate and the company.")
    ] = None,
    xlsx: Annotated[Path | None, typer.Option(help="Also write the 回訪用戶月統計表 spreadsheet here.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON (as the API answers).")] = False,
    send: Annotated[bool, typer.Option(help="Queue the email to leadership (once per month).")] = False,
    force: Annotated[bool, typer.Option(help="With --send: queue it again even if it was sent.")] = False,
    lang: Annotated[
        Locale | None, typer.Option(help="The report's language; default: the company's (the policy's default_locale).")
    ] = None,
) -> None:
    """The month's complaint statistics and revisit results against the targets (R-KP-1, R-KP-2)."""
    from estatecare.services import monthly_report
    from estatecare.services.errors import NotFound
    from estatecare.services.monthly_report.labels import label
    from estatecare.services.records import in_transaction

    year, mon = _month(month)
    core = _core()
    now = datetime.now(UTC)
    locale = lang or core.policy.company.default_locale

    def work(session: Session) -> tuple[MonthlyReport, list[int]]:
        report = monthly_report.build_report(core, session, year, mon, estate, generated_at=now)
        queued = monthly_report.queue_summary(core, session, report, force=force, now=now) if send else []
        return report, queued

    try:
        report, queued = in_transaction(core.sessions, work)
    except NotFound as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    if as_json:
        typer.echo(report.model_dump_json(indent=2))
    else:
        typer.echo(monthly_report.markdown(report, locale), nl=False)
    if xlsx is not None:
        xlsx.write_bytes(monthly_report.workbook(report))
        typer.echo(label("cli_wrote", locale).format(path=xlsx), err=True)
    if send:
        again = "" if queued or force else label("cli_sent_before", locale)
        typer.echo(label("cli_queued", locale).format(n=len(queued)) + again, err=True)


def sample_cmd(
    month: Annotated[str, typer.Option(help="The month, YYYY-MM (e.g. 2026-11).")],
    estate: Annotated[str | None, typer.Option(help="One estate's code; default: every estate.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the draws as JSON.")] = False,
) -> None:
    """Draw the month's sample of general repair and cleaning orders (R-RV-6); again prints the same draw."""
    from estatecare.services import sampling
    from estatecare.services.errors import NotFound

    year, mon = _month(month)
    core = _core()
    try:
        results = sampling.draw_all(core, year, mon, datetime.now(UTC), estate)
    except (NotFound, sampling.DrawOrderError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    if as_json:
        out = [
            {
                "estate": r.estate_code,
                "month": r.month,
                "rule": r.rule,
                "seed": r.seed,
                "cutoff_at": r.cutoff_at.isoformat(),
                "population": r.population,
                "size": r.size,
                "on_site": r.on_site,
                "revisits_due_at": r.revisits_due_at.isoformat(),
                "drawn_before": not r.created,
                "items": [
                    {"work_order": i.work_order_ref, "unit": i.unit_label, "kind": i.kind, "method": i.method.value}
                    for i in r.items
                ],
            }
            for r in results
        ]
        typer.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    tz = core.policy.tz
    for r in results:
        typer.echo(
            f"{r.estate_code} {r.month}: {r.size} of {r.population} orders, {r.on_site} on site, "
            f"rule {r.rule}, seed {r.seed}, cutoff {r.cutoff_at.astimezone(tz):%Y-%m-%d %H:%M}, "
            f"revisits due before {r.revisits_due_at.astimezone(tz):%Y-%m-%d}"
            + (" (drawn before)" if not r.created else "")
        )
        for n, i in enumerate(r.items, 1):
            typer.echo(f"  {n:>2}. {i.work_order_ref}  {i.unit_label or '-'}  {i.kind}  {i.method.value}")
