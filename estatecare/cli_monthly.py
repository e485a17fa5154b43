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


def _later_draws(core: App, key: str, estate: str | None) -> list[tuple[str, str]]:
    """Estates not drawn for ``key`` but drawn for a later month: (name, latest month)."""
    from sqlalchemy import exists, func, select
    from sqlalchemy.orm import aliased

    from models import Estate, SamplingDraw

    this = aliased(SamplingDraw)
    same = exists().where(this.estate_id == Estate.id, this.month == key)
    q = (
        select(Estate.name, func.max(SamplingDraw.month))
        .join(SamplingDraw, SamplingDraw.estate_id == Estate.id)
        .where(SamplingDraw.month > key, ~same)
        .group_by(Estate.id, Estate.name)
        .order_by(Estate.code)
    )
    if estate is not None:
        q = q.where(Estate.code == estate)
    with core.sessions() as session:
        return [(name, month) for name, month in session.execute(q)]


def sample_cmd(
    month: Annotated[str, typer.Option(help="The month, YYYY-MM (e.g. 2026-11).")],
    estate: Annotated[str | None, typer.Option(help="One estate's code; default: every estate.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the draws as JSON.")] = False,
    lang: Annotated[
        Locale | None, typer.Option(help="The output's language; default: the company's (the policy's default_locale).")
    ] = None,
) -> None:
    """Draw the month's sample of general repair and cleaning orders (R-RV-6); again prints the same draw."""
    from estatecare.services import sampling
    from estatecare.services.errors import NotFound
    from estatecare.services.monthly_report.labels import label, local_time
    from models.sampling import month_key

    core = _core()
    locale = lang or core.policy.company.default_locale
    try:
        year, mon = parse_month(month)
    except ValueError:
        typer.echo(label("cli_bad_month", locale).format(value=month), err=True)
        raise typer.Exit(2) from None
    try:
        results = sampling.draw_all(core, year, mon, datetime.now(UTC), estate)
    except NotFound:
        typer.echo(label("cli_no_estate", locale).format(code=estate), err=True)
        raise typer.Exit(2) from None
    except sampling.DrawOrderError:
        later = label("list_separator", locale).join(
            label("cli_later_draw", locale).format(estate=name, month=m)
            for name, m in _later_draws(core, month_key(year, mon), estate)
        )
        typer.echo(label("cli_draw_order", locale).format(later=later), err=True)
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
    timezone = core.policy.company.timezone
    for r in results:
        line = label("sample_draw", locale).format(
            estate=r.estate_name,
            month=r.month,
            population=r.population,
            size=r.size,
            on_site=r.on_site,
            rule=label(f"rule_{r.rule}", locale),
            seed=r.seed,
            cutoff=local_time(r.cutoff_at, timezone),
            due=local_time(r.revisits_due_at, timezone)[:10],
        )
        typer.echo(line + ("" if r.created else label("sample_drawn_before", locale)))
        for n, i in enumerate(r.items, 1):
            cells = (i.work_order_ref, i.unit_label or "—", label(i.kind, locale), label(f"method_{i.method}", locale))
            typer.echo(f"  {n:>2}. " + "  ".join(cells))
