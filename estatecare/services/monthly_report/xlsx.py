"""The monthly report as the revisit statistics form (回訪用戶月統計表) and the targets, in .xlsx."""

from __future__ import annotations

import io
from typing import Any

from estatecare.services.monthly_report.labels import (
    ACTION_COLUMNS,
    action_cells,
    as_at_label,
    label,
    local_time,
)
from estatecare.services.monthly_report.schema import MonthlyReport, pct

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

FORM_COLUMNS = (
    "revisits_done",
    "on_site_done",
    "on_site_signed",
    "phone_done",
    "letter_done",
    "satisfied_full",
    "basically_satisfied",
    "unsatisfied",
)


def workbook(report: MonthlyReport) -> bytes:
    """The monthly revisit statistics form (回訪用戶月統計表) and the targets, as .xlsx bytes."""
    # openpyxl (~9 MB resident, with Pillow) is imported when a workbook is asked for, not by
    # every process that imports this module (the web process rarely builds one)
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "回訪用戶月統計表"
    bold, head_fill = Font(bold=True), PatternFill("solid", fgColor="EEF2F6")
    ws.append([f"回訪用戶月統計表 {report.month}（{report.timezone}）"])
    ws["A1"].font = Font(bold=True, size=14)
    header = [
        label("c_estate"),
        *(label(k) for k in FORM_COLUMNS),
        label("satisfaction") + " %",
        label("on_site_signed_share") + " %",
        label("phone_letter_share") + " %",
        label("revisits_done_ytd"),
        label("on_site_signed_share_ytd") + " %",
        label("phone_letter_share_ytd") + " %",
        label("late_records"),
        label("late_record_share") + " %",
    ]
    ws.append(header)
    for cell in ws[2]:
        cell.font, cell.fill = bold, head_fill
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    for scope in [*report.estates, *([report.company] if report.company is not None else [])]:
        k = {x.id: x.value for x in scope.kpis}
        ws.append(
            [
                scope.name,
                *(scope.counts[c] for c in FORM_COLUMNS),
                pct(scope.rates["satisfaction"]),
                pct(k["on_site_signed_share"]),
                pct(k["phone_letter_share"]),
                scope.counts["revisits_done_ytd"],
                pct(k["on_site_signed_share_ytd"]),
                pct(k["phone_letter_share_ytd"]),
                scope.counts["late_records"],
                pct(scope.rates["late_record_share"]),
            ]
        )
        if scope.code == "*":
            for cell in ws[ws.max_row]:
                cell.font = bold
    for i in range(1, len(header) + 1):
        ws.column_dimensions[get_column_letter(i)].width = 14
    ws.column_dimensions["A"].width = 22
    ws.freeze_panes = "B3"
    _targets(wb, report, bold, head_fill)
    _stats(wb, report, bold, head_fill)
    _actions(wb, report, bold, head_fill)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _targets(wb: Any, report: MonthlyReport, bold: Any, head_fill: Any) -> None:
    """The targets sheet (目標達成): every scope's KPIs, met or missed."""
    from openpyxl.styles import Font

    targets = wb.create_sheet("目標達成")
    targets.append([label("c_estate"), "指標", "數值 %", "目標", "結果", "分子", "分母"])
    for cell in targets[1]:
        cell.font, cell.fill = bold, head_fill
    for scope in report.scopes:
        for kpi in scope.kpis:
            result = "無數據" if kpi.met is None else ("達標" if kpi.met else "未達標")
            targets.append(
                [
                    scope.name,
                    kpi.label,
                    pct(kpi.value),
                    f"{kpi.comparison} {round(kpi.target * 100, 1)}%",
                    result,
                    kpi.numerator,
                    kpi.denominator,
                ]
            )
            if kpi.met is False:
                targets.cell(row=targets.max_row, column=5).font = Font(bold=True, color="C62828")
    targets.column_dimensions["A"].width = 22
    targets.column_dimensions["B"].width = 30


def _stats(wb: Any, report: MonthlyReport, bold: Any, head_fill: Any) -> None:
    """The complaint statistics sheet (投訴統計); open and overdue as at ``report.overdue_as_at``."""
    stats = wb.create_sheet("投訴統計")
    stats.append([label("c_estate"), "分類", "項目", label("c_count"), label("c_valid")])
    for cell in stats[1]:
        cell.font, cell.fill = bold, head_fill
    for scope in report.scopes:
        for title, rows in (
            ("t_category", scope.by_category),
            ("t_service_area", scope.by_service_area),
            ("t_department", scope.by_department),
        ):
            for b in rows:
                stats.append([scope.name, label(title), b.label, b.count, b.valid])
        for key in (
            "complaints", "valid", "invalid", "unassessed", "repeat", "open", "overdue", "escalations",
            "late_records", "corrective_actions", "actions_rectification", "actions_revisit",
        ):  # fmt: skip
            name = as_at_label(key, report.overdue_as_at, report.timezone) if key in ("open", "overdue") else label(key)
            stats.append([scope.name, label("t_overview"), name, scope.counts[key], None])
    stats.column_dimensions["A"].width = 22
    stats.column_dimensions["C"].width = 30


def _actions(wb: Any, report: MonthlyReport, bold: Any, head_fill: Any) -> None:
    """The corrective actions sheet (整改措施, R-KP-1): every one, with its handler and next revisit."""
    sheet = wb.create_sheet("整改措施")
    sheet.append([label("c_estate"), *(label(k) for k in ACTION_COLUMNS), label("c_assignee"), label("c_next_revisit")])
    for cell in sheet[1]:
        cell.font, cell.fill = bold, head_fill
    names = {e.code: e.name for e in report.estates}
    for a in report.corrective_actions:
        nxt = local_time(a.next_revisit_at, report.timezone) if a.next_revisit_at else None
        sheet.append([names.get(a.estate, a.estate), *action_cells(a, report.timezone), a.assignee, nxt])
    for column, width in (("A", 22), ("C", 18), ("F", 40), ("G", 18), ("H", 36)):
        sheet.column_dimensions[column].width = width
