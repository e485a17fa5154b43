"""Monthly KPI arithmetic (R-KP-1, R-KP-2): the counts a month's report is built from, the
rates, and every target marked met or missed.

Pure rules: the service layer fills :class:`Counts` from the database, this module does
the arithmetic. A rate with nothing to count (denominator 0) is ``None`` ("no data"),
and a target with no data is neither met nor missed (``met is None``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from fractions import Fraction
from typing import Literal

from models.policy import Targets

Comparison = Literal[">=", "<="]


@dataclass
class Counts:
    """What one scope (an estate, or the whole company) did in a month.

    Complaint counts are of complaints received in the month; revisit counts of
    revisits done (or due, for handling) in the month; ``*_ytd`` from 1 January to the
    month's end; ``open``/``overdue`` as at the month's end.
    """

    complaints: int = 0
    valid: int = 0
    invalid: int = 0
    unassessed: int = 0
    repeat: int = 0  # later reports of a problem already complained about (R-IN-5)
    response_due: int = 0
    response_on_time: int = 0
    resolution_due: int = 0
    resolution_on_time: int = 0
    revisits_due: int = 0  # complaint and survey revisits due in the month (R-KP-2)
    revisits_handled: int = 0
    rated: int = 0  # revisits done in the month with a satisfaction answer
    satisfied: int = 0  # satisfied or basically satisfied (R-RV-7)
    repair_rated: int = 0  # repair / service revisits (work orders)
    repair_satisfied: int = 0
    revisits_done: int = 0
    revisits_reviewed: int = 0  # of those, reviewed by a supervisor by the month's end (R-RV-9)
    on_site_signed: int = 0  # on site with the resident's signature (R-RV-8)
    phone_letter: int = 0
    revisits_done_ytd: int = 0
    on_site_signed_ytd: int = 0
    phone_letter_ytd: int = 0
    open: int = 0
    overdue: int = 0
    escalations: int = 0

    def add(self, other: Counts) -> None:
        """Add ``other`` into this one (estate totals -> company totals)."""
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


def rate(numerator: int, denominator: int) -> float | None:
    """``numerator / denominator``, or None when there is nothing to count."""
    if denominator < 0 or numerator < 0 or numerator > denominator:
        raise ValueError(f"a rate needs 0 <= numerator <= denominator, got {numerator}/{denominator}")
    if denominator == 0:
        return None
    return float(Fraction(numerator, denominator))


def met(value: float | None, target: float, comparison: Comparison) -> bool | None:
    """Whether ``value`` meets ``target`` (None with no data). Compared exactly, no rounding."""
    if value is None:
        return None
    return value >= target if comparison == ">=" else value <= target


@dataclass(frozen=True)
class KpiValue:
    """One indicator with its target (R-KP-2)."""

    id: str
    value: float | None
    numerator: int
    denominator: int
    target: float
    comparison: Comparison
    met: bool | None


def _kpi(id: str, num: int, den: int, target: float, comparison: Comparison) -> KpiValue:
    value = rate(num, den)
    return KpiValue(id, value, num, den, target, comparison, met(value, target, comparison))


def kpis(c: Counts, targets: Targets) -> list[KpiValue]:
    """Every target of R-KP-2 for one scope, marked met, missed or no data."""
    return [
        _kpi("revisit_handling_rate", c.revisits_handled, c.revisits_due, targets.revisit_handling_rate, ">="),
        _kpi("repair_satisfaction", c.repair_satisfied, c.repair_rated, targets.repair_satisfaction, ">="),
        _kpi("on_site_signed_share", c.on_site_signed, c.revisits_done, targets.on_site_signed_share_min, ">="),
        _kpi(
            "on_site_signed_share_ytd",
            c.on_site_signed_ytd,
            c.revisits_done_ytd,
            targets.on_site_signed_share_min,
            ">=",
        ),
        _kpi("phone_letter_share", c.phone_letter, c.revisits_done, targets.phone_letter_share_max, "<="),
        _kpi("phone_letter_share_ytd", c.phone_letter_ytd, c.revisits_done_ytd, targets.phone_letter_share_max, "<="),
    ]


def rates(c: Counts) -> dict[str, float | None]:
    """The rates reported without a target (R-KP-1)."""
    return {
        "response_on_time": rate(c.response_on_time, c.response_due),
        "resolution_on_time": rate(c.resolution_on_time, c.resolution_due),
        "satisfaction": rate(c.satisfied, c.rated),
        "valid_share": rate(c.valid, c.valid + c.invalid),
    }
