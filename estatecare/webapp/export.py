"""The register as CSV (UTF-8 with BOM, so spreadsheet programs read Chinese) and xlsx (openpyxl)."""

from __future__ import annotations

import csv
from datetime import datetime
from io import BytesIO, StringIO
from zoneinfo import ZoneInfo

from estatecare.reads.register import RegisterRow

COLUMNS = [
    ("reference", "Reference"),
    ("estate", "Estate"),
    ("received_at", "Received"),
    ("channel", "Channel"),
    ("category", "Category"),
    ("severity", "Severity"),
    ("urgency", "Urgency"),
    ("status", "Status"),
    ("department", "Department"),
    ("assignee", "Assignee"),
    ("due_at", "Due"),
    ("overdue", "Overdue"),
    ("satisfaction", "Satisfaction"),
    ("closed_at", "Closed"),
    ("content", "Content"),
]


def _cell(value: object, zone: ZoneInfo) -> object:
    if isinstance(value, datetime):
        return value.astimezone(zone).replace(tzinfo=None)
    if isinstance(value, bool):
        return "yes" if value else ""
    return value


def _safe_text(value: object) -> object:
    """Cells that start like a formula are written as text (CSV/formula injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def to_csv(rows: list[RegisterRow], headers: list[str], tz: str) -> bytes:
    """CSV with the translated ``headers``; times in the policy's timezone."""
    zone = ZoneInfo(tz)
    out = StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    for row in rows:
        values = [_cell(getattr(row, key), zone) for key, _ in COLUMNS]
        writer.writerow([_safe_text(v.strftime("%Y-%m-%d %H:%M") if isinstance(v, datetime) else v) for v in values])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(rows: list[RegisterRow], headers: list[str], tz: str) -> bytes:
    """An xlsx workbook with one sheet, frozen header row and date cells."""
    # imported on the first xlsx export, not when the web app starts: see monthly_report.workbook
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    zone = ZoneInfo(tz)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "register"
    sheet.append(headers)
    for row in rows:
        sheet.append([_safe_text(_cell(getattr(row, key), zone)) for key, _ in COLUMNS])
    for index, (key, _) in enumerate(COLUMNS, start=1):
        letter = get_column_letter(index)
        if key in ("received_at", "due_at", "closed_at"):
            for cell in sheet[letter][1:]:
                cell.number_format = "yyyy-mm-dd hh:mm"
        sheet.column_dimensions[letter].width = 40 if key == "content" else 18
    sheet.freeze_panes = "A2"
    buf = BytesIO()
    book.save(buf)
    return buf.getvalue()
