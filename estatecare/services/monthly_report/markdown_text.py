"""The monthly report as markdown (the Prefect artifact of the summary flow)."""

from __future__ import annotations

from estatecare.services.monthly_report.labels import ACTION_COLUMNS, action_cells, as_at_label, label
from estatecare.services.monthly_report.schema import MonthlyReport, pct
from models.enums import Locale

#: Corrective actions listed in the artifact (all of them are in the .xlsx and the API's answer).
MARKDOWN_ACTIONS = 100


def markdown(report: MonthlyReport) -> str:
    """The report as markdown (the Prefect artifact): targets per scope, the counts, late revisit
    records and the corrective actions; open and overdue as at ``report.overdue_as_at``."""
    as_at = report.overdue_as_at, report.timezone
    lines = [
        f"# 月度統計 Monthly summary {report.month}",
        "",
        f"Timezone {report.timezone}. {as_at_label('overdue', *as_at)} / {as_at_label('overdue', *as_at, Locale.EN)}.",
        "",
    ]
    lines += ["| 範圍 Scope | 指標 KPI | 數值 Value | 目標 Target | 結果 Result |", "|---|---|---:|---:|---|"]
    for scope in report.scopes:
        for k in scope.kpis:
            result = "no data" if k.met is None else ("✔ met" if k.met else "✘ **MISSED**")
            value = "—" if k.value is None else f"{k.value * 100:.1f}%"
            lines.append(f"| {scope.name} | {k.label} | {value} | {k.comparison} {k.target * 100:.1f}% | {result} |")
    lines += [
        "",
        f"| 範圍 Scope | 投訴 | 有效 | 無效 | 重複 | {as_at_label('open', *as_at)} | {as_at_label('overdue', *as_at)} "
        "| 升級 | 回訪 | 及時響應 | 及時處理 | 遲錄回訪記錄 Late records | 遲錄比例 | 整改 Actions |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for scope in report.scopes:
        c, r = scope.counts, scope.rates
        lines.append(
            f"| {scope.name} | {c['complaints']} | {c['valid']} | {c['invalid']} | {c['repeat']} | {c['open']} | "
            f"{c['overdue']} | {c['escalations']} | {c['revisits_done']} | {pct(r['response_on_time'])} | "
            f"{pct(r['resolution_on_time'])} | {c['late_records']} | {pct(r['late_record_share'])} | "
            f"{c['corrective_actions']} |"
        )
    return "\n".join(lines + _actions(report)) + "\n"


def _actions(report: MonthlyReport) -> list[str]:
    """The corrective actions as a table, the first :data:`MARKDOWN_ACTIONS` of them."""
    actions = report.corrective_actions
    lines = ["", f"## 整改措施 Corrective actions: {len(actions)}"]
    if not actions:
        return lines
    lines += [
        "",
        "| " + " | ".join([label("c_estate"), *(label(k) for k in ACTION_COLUMNS)]) + " |",
        "|" + "---|" * (len(ACTION_COLUMNS) + 1),
    ]
    names = {e.code: e.name for e in report.estates}
    for a in actions[:MARKDOWN_ACTIONS]:
        cells = [names.get(a.estate, a.estate), *action_cells(a, report.timezone)]
        lines.append("| " + " | ".join(c.replace("|", "/") for c in cells) + " |")
    if len(actions) > MARKDOWN_ACTIONS:
        lines += ["", label("more_actions").format(n=len(actions) - MARKDOWN_ACTIONS)]
    return lines
