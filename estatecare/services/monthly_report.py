"""The monthly summary (R-KP-1, R-KP-2): one report model, built from five grouped queries,
delivered as JSON (API), an HTML email with bar charts, the monthly revisit statistics
form (回訪用戶月統計表) as .xlsx, and markdown (the Prefect artifact).

Definitions (docs/operations.md repeats them for readers of the report):

- complaints: received in the month (local time of the policy's timezone); ``repeat``:
  later reports linked to a first one (R-IN-5).
- first response on time: ``first_response_at <= response_due_at`` among complaints of
  the month with a response deadline (not yet answered counts as late); resolved on
  time likewise with the resolution deadline.
- revisit handling rate: complaint and survey revisits due in the month that are done.
- satisfaction: revisits done in the month with an answer, satisfied or basically
  satisfied; repair satisfaction: the same for repair/service revisits (work orders).
- on-site signed share and phone + letter share: of the revisits done in the month,
  and from 1 January to the month's end (year to date).
- open / overdue: complaints received by the month's end and not closed (nor invalid)
  at that moment; overdue when a response, resolution or revisit deadline had passed.
- escalations: raised in the month.
"""

from __future__ import annotations

import io
from collections import defaultdict
from dataclasses import asdict
from datetime import UTC, date, datetime, time
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from estatecare.app import App
from estatecare.services.report_labels import label
from estatecare.services.sampling import estates
from models import Complaint, Department, Escalation, Estate, Notification, Revisit, Staff
from models.enums import ComplaintStatus, Locale, RevisitKind, RevisitMethod, Role, Satisfaction
from models.kpi import Counts, kpis, rates
from models.sampling import month_bounds, month_key
from notifications.outbox import queue

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class Kpi(BaseModel):
    """One target of R-KP-2: value (a share 0..1, None with no data) against the target."""

    id: str
    label: str
    value: float | None
    numerator: int
    denominator: int
    target: float
    comparison: Literal[">=", "<="]
    met: bool | None


class Breakdown(BaseModel):
    """Complaints of one category, service area or department."""

    key: str
    label: str
    count: int
    valid: int


class ScopeReport(BaseModel):
    """One estate, or the whole company (code ``*``)."""

    code: str
    name: str
    counts: dict[str, int]
    rates: dict[str, float | None]
    kpis: list[Kpi]
    targets_met: int
    targets_missed: int
    by_category: list[Breakdown]
    by_service_area: list[Breakdown]
    by_department: list[Breakdown]
    escalations_by_kind: dict[str, int]


class MonthlyReport(BaseModel):
    """The month's statistics per estate and, unless one estate was asked for, company-wide."""

    month: str
    timezone: str
    start: datetime
    end: datetime
    generated_at: datetime
    company: ScopeReport | None
    estates: list[ScopeReport]

    @property
    def scopes(self) -> list[ScopeReport]:
        """Company first (when present), then each estate."""
        return ([self.company] if self.company is not None else []) + self.estates


class _Acc:
    """Counts and breakdowns of one scope while folding query rows."""

    def __init__(self) -> None:
        self.counts = Counts()
        self.category: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        self.area: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        self.department: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        self.escalations: dict[str, int] = defaultdict(int)
        self.extra: dict[str, int] = defaultdict(int)  # revisit method / satisfaction breakdown

    def add(self, other: _Acc) -> None:
        self.counts.add(other.counts)
        for mine, theirs in (
            (self.category, other.category),
            (self.area, other.area),
            (self.department, other.department),
        ):
            for k, (n, v) in theirs.items():
                mine[k][0] += n
                mine[k][1] += v
        for k, n in other.escalations.items():
            self.escalations[k] += n
        for k, n in other.extra.items():
            self.extra[k] += n


def _value(v: Any) -> str:
    return v.value if hasattr(v, "value") else ("" if v is None else str(v))


