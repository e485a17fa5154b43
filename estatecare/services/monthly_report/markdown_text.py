"""The monthly report as markdown in one language (the summary flow's Prefect artifact and
``estatecare report monthly``): every line's words from ``labels``."""

from __future__ import annotations

from collections.abc import Iterable
from zoneinfo import ZoneInfo

from babel.dates import get_timezone_name

from estatecare.services.monthly_report.labels import ACTION_COLUMNS, action_cells, as_at_label, label
from estatecare.services.monthly_report.schema import MonthlyReport, ScopeReport, pct
from models.enums import Locale
from notifications.i18n import BABEL_LOCALES

#: Corrective actions listed in the artifact (all of them are in the .xlsx and the API's answer).
MARKDOWN_ACTIONS = 100


def markdown(report: MonthlyReport, locale: Locale = Locale.ZH_HANT) -> str:
    """The report as markdown in ``locale``: targets per scope, the counts, late revisit records and
    the corrective actions; open and overdue as at ``report.overdue_as_at``."""

    def lb(key: str) -> str:
        return label(key, locale)

    def at(key: str) -> str:
        return as_at_label(key, report.overdue_as_at, report.timezone, locale)

    zone = get_timezone_name(ZoneInfo(report.timezone), "long", locale=BABEL_LOCALES[locale])
    lines = [
        f"# {lb('md_title').format(month=report.month)}",
        "",
        lb("md_times").format(zone=zone, as_at=at("overdue")),
        "",
        _row(lb(k) for k in ("c_scope", "c_kpi", "c_value", "c_target", "c_result")),
        "|---|---|---:|---:|---|",
    ]
    for scope in report.scopes:
        for k in scope.kpis:
            result = lb("kpi_no_data") if k.met is None else lb("kpi_met" if k.met else "kpi_missed")
            value = "—" if k.value is None else f"{k.value * 100:.1f}%"
            target = f"{k.comparison} {k.target * 100:.1f}%"
            lines.append(_row([_scope_name(scope, locale), lb(k.id), value, target, result]))
    columns = [
        *("c_scope", "c_complaints", "c_valid", "c_invalid", "c_repeat"),
        *("open", "overdue", "c_escalations", "c_revisits", "c_response_on_time", "c_resolution_on_time"),
        *("late_records", "c_late_share", "c_actions"),
    ]
    lines += ["", _row(at(k) if k in ("open", "overdue") else lb(k) for k in columns)]
    lines.append("|---|" + "---:|" * (len(columns) - 1))
    for scope in report.scopes:
        c, r = scope.counts, scope.rates
        counts = [c[k] for k in ("complaints", "valid", "invalid", "repeat", "open", "overdue", "escalations")]
        rates = [_percent(r["response_on_time"]), _percent(r["resolution_on_time"])]
        late = [c["late_records"], _percent(r["late_record_share"]), c["corrective_actions"]]
        lines.append(_row([_scope_name(scope, locale), *counts, c["revisits_done"], *rates, *late]))
    return "\n".join(lines + _actions(report, locale)) + "\n"


def _row(cells: Iterable[object]) -> str:
    """A markdown table row (``|`` in a cell would split it)."""
    return "| " + " | ".join(str(c).replace("|", "/") for c in cells) + " |"


def _percent(value: float | None) -> str:
    shown = pct(value)
    return f"{shown}%" if isinstance(shown, float) else shown


def _scope_name(scope: ScopeReport, locale: Locale) -> str:
    return label("company", locale) if scope.code == "*" else scope.name


def _actions(report: MonthlyReport, locale: Locale) -> list[str]:
    """The corrective actions as a table, the first :data:`MARKDOWN_ACTIONS` of them."""
    actions = report.corrective_actions
    lines = ["", f"## {label('t_actions_count', locale).format(n=len(actions))}"]
    if not actions:
        return lines
    lines += [
        "",
        _row(label(k, locale) for k in ("c_estate", *ACTION_COLUMNS)),
        "|" + "---|" * (len(ACTION_COLUMNS) + 1),
    ]
    names = {e.code: e.name for e in report.estates}
    for a in actions[:MARKDOWN_ACTIONS]:
        lines.append(_row([names.get(a.estate, a.estate), *action_cells(a, report.timezone, locale)]))
    if len(actions) > MARKDOWN_ACTIONS:
        lines += ["", label("more_actions", locale).format(n=len(actions) - MARKDOWN_ACTIONS)]
    return lines
