"""The monthly report's model (R-KP-1, R-KP-2): what the API answers and every presentation reads."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel


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


class CorrectiveAction(BaseModel):
    """A corrective action of the month (整改, R-KP-1).

    ``rectification``: a complaint whose result put right what was wrong, resolved in the month
    (``at``: resolved); ``unsatisfied_revisit``: a complaint's or work order's revisit done in the
    month with an unsatisfied answer (``at``: done), and what followed it (R-RV-11): the
    complaint's state and handler now, the next revisit date given at the revisit.
    """

    kind: Literal["rectification", "unsatisfied_revisit"]
    estate: str
    reference: str
    category: str | None
    department: str | None
    department_name: str | None
    text: str
    at: datetime
    status: str | None
    assignee: str | None
    next_revisit_at: datetime | None


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
    """The month's statistics per estate and, unless one estate was asked for, company-wide.

    Open and overdue items are counted as at ``overdue_as_at`` (``overdue_label`` says so):
    the moment the report was produced while the month runs (``overdue_basis`` ``now``),
    the month's end once it is over (``month_end``). ``corrective_actions`` lists every
    scope's actions, each with its estate's code.
    """

    month: str
    timezone: str
    start: datetime
    end: datetime
    generated_at: datetime
    overdue_as_at: datetime
    overdue_basis: Literal["now", "month_end"]
    overdue_label: str
    company: ScopeReport | None
    estates: list[ScopeReport]
    corrective_actions: list[CorrectiveAction]

    @property
    def scopes(self) -> list[ScopeReport]:
        """Company first (when present), then each estate."""
        return ([self.company] if self.company is not None else []) + self.estates

    def actions_of(self, scope: ScopeReport) -> list[CorrectiveAction]:
        """The corrective actions of ``scope`` (company-wide: all of them)."""
        return [a for a in self.corrective_actions if scope.code in ("*", a.estate)]


def pct(value: float | None) -> float | str:
    """A share (0..1) in percent with one decimal, or ``—`` without data (every presentation)."""
    return "—" if value is None else round(value * 100, 1)
