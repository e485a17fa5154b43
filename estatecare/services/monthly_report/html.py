"""The monthly report as the ``monthly_summary`` HTML email's context (tables and bar charts)."""

from __future__ import annotations

from typing import Any

from estatecare.services.monthly_report.labels import ACTION_COLUMNS, action_cells, as_at_label, label
from estatecare.services.monthly_report.schema import MonthlyReport, ScopeReport, pct
from models.enums import Locale

#: Corrective actions listed in the email (all of them are in the .xlsx and the API's answer).
EMAIL_ACTIONS = 50


def email_context(
    report: MonthlyReport,
    scope: ScopeReport,
    locale: Locale,
    action_url: str = "",
    *,
    actions_limit: int | None = EMAIL_ACTIONS,
) -> dict[str, Any]:
    """The ``monthly_summary`` message context in the recipient's language (values in %); the
    report page shows the same, with every corrective action (``actions_limit`` None)."""
    kpi_rows = [
        {
            "id": k.id,
            "label": label(k.id, locale),
            "value": pct(k.value),
            "target": round(k.target * 100, 1),
            "comparison": k.comparison,
            "met": k.met,
            "unit": "%" if k.value is not None else "",
        }
        for k in scope.kpis
    ]
    return {
        "month": report.month,
        "scope": label("company", locale) if scope.code == "*" else scope.name,
        "kpis": kpi_rows,
        "overdue_as_at": as_at_label("overdue", report.overdue_as_at, report.timezone, locale),
        "tables": [
            t
            for t in [*_tables(report, scope, locale), *_action_tables(report, scope, locale, actions_limit)]
            if t["rows"]
        ],
        "action_url": action_url,
    }


def _tables(report: MonthlyReport, scope: ScopeReport, locale: Locale) -> list[dict[str, Any]]:
    """The email's tables in order, empty ones included."""
    c = scope.counts

    def lb(key: str) -> str:
        return label(key, locale)

    def at(key: str) -> str:
        return as_at_label(key, report.overdue_as_at, report.timezone, locale)

    tables: list[dict[str, Any]] = [
        {
            "title": lb("t_overview"),
            "columns": [lb("c_name"), lb("c_count")],
            "rows": [
                *([lb(k), c[k]] for k in ("complaints", "valid", "invalid", "repeat")),
                [at("open"), c["open"]],
                [at("overdue"), c["overdue"]],
                *([lb(k), c[k]] for k in ("escalations", "corrective_actions", "late_records")),
            ],
            "chart": False,
        },
        {
            "title": lb("t_rates"),
            "columns": [lb("c_name"), lb("c_rate") + " %"],
            "rows": [[lb(k), pct(v)] for k, v in scope.rates.items()],
        },
    ]
    for key, rows in (("t_category", scope.by_category), ("t_service_area", scope.by_service_area)):
        tables.append(
            {
                "title": lb(key),
                "columns": [lb("c_name"), lb("c_count"), lb("c_valid")],
                "rows": [[label(b.key, locale), b.count, b.valid] for b in rows],
            }
        )
    tables.append(
        {
            "title": lb("t_department"),
            "columns": [lb("c_name"), lb("c_count"), lb("c_valid")],
            "rows": [[b.label, b.count, b.valid] for b in scope.by_department],
        }
    )
    if scope.code == "*" and report.estates:
        tables.append(
            {
                "title": lb("t_estate"),
                "columns": [lb("c_estate"), lb("c_complaints"), at("open"), at("overdue"), lb("c_revisits")],
                "rows": [
                    [e.name, e.counts["complaints"], e.counts["open"], e.counts["overdue"], e.counts["revisits_done"]]
                    for e in report.estates
                ],
            }
        )
    tables.append(
        {
            "title": lb("t_revisits"),
            "columns": [lb("c_name"), lb("c_count")],
            "rows": [
                [lb(k), c[k]]
                for k in (
                    "revisits_done",
                    "revisits_reviewed",
                    "on_site_done",
                    "on_site_signed",
                    "phone_done",
                    "letter_done",
                    "satisfied_full",
                    "basically_satisfied",
                    "unsatisfied",
                    "revisits_done_ytd",
                )
            ],
        }
    )
    if scope.escalations_by_kind:
        tables.append(
            {
                "title": lb("t_escalations"),
                "columns": [lb("c_name"), lb("c_count")],
                "rows": [[label(k, locale), n] for k, n in scope.escalations_by_kind.items()],
            }
        )
    return tables


def _action_tables(
    report: MonthlyReport, scope: ScopeReport, locale: Locale, limit: int | None
) -> list[dict[str, Any]]:
    """Late revisit records per estate (R-RV-13), then the corrective actions (R-KP-1), the first
    ``limit`` of them listed (None: all)."""
    estates = report.estates if scope.code == "*" else [scope]
    actions = report.actions_of(scope)
    shown = actions if limit is None else actions[:limit]
    title = label("t_actions_n", locale).format(n=len(actions))
    if len(actions) > len(shown):
        title += " " + label("more_actions", locale).format(n=len(actions) - len(shown))
    return [
        {
            "title": label("t_late_records", locale),
            "columns": [label(k, locale) for k in ("c_estate", "revisits_done", "c_late", "c_share")],
            "rows": [
                [e.name, e.counts["revisits_done"], e.counts["late_records"], pct(e.rates["late_record_share"])]
                for e in estates
            ],
            "chart": False,
        },
        {
            "title": title,
            "columns": [label(k, locale) for k in ACTION_COLUMNS],
            "rows": [action_cells(a, report.timezone, locale) for a in shown],
            "chart": False,
        },
    ]
