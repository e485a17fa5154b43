"""Automatic assessment by the policy's keyword rules and duplicate detection (pure)."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from models.enums import Category, ServiceArea, Severity, Urgency
from models.policy import Policy


@dataclass(frozen=True)
class Suggestion:
    """What the keyword rules say about a text; ``confident`` when a category was found."""

    category: Category | None
    service_area: ServiceArea | None
    urgency: Urgency
    severity: Severity
    matched: tuple[str, ...]

    @property
    def confident(self) -> bool:
        """A rule gave the category, so no person needs to assess (R-AS-1)."""
        return self.category is not None


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def suggest(text: str, policy: Policy) -> Suggestion:
    """Apply the keyword rules in order: the first rule that sets a field wins it;
    urgency and severity take the most serious value any rule gives (R-AS-3)."""
    folded = _fold(text)
    category: Category | None = None
    area: ServiceArea | None = None
    urgency, severity = Urgency.NORMAL, Severity.GENERAL
    matched: list[str] = []
    for rule in policy.assessment.rules:
        hit = next((k for k in rule.keywords if _fold(k) in folded), None)
        if hit is None:
            continue
        matched.append(hit)
        category = category or rule.category
        area = area or rule.service_area
        if rule.urgency is Urgency.URGENT:
            urgency = Urgency.URGENT
        if rule.severity is Severity.MAJOR:
            severity = Severity.MAJOR
    for word in policy.assessment.major_keywords:
        if _fold(word) in folded:
            severity = Severity.MAJOR
            matched.append(word)
    return Suggestion(category, area, urgency, severity, tuple(matched))


def _shingles(text: str) -> frozenset[str]:
    """Character bigrams of the text without spaces and punctuation (works for Chinese).

    Short texts (nearly all) are cached: during a burst each new complaint is compared
    with the same recent ones; long ones are not, to bound the cache's memory."""
    return _bigrams_cached(text) if len(text) <= 1000 else _bigrams(text)


def _bigrams(text: str) -> frozenset[str]:
    chars = [c for c in _fold(text) if c.isalnum()]
    if len(chars) < 2:
        return frozenset(chars)
    return frozenset(chars[i] + chars[i + 1] for i in range(len(chars) - 1))


_bigrams_cached = lru_cache(maxsize=2048)(_bigrams)


def similarity(a: str, b: str) -> float:
    """Jaccard similarity of character bigrams, 0..1."""
    sa, sb = _shingles(a), _shingles(b)
    if not sa or not sb:
        return 0.0
    common = len(sa & sb)
    return common / (len(sa) + len(sb) - common)  # |A ∪ B| without building the union


@dataclass(frozen=True)
class Candidate:
    """An earlier complaint that a new one may repeat."""

    id: int
    estate_id: int
    unit_id: int | None
    category: str | None
    content: str
    received_at: datetime


def same_place(new: Candidate, earlier: Candidate) -> bool:
    """Two reports can be about one problem (R-IN-5): the same private unit, or both about the
    estate's shared areas (no unit: lobby, lift, car park, ...) in the same category. Reports
    from different private units are different problems, however alike their text: staff
    link those by hand when they really are one."""
    if new.unit_id is not None or earlier.unit_id is not None:
        return new.unit_id == earlier.unit_id
    return new.category is not None and earlier.category == new.category


def find_first_report(new: Candidate, earlier: list[Candidate], policy: Policy) -> Candidate | None:
    """The earliest report the new one repeats (R-IN-5): the same place (``same_place``) of the
    same estate, within the policy window, with similar text."""
    window = timedelta(days=policy.duplicates.window_days)
    threshold = policy.duplicates.similarity
    matches = [
        c
        for c in earlier
        if c.id != new.id
        and c.estate_id == new.estate_id
        and timedelta(0) <= new.received_at - c.received_at <= window
        and same_place(new, c)
        and similarity(new.content, c.content) >= threshold
    ]
    return min(matches, key=lambda c: (c.received_at, c.id), default=None)
