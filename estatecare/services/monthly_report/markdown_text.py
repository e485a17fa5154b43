"""The monthly report as markdown (the Prefect artifact of the summary flow)."""

from __future__ import annotations

from estatecare.services.monthly_report.schema import MonthlyReport, pct


def markdown(report: MonthlyReport) -> str:
    """The report as markdown (the Prefect artifact): targets per scope, then the counts."""
    lines = [f"# 月度統計 Monthly summary {report.month}", "", f"Timezone {report.timezone}.", ""]
    lines += ["| 範圍 Scope | 指標 KPI | 數值 Value | 目標 Target | 結果 Result |", "|---|---|---:|---:|---|"]
    for scope in report.scopes:
        for k in scope.kpis:
            result = "no data" if k.met is None else ("✔ met" if k.met else "✘ **MISSED**")
            value = "—" if k.value is None else f"{k.value * 100:.1f}%"
            lines.append(f"| {scope.name} | {k.label} | {value} | {k.comparison} {k.target * 100:.1f}% | {result} |")
    lines += [
        "",
        "| 範圍 Scope | 投訴 | 有效 | 無效 | 重複 | 未結 | 逾期 | 升級 | 回訪 | 及時響應 | 及時處理 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for scope in report.scopes:
        c, r = scope.counts, scope.rates
        lines.append(
            f"| {scope.name} | {c['complaints']} | {c['valid']} | {c['invalid']} | {c['repeat']} | {c['open']} | "
            f"{c['overdue']} | {c['escalations']} | {c['revisits_done']} | {pct(r['response_on_time'])} | "
            f"{pct(r['resolution_on_time'])} |"
        )
    return "\n".join(lines) + "\n"
