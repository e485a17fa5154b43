"""The notes the services write on a complaint's history and escalations, as pages show them.

A service stores its own notes in English with the rule they apply (``revisit satisfied
(R-RV-14)``); the database keeps them as written. A page shows a known note as a message
in the reader's language, without the rule id: :func:`read_note` gives its msgid (English,
``%(name)s`` placeholders) and the values to put in, which the page formats (``due``: a
time, ``role``: a role's name). Anything else was typed by a person and is shown as typed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from models.enums import DeadlineKind, Role


@dataclass(frozen=True)
class ShownNote:
    """A known note: the message to translate and the values it names."""

    msgid: str
    args: dict[str, Any]


@dataclass(frozen=True)
class KnownNote:
    """A note a service writes: ``pattern`` matches it whole; ``shown`` makes the message from the match."""

    pattern: re.Pattern[str]
    shown: Callable[[re.Match[str]], ShownNote]


_REF = r"(?P<ref>[A-Z0-9]+-[0-9A-Z-]+)"
_TIME = r"(?P<due>\d{4}-\d{2}-\d{2}T[0-9:.]+(?:[+-]\d{2}:\d{2}|Z))"
_DEADLINES = {
    DeadlineKind.RESPONSE.value: "The response deadline (%(due)s) was missed",
    DeadlineKind.RESOLUTION.value: "The resolution deadline (%(due)s) was missed",
    DeadlineKind.REVISIT.value: "The revisit deadline (%(due)s) was missed",
}


def _fixed(msgid: str) -> Callable[[re.Match[str]], ShownNote]:
    return lambda _: ShownNote(msgid, {})


def _with_ref(msgid: str) -> Callable[[re.Match[str]], ShownNote]:
    return lambda m: ShownNote(msgid, {"ref": m["ref"]})


def _missed(m: re.Match[str]) -> ShownNote:
    return ShownNote(_DEADLINES[m["kind"]], {"due": datetime.fromisoformat(m["due"])})


def _not_decided(m: re.Match[str]) -> ShownNote:
    args = {"role": Role(m["role"]).value, "level": int(m["level"]), "due": datetime.fromisoformat(m["due"])}
    return ShownNote("No decision by the %(role)s (level %(level)s) by %(due)s: passed one level up", args)


def _note(pattern: str, shown: Callable[[re.Match[str]], ShownNote]) -> KnownNote:
    return KnownNote(re.compile(pattern), shown)


#: Every note the services write that is not a person's own words (services/lifecycle: ``note=``,
#: ``reason=``, the reason of an escalation). ``tests/unit/test_notes.py`` checks the list is whole.
KNOWN_NOTES = (
    _note(r"assessed by the policy's keyword rules", _fixed("Assessed by the policy's keyword rules")),
    _note(rf"same problem as {_REF} \(R-IN-5\)", _with_ref("Same problem as %(ref)s: follows that report")),
    _note(r"explanation recorded \(R-AS-2\)", _fixed("The explanation to the complainant is recorded")),
    _note(rf"closed with its first report {_REF} \(R-IN-5\)", _with_ref("Closed with its first report %(ref)s")),
    _note(
        r"no revisit: anonymous or reply-only, the reply is on the record \(R-IN-4\)",
        _fixed("No revisit: anonymous or reply-only; the reply is on the record"),
    ),
    _note(r"major complaint \(R-AS-4\)", _fixed("Major complaint: reported to leadership at once")),
    _note(r"written complaint \(R-IN-3\)", _fixed("Written complaint: reported to leadership")),
    _note(rf"(?P<kind>{'|'.join(_DEADLINES)}) deadline {_TIME} missed", _missed),
    _note(
        rf"no decision by the (?P<role>{'|'.join(r.value for r in Role)}) \(level (?P<level>\d+)\) by {_TIME}",
        _not_decided,
    ),
    _note(r"revisit satisfied \(R-RV-14\)", _fixed("Revisit satisfied: the complaint is closed")),
    _note(
        r"revisit unsatisfied: rectify and revisit again \(R-RV-11\)",
        _fixed("Revisit unsatisfied: put it right and revisit again"),
    ),
)

#: The msgids of :data:`KNOWN_NOTES` (for the catalogues and their test).
NOTE_MSGIDS = (
    "Assessed by the policy's keyword rules",
    "Same problem as %(ref)s: follows that report",
    "The explanation to the complainant is recorded",
    "Closed with its first report %(ref)s",
    "No revisit: anonymous or reply-only; the reply is on the record",
    "Major complaint: reported to leadership at once",
    "Written complaint: reported to leadership",
    *_DEADLINES.values(),
    "No decision by the %(role)s (level %(level)s) by %(due)s: passed one level up",
    "Revisit satisfied: the complaint is closed",
    "Revisit unsatisfied: put it right and revisit again",
)


def read_note(note: str) -> ShownNote | None:
    """The message of a note a service wrote, or None for a person's words (shown as typed)."""
    text = note.strip()
    for known in KNOWN_NOTES:
        if m := known.pattern.fullmatch(text):
            return known.shown(m)
    return None
