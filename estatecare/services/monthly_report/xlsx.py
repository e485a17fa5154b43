"""The monthly report as the revisit statistics form (回訪用戶月統計表) and the targets, in .xlsx."""

from __future__ import annotations

import io

from estatecare.services.monthly_report.labels import label
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
            ]
        )
        if scope.code == "*":
            for cell in ws[ws.max_row]:
                cell.font = bold
    for i in range(1, len(header) + 1):
        ws.column_dimensions[get_column_letter(i)].width = 14
    ws.column_dimensions["A"].width = 22
    ws.freeze_panes = "B3"

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
        for key in ("complaints", "valid", "invalid", "unassessed", "repeat", "open", "overdue", "escalations"):
            stats.append([scope.name, label("t_overview"), label(key), scope.counts[key], None])
    stats.column_dimensions["A"].width = 22
    stats.column_dimensions["C"].width = 22
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
