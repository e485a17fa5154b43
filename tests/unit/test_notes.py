"""What the services write in English is shown in the reader's language: every note a service
writes on a complaint's history or escalation is a known note (``estatecare.reads.notes``), and
every refusal a page can meet has a code the page words (``estatecare.webapp.forms``). Both
lists are collected from the services' source, so a new note or refusal fails here until it is
worded."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from estatecare.reads.notes import KNOWN_NOTES, NOTE_MSGIDS, read_note
from estatecare.services.errors import InvalidInput
from estatecare.webapp.forms import REFUSALS, field_refusal
from estatecare.webapp.i18n import LOCALE_DIR, TEMPLATE_DIR

SERVICES = Path(__file__).parents[2] / "estatecare" / "services"
RULE_ID = re.compile(r"R-[A-Z]{2}-\d+")
#: What the services' f-strings put in a note, by the expression they format.
SAMPLES = {
    "complaint.reference": "CH-261102-7KQ4MZ",
    "first.reference": "CH-261101-AB12CD",
    "kind.value": "resolution",
    "due.isoformat()": "2026-11-05T03:00:00+00:00",
    "below": "property_supervisor",
    "complaint.escalation_level": "1",
}


def _sources() -> Iterator[tuple[str, ast.AST]]:
    for path in sorted(SERVICES.rglob("*.py")):
        yield str(path.relative_to(SERVICES)), ast.parse(path.read_text(encoding="utf-8"))


def _text(node: ast.expr, sample: dict[str, str] | None = None) -> str | None:
    """A string literal's text, an f-string with each value as ``sample`` has it (else ``x1``), or None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = []
        for part in node.values:
            if isinstance(part, ast.FormattedValue):
                expr = ast.unparse(part.value)
                assert sample is None or expr in sample, f"add a sample of {expr!r} to SAMPLES"
                parts.append(sample[expr] if sample is not None else "x1")
            else:
                parts.append(_text(part) or "")
        return "".join(parts)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "replace":
        return _text(node.func.value, sample)  # f"...".replace("  ", " ")
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):  # "..." "..." over two lines
        left, right = _text(node.left, sample), _text(node.right, sample)
        return None if left is None or right is None else left + right
    return None


def _callee(call: ast.Call) -> str:
    return call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")


def written_notes() -> list[tuple[str, str]]:
    """(where, note) of every note and escalation reason the services write as literal text:
    ``note=``/``reason=`` arguments, ``reason = ...`` and the reason given to ``escalate``."""
    found: list[tuple[str, str]] = []
    for where, tree in _sources():
        for node in ast.walk(tree):
            values: list[ast.expr] = []
            if isinstance(node, ast.Call):
                values += [k.value for k in node.keywords if k.arg in ("note", "reason")]
                if _callee(node) == "escalate" and len(node.args) > 4:
                    values.append(node.args[4])
            elif isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "reason" for t in node.targets
            ):
                values.append(node.value)
            found += [(f"{where}:{v.lineno}", text) for v in values if (text := _text(v, SAMPLES)) is not None]
    return found


def refusals() -> list[tuple[str, str, str]]:
    """(where, field, message) of every ``InvalidInput`` the services raise with literal text."""
    found = []
    for where, tree in _sources():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _callee(node) == "InvalidInput" and len(node.args) == 2:
                field, message = (_text(a) for a in node.args)
                if field is not None and message is not None:
                    found.append((f"{where}:{node.lineno}", field, message))
    return found


NOTES = written_notes()


def test_the_services_notes_are_found_in_their_source() -> None:
    assert len(NOTES) >= 10, NOTES
    assert any(note == "revisit satisfied (R-RV-14)" for _, note in NOTES)


@pytest.mark.parametrize(("where", "note"), NOTES, ids=[where for where, _ in NOTES])
def test_every_note_a_service_writes_is_shown_in_words_without_its_rule(where: str, note: str) -> None:
    shown = read_note(note)
    assert shown is not None, f"{where}: add {note!r} to estatecare.reads.notes.KNOWN_NOTES"
    assert shown.msgid in NOTE_MSGIDS and not RULE_ID.search(shown.msgid)


def test_every_known_note_is_one_a_service_writes() -> None:
    for known in KNOWN_NOTES:
        assert any(known.pattern.fullmatch(note) for _, note in NOTES), known.pattern.pattern


def test_a_note_names_its_values_and_a_persons_words_are_shown_as_typed() -> None:
    missed = read_note("resolution deadline 2026-11-05T03:00:00+00:00 missed")
    assert missed is not None and missed.args == {"due": datetime(2026, 11, 5, 3, tzinfo=UTC)}
    level = read_note("no decision by the service_centre_manager (level 2) by 2026-11-05T03:00:00.123456+00:00")
    assert level is not None and (level.args["role"], level.args["level"]) == ("service_centre_manager", 2)
    linked = read_note("closed with its first report CH-261101-AB12CD (R-IN-5)")
    assert linked is not None and linked.args == {"ref": "CH-261101-AB12CD"}
    for typed in ("需要保安部協助", "revisit satisfied", "major complaint (R-AS-4) and more", ""):
        assert read_note(typed) is None


@pytest.mark.parametrize("locale", ["zh_Hant", "zh_Hans", "en"])
def test_every_notes_message_is_in_the_web_catalogue(locale: str) -> None:
    with (LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalogue = read_po(fh)
    extra = (TEMPLATE_DIR / "_extra_msgids.html").read_text(encoding="utf-8")
    for msgid in NOTE_MSGIDS:
        message = catalogue.get(msgid)
        assert message is not None and (locale == "en" or message.string), (locale, msgid)
        assert f'_("{msgid}")' in extra, msgid


#: Refusals no page meets (the REST API or the command line only, or a page that words its own).
NOT_ON_PAGES = {
    "received-by": "the command line's --received-by",
    "complaint": "a work order's complaint: REST API only",
    "completed_at": "a work order's completion time: REST API only",
    "revisit_ids": "an open letter: REST API only",
    "incoming_doc_number": "the front desk words its own (front_desk_pages._code)",
}


@pytest.mark.parametrize(("where", "field", "message"), refusals(), ids=[where for where, _, _ in refusals()])
def test_every_refusal_a_page_meets_has_words_in_the_readers_language(where: str, field: str, message: str) -> None:
    if field in NOT_ON_PAGES or (field == "department" and "work_orders" in where):
        return
    assert field_refusal(InvalidInput(field, message)) != "refused", f"{where}: give {message!r} a code in REFUSALS"


def test_a_refusal_of_a_person_or_department_has_its_code() -> None:
    """The refusals made of a lookup's ``NotFound`` (``services.people``), and one nobody knows."""
    cases = {
        ("department", "department 'pool' does not exist in this estate"): "department_unknown",
        ("department", "department 'engineering' has no active staff to assign"): "no_handler",
        ("staff_email", "no active staff member with email 'x@example.test'"): "person_unknown",
        ("explanation", "something new (R-XX-9)"): "refused",
    }
    for (field, message), code in cases.items():
        assert field_refusal(InvalidInput(field, message)) == code
    assert len({code for code, _, _ in REFUSALS}) == len(REFUSALS)
