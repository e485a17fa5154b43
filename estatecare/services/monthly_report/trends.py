"""The last twelve months of the monthly figures of one estate (or the company), for the trend charts.

Two grouped queries for the whole span, each row put in its month by comparing its time with
the months' boundaries in the company's timezone (``case``: the same on SQLite and PostgreSQL).
The figures follow the report's definitions (``query``) and its arithmetic (``models.kpi``):

- complaints received in the month, by category and service area (unset: ``none``); first
  response and resolution on time among those with the deadline;
- revisits done in the month: satisfaction among those with an answer, on-site with the
  resident's signature among all of them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from estatecare.app import App
from estatecare.services.sampling import estates
from models import Complaint, Revisit
from models.enums import RevisitMethod, Satisfaction
from models.kpi import Counts, kpis, rates
from models.sampling import month_bounds, month_key, previous_month


@dataclass(frozen=True)
class MonthFigures:
    """One month of the trend: complaints by category and service area, and the charted shares."""

    month: str
    complaints: int
    by_category: dict[str, int]
    by_service_area: dict[str, int]
    response_on_time: float | None
    resolution_on_time: float | None
    satisfaction: float | None
    on_site_signed_share: float | None


@dataclass
class _Month:
    counts: Counts = field(default_factory=Counts)
    category: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))
    area: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))


def months_back(year: int, month: int, count: int) -> list[tuple[int, int]]:
    """``count`` months ending with (``year``, ``month``), oldest first."""
    out = [(year, month)]
    while len(out) < count:
        out.append(previous_month(*out[-1]))
    return out[::-1]


def _value(v: Any) -> str:
    return str(v.value if hasattr(v, "value") else v) if v is not None else "none"


def monthly_trend(
    core: App, session: Session, year: int, month: int, estate_code: str | None = None, *, months: int = 12
) -> list[MonthFigures]:
    """The figures of the ``months`` months up to (``year``, ``month``), oldest first, of one
    estate or, without ``estate_code``, of the whole company (NotFound for an unknown code)."""
    tz = core.policy.tz
    span = months_back(year, month, months)
    ends = [month_bounds(y, m, tz)[1] for y, m in span]
    start = month_bounds(*span[0], tz)[0]
    ids = [e.id for e in estates(session, estate_code)] if estate_code is not None else None
    acc = [_Month() for _ in span]

    def bucket(column: Any) -> Any:
        return case(*((column < end, i) for i, end in enumerate(ends[:-1])), else_=len(ends) - 1)

    c = Complaint
    in_month = bucket(c.received_at)
    one, zero = 1, 0
    q1 = (
        select(
            in_month,
            c.category,
            c.service_area,
            func.count(),
            func.count(c.response_due_at),
            func.sum(case((c.first_response_at <= c.response_due_at, one), else_=zero)),
            func.count(c.resolution_due_at),
            func.sum(case((c.resolved_at <= c.resolution_due_at, one), else_=zero)),
        )
        .where(c.received_at >= start, c.received_at < ends[-1], *([c.estate_id.in_(ids)] if ids is not None else []))
        .group_by(in_month, c.category, c.service_area)
    )
    for i, category, area, n, rdue, rok, sdue, sok in session.execute(q1):
        a = acc[i]
        a.counts.complaints += n
        a.counts.response_due += rdue
        a.counts.response_on_time += rok or 0
        a.counts.resolution_due += sdue
        a.counts.resolution_on_time += sok or 0
        a.category[_value(category)] += n
        a.area[_value(area)] += n

    r = Revisit
    done_in = bucket(r.done_at)
    signed = case((r.signature_png.is_not(None), one), else_=zero)
    q2 = (
        select(done_in, r.method, signed, r.satisfaction, func.count())
        .where(r.done_at >= start, r.done_at < ends[-1], *([r.estate_id.in_(ids)] if ids is not None else []))
        .group_by(done_in, r.method, signed, r.satisfaction)
    )
    for i, method, is_signed, sat, n in session.execute(q2):
        k = acc[i].counts
        k.revisits_done += n
        k.on_site_signed += n if (method == RevisitMethod.ON_SITE and is_signed) else 0
        if sat is not None:
            k.rated += n
            k.satisfied += n if sat in (Satisfaction.SATISFIED, Satisfaction.BASICALLY_SATISFIED) else 0

    out = []
    for (y, m), a in zip(span, acc, strict=True):
        shares = rates(a.counts)
        on_site = next(v.value for v in kpis(a.counts, core.policy.targets) if v.id == "on_site_signed_share")
        out.append(
            MonthFigures(
                month=month_key(y, m),
                complaints=a.counts.complaints,
                by_category=dict(a.category),
                by_service_area=dict(a.area),
                response_on_time=shares["response_on_time"],
                resolution_on_time=shares["resolution_on_time"],
                satisfaction=shares["satisfaction"],
                on_site_signed_share=on_site,
            )
        )
    return out
