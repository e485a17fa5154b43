"""Keyword rules that suggest an assessment, with their evidence, and duplicate detection (pure)."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache

from models.enums import Category, ServiceArea, Severity, Urgency
from models.policy import ASSESSED_FIELDS, KeywordRule, Policy


@dataclass(frozen=True)
class Evidence:
    """A rule that fired and the keywords of it found in the text."""

    rule: str
    words: tuple[str, ...]


@dataclass(frozen=True)
class FieldSuggestion:
    """One suggested field: its value, the rules behind it, and whether they may apply it alone."""

    field: str
    value: str
    evidence: tuple[Evidence, ...]
    confident: bool


@dataclass(frozen=True)
class Suggestion:
    """What the keyword rules suggest about a text (R-AS-1..3); a person decides.

    ``confident`` fields may be applied without a person (the policy's ``apply_alone``).
    """

    category: Category | None
    service_area: ServiceArea | None
    urgency: Urgency
    severity: Severity
    valid: bool
    evidence: dict[str, tuple[Evidence, ...]] = field(default_factory=dict)
    confident_fields: frozenset[str] = frozenset()

    @property
    def matched(self) -> tuple[str, ...]:
        """Every keyword found, once, in the order the rules found them."""
        words = (w for found in self.evidence.values() for e in found for w in e.words)
        return tuple(dict.fromkeys(words))

    @property
    def confident(self) -> bool:
        """Every field a person decides, validity included, is decided by confident rules:
        only then may the complaint be assessed without a person (R-AS-1..3); an invalid
        one always waits for a person, who explains it (R-AS-2)."""
        return self.valid and self.category is not None and set(ASSESSED_FIELDS) <= self.confident_fields

    def value(self, name: str) -> str:
        """A field's suggested value as the form sends it ("" for none, "yes"/"no" for validity)."""
        raw = getattr(self, name)
        if isinstance(raw, bool):
            return "yes" if raw else "no"
        return "" if raw is None else str(raw.value)

    def fields(self) -> list[FieldSuggestion]:
        """Each field with its value and evidence, in the order a person decides them."""
        return [
            FieldSuggestion(name, self.value(name), self.evidence.get(name, ()), name in self.confident_fields)
            for name in ASSESSED_FIELDS
        ]


def fold(text: str) -> str:
    """NFKC (full-width letters and digits) and case folding, for matching."""
    return unicodedata.normalize("NFKC", text).casefold()


_LATIN = re.compile(r"[a-z0-9]")


@lru_cache(maxsize=4096)
def _pattern(keyword: str) -> re.Pattern[str]:
    """Chinese keywords match anywhere; English ones as whole words (with -s, -es, -ed, -ing)."""
    word = re.escape(fold(keyword))
    if _LATIN.match(fold(keyword)[:1]) is None:
        return re.compile(word)
    return re.compile(rf"(?<![a-z0-9]){word}(?:s|es|ed|ing)?(?![a-z0-9])")


def _spans(folded: str, words: list[str]) -> list[tuple[int, int]]:
    return [m.span() for w in words for m in _pattern(w).finditer(folded)]


def rule_hits(rule: KeywordRule, folded: str) -> tuple[str, ...]:
    """The rule's keywords found in the folded text; a hit overlapped by an ``unless`` word is
    no hit (``火`` inside ``火鍋`` or ``發火``); a ``not_with`` word anywhere silences the rule."""
    if rule.not_with and _spans(folded, rule.not_with):
        return ()
    blocked = _spans(folded, rule.unless)
    hits: list[str] = []
    for keyword in rule.keywords:
        for m in _pattern(keyword).finditer(folded):
            start, end = m.span()
            if not any(s < end and start < e for s, e in blocked):
                hits.append(keyword)
                break
    return tuple(hits)


def _rules(policy: Policy) -> list[KeywordRule]:
    extra = policy.assessment.major_keywords
    shorthand = [KeywordRule(name="major_keywords", keywords=extra, severity=Severity.MAJOR)] if extra else []
    return [*policy.assessment.rules, *shorthand]


def _rule_name(rule: KeywordRule, index: int) -> str:
    return rule.name or f"rule {index + 1} ({rule.keywords[0]})"


_DEFAULTS: dict[str, object] = {"urgency": Urgency.NORMAL, "severity": Severity.GENERAL, "valid": True}
#: The value of a field that wins over the others (most serious or outside our duty).
_WINS: dict[str, object] = {"urgency": Urgency.URGENT, "severity": Severity.MAJOR, "valid": False}


def suggest(text: str, policy: Policy) -> Suggestion:
    """What the keyword rules suggest: category and service area from the first rule that sets
    them; urgent, major and invalid when any rule says so (R-AS-1..3). Each field carries its
    evidence; it is confident when a rule that gave its value may apply it alone
    (``apply_alone``, honoured only with ``assessment.auto``) and no fired rule says otherwise."""
    folded = fold(text)
    fired = [(_rule_name(r, i), r, words) for i, r in enumerate(_rules(policy)) if (words := rule_hits(r, folded))]
    values: dict[str, object] = {}
    evidence: dict[str, tuple[Evidence, ...]] = {}
    confident: set[str] = set()
    for name in ASSESSED_FIELDS:
        given = [(rule_name, r, getattr(r, name), words) for rule_name, r, words in fired]
        stated = [g for g in given if g[2] is not None]
        if name in _WINS:
            value = _WINS[name] if any(g[2] == _WINS[name] for g in stated) else _DEFAULTS[name]
        else:
            value = stated[0][2] if stated else None
        values[name] = value
        backing = [g for g in stated if g[2] == value]
        evidence[name] = tuple(Evidence(rule_name, words) for rule_name, _, _, words in backing)
        vouching = [g for g in given if (g[2] if g[2] is not None else _DEFAULTS.get(name)) == value]
        against = [g for g in stated if g[2] != value]
        if (
            policy.assessment.auto
            and value is not None
            and not against
            and any(name in r.apply_alone for _, r, _, _ in vouching)
        ):
            confident.add(name)
    return Suggestion(
        category=values["category"],  # type: ignore[arg-type]
        service_area=values["service_area"],  # type: ignore[arg-type]
        urgency=values["urgency"],  # type: ignore[arg-type]
        severity=values["severity"],  # type: ignore[arg-type]
        valid=bool(values["valid"]),
        evidence={k: v for k, v in evidence.items() if v},
        confident_fields=frozenset(confident),
    )


def _shingles(text: str) -> frozenset[str]:
    """Character bigrams of the text without spaces and punctuation (works for Chinese).

    Short texts (nearly all) are cached: during a burst each new complaint is compared
    with the same recent ones; long ones are not, to bound the cache's memory."""
    return _bigrams_cached(text) if len(text) <= 1000 else _bigrams(text)


def _bigrams(text: str) -> frozenset[str]:
    chars = [c for c in fold(text) if c.isalnum()]
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
