"""The monthly figures (R-KP-1, R-KP-2): five grouped queries folded per estate, then the report model.

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
- open / overdue, as at one moment (``MonthlyReport.overdue_as_at``): the month's end for a
  finished month; for the current month the moment the report is produced at, with the
  complaint register's rule (``overdue_clause``), so both agree at that moment. See
  :func:`overdue_at_end` for what "as at the month's end" means with today's columns.
- escalations: raised in the month.
- corrective actions and late revisit records: ``actions`` (R-KP-1, R-RV-13).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, or_, select
from sqlalchemy.orm import Session

from estatecare.app import App
from estatecare.reads.complaints import overdue_clause
from estatecare.services.monthly_report.actions import corrective_actions, late_records
from estatecare.services.monthly_report.labels import as_at_label, label
from estatecare.services.monthly_report.schema import Breakdown, Kpi, MonthlyReport, ScopeReport
from estatecare.services.sampling import estates
from models import Complaint, Department, Escalation, Revisit
from models.enums import ComplaintStatus, Locale, RevisitKind, RevisitMethod, Satisfaction
from models.kpi import Counts, kpis, rates
from models.lifecycle import ASSIGNED_STATES
from models.sampling import month_bounds, month_key


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


def _scoped(column: Any, estate_ids: list[int] | None) -> list[Any]:
    return [column.in_(estate_ids)] if estate_ids is not None else []


def collect(
    core: App,
    session: Session,
    start: datetime,
    end: datetime,
    year_start: datetime,
    estate_ids: list[int] | None,
    now: datetime,
) -> dict[int, _Acc]:
    """Run the report's grouped queries and fold them per estate id; ``now``: when it is produced."""
    acc: defaultdict[int, _Acc] = defaultdict(_Acc)
    _fold_complaints(session, acc, start, end, estate_ids)
    _fold_revisits_due(session, acc, start, end, estate_ids)
    _fold_revisits_done(session, acc, start, end, year_start, estate_ids)
    _fold_escalations(session, acc, start, end, estate_ids)
    _fold_open(session, acc, end, estate_ids, now)
    for estate_id, n in late_records(core.deadlines, session, start, end, estate_ids).items():
        acc[estate_id].extra["late_records"] += n
    return acc


def _fold_complaints(
    session: Session, acc: defaultdict[int, _Acc], start: datetime, end: datetime, estate_ids: list[int] | None
) -> None:
    """Complaints received in the month: validity, repeats, on-time answers and the breakdowns."""
    dept_code: dict[int, str] = {i: code for i, code in session.execute(select(Department.id, Department.code))}
    c = Complaint
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
        .where(c.received_at >= start, c.received_at < end, *_scoped(c.estate_id, estate_ids))
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


def _fold_revisits_due(
    session: Session, acc: defaultdict[int, _Acc], start: datetime, end: datetime, estate_ids: list[int] | None
) -> None:
    """Complaint and survey revisits due in the month, and how many of them are done."""
    r = Revisit
    q2 = (
        select(r.estate_id, func.count(), func.count(r.done_at))
        .where(
            r.kind.in_([RevisitKind.COMPLAINT, RevisitKind.SURVEY]),
            r.due_at >= start,
            r.due_at < end,
            *_scoped(r.estate_id, estate_ids),
        )
        .group_by(r.estate_id)
    )
    for estate_id, due, done in session.execute(q2):
        acc[estate_id].counts.revisits_due += due
        acc[estate_id].counts.revisits_handled += done


