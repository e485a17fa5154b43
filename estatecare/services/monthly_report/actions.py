"""The month's corrective actions (整改, R-KP-1) and its late revisit records (R-RV-13): one query each.

- rectifications: complaints whose result was marked as a rectification, resolved in the month;
- unsatisfied revisits: complaint and work-order revisits done in the month with an unsatisfied
  answer (the same revisits the report counts as ``unsatisfied``), with what followed (R-RV-11):
  the complaint's state and handler now, and the next revisit date set at the revisit;
- late records: revisits done in the month whose record was completed after
  ``Deadlines.revisit_record_due(done_at)`` (the same or the next local day).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, func, literal, or_, select
from sqlalchemy.orm import Session, aliased

from estatecare.app import App
from estatecare.services.monthly_report.schema import CorrectiveAction
from models import Complaint, Department, Revisit, Staff, WorkOrder
from models.base import UTCDateTime
from models.deadlines import Deadlines
from models.enums import Satisfaction

#: Characters of a result or remark kept in the report.
TEXT_CHARS = 60


def short(text: str, limit: int = TEXT_CHARS) -> str:
    """``text`` on one line, cut at ``limit`` characters with an ellipsis."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def _value(v: Any) -> str | None:
    return None if v is None else str(v.value if hasattr(v, "value") else v)


def _scoped(column: Any, estate_ids: list[int] | None) -> list[Any]:
    return [column.in_(estate_ids)] if estate_ids is not None else []


def corrective_actions(
    core: App, session: Session, start: datetime, end: datetime, estate_ids: list[int] | None, codes: Mapping[int, str]
) -> list[tuple[int, CorrectiveAction]]:
    """The month's corrective actions with their estate id: rectifications, then unsatisfied revisits."""
    return _rectifications(core, session, start, end, estate_ids, codes) + _unsatisfied(
        core, session, start, end, estate_ids, codes
    )


def _rectifications(
    core: App, session: Session, start: datetime, end: datetime, estate_ids: list[int] | None, codes: Mapping[int, str]
) -> list[tuple[int, CorrectiveAction]]:
    """Complaints resolved in the month with a result marked as a rectification."""
    c, handler = Complaint, aliased(Staff)
    q = (
        select(
            c.estate_id,
            c.reference,
            c.category,
            Department.code,
            c.resolution_text,
            c.resolved_at,
            c.status,
            handler.name,
        )
        .outerjoin(Department, Department.id == c.department_id)
        .outerjoin(handler, handler.id == c.assignee_id)
        .where(
            c.rectification.is_(True), c.resolved_at >= start, c.resolved_at < end, *_scoped(c.estate_id, estate_ids)
        )
        .order_by(c.resolved_at, c.id)
    )
    names = core.policy.departments
    return [
        (
            estate_id,
            CorrectiveAction(
                kind="rectification",
                estate=codes.get(estate_id, ""),
                reference=ref,
                category=_value(category),
                department=dept,
                department_name=names.get(dept, dept) if dept else None,
                text=short(result or ""),
                at=resolved_at,
                status=_value(status),
                assignee=assignee,
                next_revisit_at=None,
            ),
        )
        for estate_id, ref, category, dept, result, resolved_at, status, assignee in session.execute(q)
    ]


def _unsatisfied(
    core: App, session: Session, start: datetime, end: datetime, estate_ids: list[int] | None, codes: Mapping[int, str]
) -> list[tuple[int, CorrectiveAction]]:
    """Complaint and work-order revisits done in the month with an unsatisfied answer, and what followed."""
    r, c, w, handler = Revisit, Complaint, WorkOrder, aliased(Staff)
    q = (
        select(
            r.estate_id,
            r.done_at,
            r.answers,
            r.next_reply_at,
            c.reference,
            c.category,
            c.status,
            w.reference,
            w.kind,
            Department.code,
            handler.name,
        )
        .outerjoin(c, c.id == r.complaint_id)
        .outerjoin(w, w.id == r.work_order_id)
        .outerjoin(Department, Department.id == func.coalesce(c.department_id, w.department_id))
        .outerjoin(handler, handler.id == c.assignee_id)
        .where(
            r.done_at >= start,
            r.done_at < end,
            r.satisfaction == Satisfaction.UNSATISFIED,
            or_(r.complaint_id.is_not(None), r.work_order_id.is_not(None)),
            *_scoped(r.estate_id, estate_ids),
        )
        .order_by(r.done_at, r.id)
    )
    names = core.policy.departments
    rows: list[tuple[int, CorrectiveAction]] = []
    for estate_id, done_at, answers, next_at, c_ref, category, status, w_ref, kind, dept, assignee in session.execute(
        q
    ):
        remarks = (answers or {}).get("shortcomings") or ""
        rows.append(
            (
                estate_id,
                CorrectiveAction(
                    kind="unsatisfied_revisit",
                    estate=codes.get(estate_id, ""),
                    reference=c_ref or w_ref or "",
                    category=_value(category) if c_ref else _value(kind),
                    department=dept,
                    department_name=names.get(dept, dept) if dept else None,
                    text=short(str(remarks)),
                    at=done_at,
                    status=_value(status),
                    assignee=assignee,
                    next_revisit_at=next_at,
                ),
            )
        )
    return rows


def record_due(deadlines: Deadlines, done_at: Any, start: datetime, end: datetime) -> ColumnElement[Any]:
    """``deadlines.revisit_record_due(done_at)`` in SQL for a ``done_at`` in [start, end): one branch
    per local day of the month, so the company's timezone is applied in Python, not by the database."""
    tz = deadlines.tz
    day, last = start.astimezone(tz).date(), (end - timedelta(microseconds=1)).astimezone(tz).date()
    whens: list[tuple[ColumnElement[bool], ColumnElement[Any]]] = []
    while day <= last:
        next_midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
        due = deadlines.revisit_record_due(datetime.combine(day, time(12), tzinfo=tz))
        whens.append((done_at < next_midnight, literal(due, UTCDateTime())))
        day += timedelta(days=1)
    return case(*whens, else_=None)


def late_records(
    deadlines: Deadlines, session: Session, start: datetime, end: datetime, estate_ids: list[int] | None
) -> dict[int, int]:
    """Per estate: revisits done in the month whose record was completed late (R-RV-13)."""
    r = Revisit
    q = (
        select(r.estate_id, func.count())
        .where(
            r.done_at >= start,
            r.done_at < end,
            r.recorded_at > record_due(deadlines, r.done_at, start, end),
            *_scoped(r.estate_id, estate_ids),
        )
        .group_by(r.estate_id)
    )
    return {estate_id: n for estate_id, n in session.execute(q)}