def collect(
    session: Session, start: datetime, end: datetime, year_start: datetime, estate_ids: list[int] | None
) -> dict[int, _Acc]:
    """Run the report's grouped queries and fold them per estate id."""
    acc: dict[int, _Acc] = defaultdict(_Acc)
    dept_code: dict[int, str] = {i: code for i, code in session.execute(select(Department.id, Department.code))}
    c = Complaint

    def scoped(column: Any) -> list[Any]:
        return [column.in_(estate_ids)] if estate_ids is not None else []

    one, zero = 1, 0
    q1 = (
        select(
            c.estate_id,
            c.category,
            c.service_area,
            c.department_id,
            c.valid,
            func.count(),
            func.sum(case((c.duplicate_of_id.is_not(None), one), else_=zero)),
            func.count(c.response_due_at),
            func.sum(case((c.first_response_at <= c.response_due_at, one), else_=zero)),
            func.count(c.resolution_due_at),
            func.sum(case((c.resolved_at <= c.resolution_due_at, one), else_=zero)),
        )
        .where(c.received_at >= start, c.received_at < end, *scoped(c.estate_id))
        .group_by(c.estate_id, c.category, c.service_area, c.department_id, c.valid)
    )
    for estate_id, category, area, dept, valid, n, rep, rdue, rok, sdue, sok in session.execute(q1):
        a = acc[estate_id]
        k = a.counts
        k.complaints += n
        k.repeat += rep or 0
        k.response_due += rdue
        k.response_on_time += rok or 0
        k.resolution_due += sdue
        k.resolution_on_time += sok or 0
        is_valid = n if valid else 0
        if valid is None:
            k.unassessed += n
        elif valid:
            k.valid += n
        else:
            k.invalid += n
        for table, key in (
            (a.category, _value(category) or "none"),
            (a.area, _value(area) or "none"),
            (a.department, dept_code.get(dept, "none") if dept is not None else "none"),
        ):
            table[key][0] += n
            table[key][1] += is_valid

    r = Revisit
    q2 = (
        select(r.estate_id, func.count(), func.count(r.done_at))
        .where(
            r.kind.in_([RevisitKind.COMPLAINT, RevisitKind.SURVEY]),
            r.due_at >= start,
            r.due_at < end,
            *scoped(r.estate_id),
        )
        .group_by(r.estate_id)
    )
    for estate_id, due, done in session.execute(q2):
        acc[estate_id].counts.revisits_due += due
        acc[estate_id].counts.revisits_handled += done

    signed = case((r.signature_png.is_not(None), one), else_=zero)
    in_month = case((r.done_at >= start, one), else_=zero)
    reviewed = case((r.reviewed_at < end, one), else_=zero)  # by the month's end (R-RV-9)
    q3 = (
        select(r.estate_id, r.kind, r.method, signed, r.satisfaction, in_month, reviewed, func.count())
        .where(r.done_at >= year_start, r.done_at < end, *scoped(r.estate_id))
        .group_by(r.estate_id, r.kind, r.method, signed, r.satisfaction, in_month, reviewed)
    )
    for estate_id, kind, method, is_signed, sat, this_month, is_reviewed, n in session.execute(q3):
        a = acc[estate_id]
        k = a.counts
        on_site_signed = n if (method == RevisitMethod.ON_SITE and is_signed) else 0
        phone_letter = n if method in (RevisitMethod.PHONE, RevisitMethod.LETTER) else 0
        k.revisits_done_ytd += n
        k.on_site_signed_ytd += on_site_signed
        k.phone_letter_ytd += phone_letter
        if not this_month:
            continue
        k.revisits_done += n
        k.revisits_reviewed += n if is_reviewed else 0
        k.on_site_signed += on_site_signed
        k.phone_letter += phone_letter
        a.extra[f"{_value(method)}_done"] += n
        if sat is not None:
            happy = n if sat in (Satisfaction.SATISFIED, Satisfaction.BASICALLY_SATISFIED) else 0
            k.rated += n
            k.satisfied += happy
            a.extra["satisfied_full" if sat == Satisfaction.SATISFIED else _value(sat)] += n
            if kind in (RevisitKind.SERVICE, RevisitKind.RENOVATION):
                k.repair_rated += n
                k.repair_satisfied += happy

    e = Escalation
    q4 = (
        select(c.estate_id, e.kind, func.count())
        .join(c, c.id == e.complaint_id)
        .where(e.raised_at >= start, e.raised_at < end, *scoped(c.estate_id))
        .group_by(c.estate_id, e.kind)
    )
    for estate_id, kind, n in session.execute(q4):
        acc[estate_id].counts.escalations += n
        acc[estate_id].escalations[_value(kind)] += n

    s = ComplaintStatus
    open_at_end = or_(
        c.status.not_in([s.CLOSED, s.INVALID]),
        and_(c.status == s.CLOSED, c.closed_at >= end),
    )
    late = or_(
        and_(c.response_due_at < end, or_(c.first_response_at.is_(None), c.first_response_at >= end)),
        and_(c.resolution_due_at < end, or_(c.resolved_at.is_(None), c.resolved_at >= end)),
        and_(c.revisit_due_at < end, c.resolved_at < end),
    )
    q5 = (
        select(c.estate_id, func.count(), func.sum(case((late, one), else_=zero)))
        .where(c.received_at < end, open_at_end, *scoped(c.estate_id))
        .group_by(c.estate_id)
    )
    for estate_id, n, n_late in session.execute(q5):
        acc[estate_id].counts.open += n
        acc[estate_id].counts.overdue += n_late or 0
    return acc


