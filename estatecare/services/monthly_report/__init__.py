"""The monthly summary (R-KP-1, R-KP-2): one report model, built from five grouped queries,
delivered as JSON (API), an HTML email with bar charts, the monthly revisit statistics
form (回訪用戶月統計表) as .xlsx, and markdown (the Prefect artifact).

- ``query``: the figures and :func:`build_report` (their definitions are in its docstring);
- ``actions``: the corrective actions (R-KP-1) and late revisit records (R-RV-13);
- ``schema``: the pydantic :class:`MonthlyReport` and its parts;
- ``html``, ``xlsx``, ``markdown_text``: the presentations; ``labels``: their names per language;
- ``delivery``: the summary email with the .xlsx to leadership.
"""

from estatecare.services.monthly_report.delivery import leaders, queue_summary
from estatecare.services.monthly_report.html import email_context
from estatecare.services.monthly_report.markdown_text import markdown
from estatecare.services.monthly_report.query import build_report, collect
from estatecare.services.monthly_report.schema import Breakdown, CorrectiveAction, Kpi, MonthlyReport, ScopeReport
from estatecare.services.monthly_report.xlsx import FORM_COLUMNS, XLSX_TYPE, workbook

__all__ = [
    "FORM_COLUMNS",
    "XLSX_TYPE",
    "Breakdown",
    "CorrectiveAction",
    "Kpi",
    "MonthlyReport",
    "ScopeReport",
    "build_report",
    "collect",
    "email_context",
    "leaders",
    "markdown",
    "queue_summary",
    "workbook",
]
