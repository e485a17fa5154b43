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


def pct(value: float | None) -> float | str:
    """A share (0..1) in percent with one decimal, or ``—`` without data (every presentation)."""
    return "—" if value is None else round(value * 100, 1)