def _breakdown(table: dict[str, list[int]], locale: Locale = Locale.ZH_HANT) -> list[Breakdown]:
    rows = [Breakdown(key=k, label=label(k, locale), count=n, valid=v) for k, (n, v) in table.items()]
    return sorted(rows, key=lambda b: (-b.count, b.key))


def _scope(code: str, name: str, a: _Acc, core: App) -> ScopeReport:
    values = kpis(a.counts, core.policy.targets)
    counts = {**asdict(a.counts), **{k: a.extra.get(k, 0) for k in _EXTRA}}
    dept_names = core.policy.departments
    by_dept = _breakdown(a.department)
    for b in by_dept:
        b.label = dept_names.get(b.key, label(b.key))
    return ScopeReport(
        code=code,
        name=name,
        counts=counts,
        rates=rates(a.counts),
        kpis=[
            Kpi(
                id=v.id,
                label=label(v.id),
                value=v.value,
                numerator=v.numerator,
                denominator=v.denominator,
                target=v.target,
                comparison=v.comparison,
                met=v.met,
            )
            for v in values
        ],
        targets_met=sum(1 for v in values if v.met is True),
        targets_missed=sum(1 for v in values if v.met is False),
        by_category=_breakdown(a.category),
        by_service_area=_breakdown(a.area),
        by_department=by_dept,
        escalations_by_kind=dict(sorted(a.escalations.items())),
    )


_EXTRA = ("on_site_done", "phone_done", "letter_done", "satisfied_full", "basically_satisfied", "unsatisfied")


def build_report(
    core: App,
    session: Session,
    year: int,
    month: int,
    estate_code: str | None = None,
    generated_at: datetime | None = None,
) -> MonthlyReport:
    """The month's report: every estate (or the one asked for) and, for all, company-wide."""
    tz = core.policy.tz
    start, end = month_bounds(year, month, tz)
    year_start = datetime.combine(date(year, 1, 1), time(0), tzinfo=tz).astimezone(UTC)
    chosen = estates(session, estate_code)
    ids = [e.id for e in chosen] if estate_code is not None else None
    acc = collect(session, start, end, year_start, ids)
    scopes = [_scope(e.code, e.name, acc.get(e.id, _Acc()), core) for e in chosen]
    company = None
    if estate_code is None:
        total = _Acc()
        for part in acc.values():
            total.add(part)
        company = _scope("*", label("company"), total, core)
    return MonthlyReport(
        month=month_key(year, month),
        timezone=core.policy.company.timezone,
        start=start,
        end=end,
        generated_at=generated_at or datetime.now(UTC),
        company=company,
        estates=scopes,
    )


# ---------------------------------------------------------------------- presentations


def _pct(value: float | None) -> float | str:
    return "—" if value is None else round(value * 100, 1)


