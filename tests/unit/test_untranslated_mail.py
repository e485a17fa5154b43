"""Every sample email reads in its recipient's language, in the glossary's words (docs/glossary.md).

Each sample of ``notifications.samples`` (plus a few variants for edge cases the samples do not
reach) is rendered in every language; its plain-text part (with the subject) and the visible text
of its HTML part are scanned for what a recipient must never see: rule ids, email addresses,
internal codes, times with seconds, level numbers, empty sections, and in Chinese the wrong
script, mainland wording or the informal 你. The test ids name template x variant x locale x part.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from enum import StrEnum
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog

from estatecare.webapp.i18n import LOCALE_DIR as WEB_LOCALE_DIR
from models import enums
from models.enums import Locale
from notifications.catalogue import CATALOGUE
from notifications.i18n import read_catalog
from notifications.render import render
from notifications.samples import SAMPLE_CONTEXTS

TZ = "Asia/Hong_Kong"

#: Cases the samples do not reach: (template, variant name, context changes).
VARIANTS: list[tuple[str, str, dict[str, Any]]] = [
    ("escalation", "written-level-0", {"kind": "written", "level": 0, "to_role": "deputy_gm", "deadline_kind": ""}),
    ("escalation", "no-role-level-0", {"kind": "major", "level": 0, "to_role": "", "deadline_kind": "", "due_at": ""}),
    ("escalation", "major", {"kind": "major", "level": 3, "to_role": "deputy_gm", "deadline_kind": ""}),
    ("escalation", "passed-up", {"kind": "passed_up", "level": 3, "to_role": "deputy_gm", "deadline_kind": ""}),
    ("escalation", "not-decided", {"kind": "not_decided", "level": 4, "to_role": "gm", "deadline_kind": ""}),
    ("work_arrangement", "no-instructions", {"instructions": "", "department": ""}),
    ("work_arrangement", "major-normal", {"severity": "major", "urgency": "normal"}),
    ("transfer_sheet", "no-reason", {"reason": ""}),
    ("progress_update", "still-handling", {"still_handling": True, "message": ""}),
    ("closing_notice", "no-result-text", {"resolution_text": ""}),
    ("revisit_task", "suggestion-by-phone", {"kind": "suggestion", "method": "phone", "summary": ""}),
    ("revisit_reminder", "due-soon", {"overdue": False, "method": "on_site"}),
    ("sample_list", "empty", {"items": []}),
    ("job_task", "reopened", {"reopened": True, "assigned_by": ""}),
]

#: Email addresses a message is meant to show, with the reason. Nothing else may show one.
ALLOWED_ADDRESSES: dict[str, tuple[str, str]] = {
    "work_arrangement": ("wong@example.com", "the complainant's own contact, for the handler who calls back (R-IN-6)"),
}


def _cases() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for template_id in sorted(CATALOGUE):
        yield template_id, "sample", SAMPLE_CONTEXTS[template_id]
    for template_id, variant, changes in VARIANTS:
        yield template_id, variant, {**SAMPLE_CONTEXTS[template_id], **changes}


CASES = [
    pytest.param(template_id, context, locale, part, id=f"{template_id}-{variant}-{locale.value}-{part}")
    for template_id, variant, context in _cases()
    for locale in Locale
    for part in ("text", "html")
]


class _VisibleText(HTMLParser):
    """The text a mail client shows: text nodes only (no style sheets or scripts), one block per line."""

    HIDDEN = frozenset({"style", "script"})

    def __init__(self) -> None:
        super().__init__()
        self.chunks: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.HIDDEN:
            self.hidden += 1
        elif tag in {"p", "div", "tr", "li", "br", "h3", "table", "title", "text"}:
            self.chunks.append("\n")
        elif tag == "td":
            self.chunks.append(" | ")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.HIDDEN:
            self.hidden = max(0, self.hidden - 1)

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.chunks.append(data)


def visible_html(html: str) -> str:
    parser = _VisibleText()
    parser.feed(html)
    return "".join(parser.chunks)


URL = re.compile(r"https?://\S+")
RULE_ID = re.compile(r"R-[A-Z]{2}-\d+")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
SECONDS = re.compile(r"\d{1,2}:\d{2}:\d{2}")
LEVEL_NUMBER = re.compile(r"層級[：:]\s*\d|层级[：:]\s*\d|第\s*\d+\s*[級级]|\blevel\s*\d", re.IGNORECASE)
#: Latin words; capitalised ones (Estate Care, the CH-/WO- of references) may stand in Chinese text.
WORD = re.compile(r"[A-Za-z][A-Za-z_]*")
SNAKE = re.compile(r"[a-z]+(?:_[a-z]+)+")
#: Every stored value of the domain's enumerations (assigned, revisit_due, online, general ...).
CODES = {m.value for e in vars(enums).values() if isinstance(e, type) and issubclass(e, StrEnum) for m in e} - {
    loc.value for loc in Locale
}
#: Mainland wording that a Hong Kong reader must not get (the informal 你 counts: 您 always).
MAINLAND = ["征询", "征詢", "質量", "质量", "尊敬的"]
YOU_INFORMAL = re.compile(r"(?<!迷)你")


def simplified_only(text: str) -> list[str]:
    """CJK characters of GB2312 that Big5 lacks: the simplified-only forms (们, 质, 询 ...)."""

    def encodes(char: str, codec: str) -> bool:
        try:
            char.encode(codec)
        except UnicodeEncodeError:
            return False
        return True

    return sorted({c for c in text if "\u4e00" <= c <= "\u9fff" and encodes(c, "gb2312") and not encodes(c, "cp950")})


def empty_sections(part: str, body: str) -> list[str]:
    """Labels or headings shown without content: in text a label line ``Name: `` with nothing after
    it, or a heading line followed by nothing but blank lines; in HTML an empty quote or table cell."""
    if part == "html":
        return re.findall(r"<div[^>]*>\s*</div>", body) + re.findall(r"<td[^>]*>\s*</td>", body)
    found: list[str] = []
    lines = body.split("\n")
    for i, line in enumerate(lines):
        after = [x.strip() for x in lines[i + 1 : i + 3]]
        if re.search(r"[:：] $", line) or (re.search(r"[:：]$", line) and after in ([], [""], ["", ""], ["--"])):
            found.append(line.strip())
    return found


def problems(template_id: str, locale: Locale, part: str, subject: str, body: str) -> list[str]:
    """What the recipient should not see in this part of the message."""
    shown = subject + "\n" + (body if part == "text" else visible_html(body))
    found: list[str] = []
    found += [f"rule id {r}" for r in RULE_ID.findall(shown)]
    allowed = ALLOWED_ADDRESSES.get(template_id, ("", ""))[0]
    found += [f"email address {a}" for a in EMAIL.findall(shown) if a != allowed]
    words = URL.sub(" ", EMAIL.sub(" ", shown))
    found += [f"time with seconds {t}" for t in SECONDS.findall(words)]
    found += [f"level number {n!r}" for n in LEVEL_NUMBER.findall(words)]
    found += [f"empty section {s!r}" for s in empty_sections(part, body)]
    if locale is not Locale.EN:
        for word in WORD.findall(words):
            if word in CODES or SNAKE.fullmatch(word):
                found.append(f"internal code {word}")
            elif word.islower():
                found.append(f"untranslated word {word}")
        found += [f"informal 你 in {words[m.start() : m.start() + 6]!r}" for m in YOU_INFORMAL.finditer(words)]
    if locale is Locale.ZH_HANT:
        found += [f"simplified character {c}" for c in simplified_only(words)]
        found += [f"mainland wording {w}" for w in MAINLAND if w in words]
    return found


@pytest.mark.parametrize(("template_id", "context", "locale", "part"), CASES)
def test_the_email_reads_in_the_recipients_language(
    template_id: str, context: dict[str, Any], locale: Locale, part: str
) -> None:
    msg = render(template_id, context, locale, TZ)
    body = msg.text if part == "text" else msg.html
    assert problems(template_id, locale, part, msg.subject, body) == []


def test_the_scan_covers_every_template_in_every_language_and_both_parts() -> None:
    covered = {(p.values[0], p.values[2], p.values[3]) for p in CASES}
    assert covered == {(t, loc, part) for t in CATALOGUE for loc in Locale for part in ("text", "html")}
    assert all(t in CATALOGUE for t, _, _ in VARIANTS) and set(ALLOWED_ADDRESSES) <= set(CATALOGUE)


@pytest.mark.parametrize(
    ("text", "locale", "expected"),
    [
        ("請確認（R-HD-6）", Locale.ZH_HANT, "rule id R-HD-6"),
        ("聯絡 someone@example.com", Locale.EN, "email address someone@example.com"),
        ("狀態： revisit_due", Locale.ZH_HANS, "internal code revisit_due"),
        ("緊急程度： normal", Locale.ZH_HANT, "internal code normal"),
        ("期限 2026年12月4日 晚上11:59:59 前", Locale.ZH_HANT, "time with seconds 11:59:59"),
        ("上報層級： 0", Locale.ZH_HANT, "level number '層級： 0'"),
        ("意見征詢回訪", Locale.ZH_HANT, "mainland wording 征詢"),
        ("服務质量", Locale.ZH_HANT, "simplified character 质"),
        ("尊敬的業戶：", Locale.ZH_HANT, "mainland wording 尊敬的"),
        ("你對我們還有甚麼建議？", Locale.ZH_HANS, "informal 你 in '你對我們還有'"),
    ],
)
def test_the_scan_finds_what_it_looks_for(text: str, locale: Locale, expected: str) -> None:
    assert expected in problems("final_reply", locale, "text", "subject", text + "\nmore\n")


def test_the_scan_reads_html_as_a_mail_client_shows_it() -> None:
    html = '<style>.x{font-weight:normal}</style><p>工作要求：</p><div style="a"></div><td>上報層級： 0</td>'
    assert visible_html(html) == "\n工作要求：\n | 上報層級： 0"
    found = problems("work_arrangement", Locale.ZH_HANT, "html", "", html)
    assert found == ["level number '層級： 0'", "empty section '<div style=\"a\"></div>'"]
    text = "工作要求：\n\n\n請在此記錄：\nhttps://x.test/1\n"
    assert problems("work_arrangement", Locale.ZH_HANT, "text", "", text) == ["empty section '工作要求：'"]


# --------------------------------------------------------------------------- the glossary

GLOSSARY = Path(__file__).resolve().parents[2] / "docs" / "glossary.md"


@dataclass(frozen=True)
class Term:
    """One row of a glossary table."""

    table: str
    concept: str
    english: str
    hant: str
    hans: str
    labels: tuple[str, ...]
    code: str = ""


def glossary() -> list[Term]:
    """The rows of every table of docs/glossary.md."""
    terms: list[Term] = []
    table = ""
    for line in GLOSSARY.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            table = line[3:].strip()
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else []
        if len(cells) == 6 and cells[0] != "Concept" and not cells[0].startswith("---"):
            labels = tuple(re.findall(r"`([^`]+)`", cells[5]))
            terms.append(Term(table, cells[0], cells[2], cells[3], cells[4], labels, cells[1].strip("`")))
    return terms


def catalogues() -> dict[str, dict[Locale, Catalog]]:
    return {
        "mail": {loc: read_catalog(loc) for loc in Locale},
        "web": {loc: read_catalog(loc, WEB_LOCALE_DIR) for loc in Locale},
    }


def test_mail_and_web_translate_every_concept_label_with_the_glossarys_word() -> None:
    cats = catalogues()
    wrong: list[str] = []
    for term in glossary():
        for msgid in term.labels:
            colon = msgid.endswith(":")
            found = False
            for side, by_locale in cats.items():
                for loc, want in ((Locale.ZH_HANT, term.hant), (Locale.ZH_HANS, term.hans), (Locale.EN, term.english)):
                    message = by_locale[loc].get(msgid)
                    if message is None:
                        continue
                    found = True
                    got = str(message.string)
                    if loc is Locale.EN and not got:
                        continue  # the English msgid stands for itself
                    expected = want + ((":" if loc is Locale.EN else "：") if colon else "")
                    if got != expected:
                        wrong.append(f"{side} {loc.value} {msgid!r}: {got!r}, glossary {expected!r}")
            if not found:
                wrong.append(f"{msgid!r} ({term.concept}) is in neither catalogue")
    assert wrong == []


def test_no_two_concepts_of_a_glossary_table_share_a_word() -> None:
    """Normal urgency and general severity read differently, and so on for every table."""
    seen: dict[tuple[str, str, str], str] = {}
    clashes: list[str] = []
    for term in glossary():
        for script, word in (("zh-Hant", term.hant), ("zh-Hans", term.hans)):
            other = seen.setdefault((term.table, script, word), term.concept)
            if other != term.concept:
                clashes.append(f"{term.table}: {other!r} and {term.concept!r} are both {word!r} in {script}")
    assert clashes == []
    tables = {t.table for t in glossary()}
    assert {"Key nouns", "Roles", "Statuses of a complaint", "Channels", "Urgency and severity"} <= tables