def _fold_revisits_done(
    session: Session,
    acc: defaultdict[int, _Acc],
    start: datetime,
    end: datetime,
    year_start: datetime,
    estate_ids: list[int] | None,
) -> None:
    """Revisits done from 1 January to the month's end: methods, signatures, reviews and satisfaction."""
    r = Revisit
    one, zero = 1, 0
    signed = case((r.signature_png.is_not(None), one), else_=zero)
    in_month = case((r.done_at >= start, one), else_=zero)
    reviewed = case((r.reviewed_at < end, one), else_=zero)  # by the month's end (R-RV-9)
    q3 = (
        select(r.estate_id, r.kind, r.method, signed, r.satisfaction, in_month, reviewed, func.count())
        .where(r.done_at >= year_start, r.done_at < end, *_scoped(r.estate_id, estate_ids))
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


def _fold_escalations(
    session: Session, acc: defaultdict[int, _Acc], start: datetime, end: datetime, estate_ids: list[int] | None
) -> None:
    """Escalations raised in the month, by kind (the estate is the complaint's)."""
    c, e = Complaint, Escalation
    q4 = (
        select(c.estate_id, e.kind, func.count())
        .join(c, c.id == e.complaint_id)
        .where(e.raised_at >= start, e.raised_at < end, *_scoped(c.estate_id, estate_ids))
        .group_by(c.estate_id, e.kind)
    )
    for estate_id, kind, n in session.execute(q4):
        acc[estate_id].counts.escalations += n
        acc[estate_id].escalations[_value(kind)] += n


def overdue_at_end(end: datetime) -> ColumnElement[bool]:
    """Overdue as at the month's ``end`` (a finished month): the rule of ``Complaint.is_overdue``
    evaluated at that instant as far as the stored columns tell (R-HD-1, R-RV-3).

    The columns hold today's state, not the state at ``end``, so the state then is read from the
    timestamps: a complaint open at ``end`` was late when, at ``end``,

    - its first response was due and nobody had answered yet (``first_response_at`` unset or
      later; assigning counts as answering, so it was not yet assigned either);
    - its resolution was due and not resolved by then: ``resolved_at`` unset or later, or the
      complaint is being handled again today (reopened or returned, so its stored result is
      of an earlier round);
    - its revisit was due after a result recorded before then.

    A result waiting for its department head is not overdue. What the columns no longer hold is
    not counted: a revisit overdue at ``end`` but unsatisfied and reopened since (its revisit
    deadline is cleared), or a deadline moved since.
    """
    c = Complaint
    not_resolved = or_(c.resolved_at.is_(None), c.resolved_at >= end, c.status.in_(ASSIGNED_STATES))
    return or_(
        and_(c.response_due_at < end, or_(c.first_response_at.is_(None), c.first_response_at >= end)),
        and_(c.resolution_due_at < end, not_resolved),
        and_(c.revisit_due_at < end, c.resolved_at < end),
    )


def _fold_open(
    session: Session, acc: defaultdict[int, _Acc], end: datetime, estate_ids: list[int] | None, now: datetime
) -> None:
    """Complaints open as at the report's moment, and those of them overdue: at the month's end for a
    finished month; for the current month at ``now``, with the register's rule (``overdue_clause``)."""
    c = Complaint
    one, zero = 1, 0
    s = ComplaintStatus
    at = min(now, end)
    open_then = or_(
        c.status.not_in([s.CLOSED, s.INVALID]),
        and_(c.status == s.CLOSED, c.closed_at >= at),
    )
    late = overdue_clause(now) if now < end else overdue_at_end(end)
    q5 = (
        select(c.estate_id, func.count(), func.sum(case((late, one), else_=zero)))
        .where(c.received_at < end, open_then, *_scoped(c.estate_id, estate_ids))
        .group_by(c.estate_id)
    )
    for estate_id, n, n_late in session.execute(q5):
        acc[estate_id].counts.open += n
        acc[estate_id].counts.overdue += n_late or 0


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
        rates={**rates(a.counts), "late_record_share": _share(counts["late_records"], a.counts.revisits_done)},
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


_EXTRA = (
    "on_site_done",
    "phone_done",
    "letter_done",
    "satisfied_full",
    "basically_satisfied",
    "unsatisfied",
    "late_records",
    "corrective_actions",
    "actions_rectification",
    "actions_revisit",
)


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def build_report(
    core: App,
    session: Session,
    year: int,
    month: int,
    estate_code: str | None = None,
    generated_at: datetime | None = None,
) -> MonthlyReport:
    """The month's report: every estate (or the one asked for) and, for all, company-wide.

    ``generated_at`` is the moment it is produced (default: now); open and overdue items are
    as at that moment while the month runs, as at the month's end once it is over.
    """
    tz = core.policy.tz
    start, end = month_bounds(year, month, tz)
    now = generated_at or datetime.now(UTC)
    year_start = datetime.combine(date(year, 1, 1), time(0), tzinfo=tz).astimezone(UTC)
    chosen = estates(session, estate_code)
    ids = [e.id for e in chosen] if estate_code is not None else None
    acc = collect(core, session, start, end, year_start, ids, now)
    actions = corrective_actions(core, session, start, end, ids, {e.id: e.code for e in chosen})
    for estate_id, action in actions:
        extra = acc.setdefault(estate_id, _Acc()).extra
        extra["corrective_actions"] += 1
        extra["actions_rectification" if action.kind == "rectification" else "actions_revisit"] += 1
    scopes = [_scope(e.code, e.name, acc.get(e.id, _Acc()), core) for e in chosen]
    company = None
    if estate_code is None:
        total = _Acc()
        for part in acc.values():
            total.add(part)
        company = _scope("*", label("company"), total, core)
    as_at = min(now, end)
    timezone = core.policy.company.timezone
    return MonthlyReport(
        month=month_key(year, month),
        timezone=timezone,
        start=start,
        end=end,
        generated_at=now,
        overdue_as_at=as_at,
        overdue_basis="now" if now < end else "month_end",
        overdue_label=as_at_label("overdue", as_at, timezone),
        company=company,
        estates=scopes,
        corrective_actions=sorted((a for _, a in actions), key=lambda a: (a.kind, a.at, a.reference)),
    )