def email_context(report: MonthlyReport, scope: ScopeReport, locale: Locale, action_url: str = "") -> dict[str, Any]:
    """The ``monthly_summary`` message context in the recipient's language (values in %)."""
    kpi_rows = [
        {
            "id": k.id,
            "label": label(k.id, locale),
            "value": _pct(k.value),
            "target": round(k.target * 100, 1),
            "comparison": k.comparison,
            "met": k.met,
            "unit": "%" if k.value is not None else "",
        }
        for k in scope.kpis
    ]
    c = scope.counts

    def lb(key: str) -> str:
        return label(key, locale)

    tables: list[dict[str, Any]] = [
        {
            "title": lb("t_overview"),
            "columns": [lb("c_name"), lb("c_count")],
            "rows": [
                [lb(k), c[k]] for k in ("complaints", "valid", "invalid", "repeat", "open", "overdue", "escalations")
            ],
            "chart": False,
        },
        {
            "title": lb("t_rates"),
            "columns": [lb("c_name"), lb("c_rate") + " %"],
            "rows": [[lb(k), _pct(v)] for k, v in scope.rates.items()],
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
                "columns": [lb("c_estate"), lb("c_complaints"), lb("c_open"), lb("c_overdue"), lb("c_revisits")],
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
    return {
        "month": report.month,
        "scope": label("company", locale) if scope.code == "*" else scope.name,
        "kpis": kpi_rows,
        "tables": [t for t in tables if t["rows"]],
        "action_url": action_url,
    }


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
                _pct(scope.rates["satisfaction"]),
                _pct(k["on_site_signed_share"]),
                _pct(k["phone_letter_share"]),
                scope.counts["revisits_done_ytd"],
                _pct(k["on_site_signed_share_ytd"]),
                _pct(k["phone_letter_share_ytd"]),
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
                    _pct(kpi.value),
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
            f"{c['overdue']} | {c['escalations']} | {c['revisits_done']} | {_pct(r['response_on_time'])} | "
            f"{_pct(r['resolution_on_time'])} |"
        )
    return "\n".join(lines) + "\n"


def leaders(session: Session) -> list[Staff]:
    """Company-wide leadership who receive the monthly report (R-KP-1)."""
    return list(
        session.scalars(
            select(Staff)
            .where(Staff.role.in_([Role.DEPUTY_GM, Role.GM]), Staff.active.is_(True), Staff.estate_id.is_(None))
            .order_by(Staff.id)
        )
    )


def queue_summary(
    core: App, session: Session, report: MonthlyReport, *, force: bool = False, now: datetime | None = None
) -> list[int]:
    """Queue the summary email with the .xlsx to leadership (and, for one estate, its managers).

    Idempotent: a second run for the same month queues nothing unless ``force``.
    Returns the ids of newly queued notifications.
    """
    scope = report.company if report.company is not None else report.estates[0]
    recipients = leaders(session)
    if report.company is None:
        estate = session.scalar(select(Estate).where(Estate.code == scope.code))
        assert estate is not None
        recipients += list(
            session.scalars(
                select(Staff).where(
                    Staff.estate_id == estate.id, Staff.role == Role.SERVICE_CENTRE_MANAGER, Staff.active.is_(True)
                )
            )
        )
    xlsx = workbook(report)
    filename = f"monthly-revisit-statistics-{report.month}{'' if scope.code == '*' else '-' + scope.code}.xlsx"
    suffix = f":forced:{(now or datetime.now(UTC)).isoformat()}" if force else ""
    url = f"{core.settings.base_url.rstrip('/')}/api/reports/monthly?month={report.month}"
    if scope.code != "*":
        url += f"&estate={scope.code}"
    queued: list[int] = []
    for person in recipients:
        key = f"monthly_summary:{report.month}:{scope.code}:{person.id}{suffix}"
        if session.scalar(select(Notification.id).where(Notification.idempotency_key == key)) is not None:
            continue
        row = queue(
            session,
            template="monthly_summary",
            to_email=person.email,
            to_name=person.name,
            locale=person.locale,
            context=email_context(report, scope, Locale(person.locale), url),
            key=key,
            staff_id=person.id,
            attachments=[(filename, XLSX_TYPE, xlsx)],
        )
        session.flush()
        queued.append(row.id)
    return queued
