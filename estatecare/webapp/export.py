"""The register as CSV (UTF-8 with BOM, so spreadsheet programs read Chinese) and xlsx (openpyxl),
in the reader's language: stored codes as the pages name them, each estate by its name."""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from io import BytesIO, StringIO
from typing import Any
from zoneinfo import ZoneInfo

from estatecare.reads.register import RegisterRow
from estatecare.webapp.i18n import environment, translations
from models.enums import Locale

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
#: Columns of stored codes, each named as the pages name it (``_labels.html``, same kind names).
LABELLED = ("channel", "category", "severity", "urgency", "status", "satisfaction")


@dataclass(frozen=True)
class Reader:
    """Whose language the cells speak, the company's timezone, and the estates' names by code."""

    locale: Locale = Locale.ZH_HANT
    tz: str = "UTC"
    estates: Mapping[str, str] = field(default_factory=dict)

    def cells(self, row: RegisterRow) -> list[object]:
        """A row's cells: names for codes and estates, local times to the minute (xlsx date cells)."""
        labels: Any = environment(self.locale, self.tz).get_template("_labels.html").module
        zone = ZoneInfo(self.tz)
        out: list[object] = []
        for key, _ in COLUMNS:
            value = getattr(row, key)
            if key in LABELLED:
                value = labels.label(key, value).unescape()  # the macro's Markup, as plain text
            elif key == "estate":
                value = self.estates.get(value, value)
            elif isinstance(value, bool):
                value = str(translations(self.locale).gettext("Yes")) if value else ""
            elif isinstance(value, datetime):
                value = value.astimezone(zone).replace(tzinfo=None, second=0, microsecond=0)
            out.append(value)
        return out


def _safe_text(value: object) -> object:
    """Cells that start like a formula are written as text (CSV/formula injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def to_csv(rows: list[RegisterRow], headers: list[str], tz: str, reader: Reader | None = None) -> bytes:
    """CSV with the translated ``headers``, the cells as ``reader`` reads them; times in the policy's timezone."""
    reader = reader or Reader(tz=tz)
    out = StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    for row in rows:
        cells = reader.cells(row)
        writer.writerow([_safe_text(v.strftime("%Y-%m-%d %H:%M") if isinstance(v, datetime) else v) for v in cells])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(rows: list[RegisterRow], headers: list[str], tz: str, reader: Reader | None = None) -> bytes:
    """An xlsx workbook with one sheet, frozen header row and date cells."""
    # imported on the first xlsx export, not when the web app starts: see monthly_report.workbook
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    reader = reader or Reader(tz=tz)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "register"
    sheet.append(headers)
    for row in rows:
        sheet.append([_safe_text(v) for v in reader.cells(row)])
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
