"""Reading the web app's forms: text fields, dates, validation errors, and the input of each step."""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime, time
from typing import Annotated, Any, get_args, get_origin
from zoneinfo import ZoneInfo

from fastapi.responses import Response
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from estatecare.services.errors import InvalidInput
from estatecare.services.schemas import (
    EARLIEST_YEAR,
    LATEST_YEAR,
)

#: pydantic error types -> the codes the templates translate (``_forms.html``).
ERROR_CODES = {
    "missing": "required",
    "string_too_short": "required",
    "too_short": "required",
    "string_too_long": "too_long",
    "string_pattern_mismatch": "format",
    "enum": "choice",
    "literal_error": "choice",
    "bool_parsing": "choice",
    "datetime_parsing": "format",
    "datetime_from_date_parsing": "format",
    "datetime_range": "format",
    "email_address": "format",
}


#: Messages of the schemas' own validators -> codes (``estatecare.services.schemas``).
VALUE_ERRORS = {
    "must not be empty": "required",
    "must not contain control characters": "control_characters",
    "must be a single line without control characters": "control_characters",
    "must name each revisit once": "choice",
}

#: A service's refusals of a field (``InvalidInput``) -> the codes ``_forms.html`` words in the
#: reader's language: the field ("*": any) and how its message reads. Rule ids stay in the services.
REFUSALS: tuple[tuple[str, str, re.Pattern[str]], ...] = tuple(
    (code, field, re.compile(pattern))
    for code, field, pattern in (
        ("unit_unknown", "unit", r"no unit "),
        ("unit_ambiguous", "building", r"unit .* exists in several buildings"),
        ("choice", "estate", r"no estate with code "),
        ("format", "*", r"give the (time|deadline) with its timezone offset|use the form YYYY-MM-DD"),
        ("future", "*", r"(the next reply date )?must be in the future"),
        ("on_site_first", "method", r"(the first revisit of a valid complaint|this revisit) is (planned )?on site"),
        ("signature_needed", "signature_png_base64", r"an on-site revisit needs the resident's signature"),
        ("signature_unreadable", "signature_png_base64", r"not valid base64|the signature must be a PNG image"),
        ("not_yet_happened", "done_at", r"a revisit cannot be recorded before it happened"),
        ("next_revisit_needed", "next_reply_at", r"an unsatisfied revisit sets the date of the next revisit"),
        ("category_needed", "category", r"a valid complaint needs its category"),
        ("explanation_needed", "explanation", r"an invalid complaint needs the explanation"),
        ("first_report_other", "*", r"the first report must be another complaint of the same estate"),
        ("first_report_linked", "first_report", r"that complaint is itself linked"),
        ("first_report_done", "first_report", r"the first report is \w+: it is not handled any more"),
        ("department_needed", "department", r"the complaint has no category yet"),
        ("department_unknown", "department", r"department .* does not exist"),
        ("no_handler", "department", r"department .* has no active staff"),
        ("person_unknown", "staff_email", r"no active staff member with email "),
        ("person_other_estate", "staff_email", r"that person works for another estate"),
    )
)


def errors(exc: ValidationError) -> dict[str, str]:
    """Field -> an error code the page words in the reader's language (``_forms.html``)."""
    out: dict[str, str] = {}
    for e in exc.errors():
        field = str(e["loc"][0]) if e["loc"] else "form"
        message = str(e["msg"]).removeprefix("Value error, ")
        out.setdefault(field, ERROR_CODES.get(str(e["type"])) or VALUE_ERRORS.get(message, "format"))
    return out


def field_refusal(exc: InvalidInput) -> str:
    """A service's refusal of a field as the form shows it: a code the page words in the reader's
    language (``_forms.html``, ``message``); ``refused`` for a refusal it does not know."""
    message = str(exc).split(": ", 1)[-1]
    for code, field, pattern in REFUSALS:
        if field in ("*", exc.field) and pattern.match(message):
            return code
    return "refused"


def text(form: FormData, name: str) -> str:
    """The text field ``name`` of ``form`` ("" when absent or a file)."""
    value = form.get(name)
    return value if isinstance(value, str) else ""


def retry_after(response: Response, seconds: int) -> Response:
    """``response`` with a ``Retry-After`` header."""
    response.headers["Retry-After"] = str(seconds)
    return response


#: A date as people type it: ``2026-11-30``, ``2026/11/30``, ``2026.11.30`` or ``20261130``.
DATE_TYPED = re.compile(r"(?P<y>\d{4})(?:[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})|(?P<m2>\d{2})(?P<d2>\d{2}))", re.ASCII)
#: The same for the browser's check of a date field (``pattern``, ``_forms.html``).
DATE_PATTERN = r"\d{4}(-|/|\.)\d{1,2}(-|/|\.)\d{1,2}|\d{8}"


def typed_date(value: str) -> date:
    """The day ``value`` names, typed as :data:`DATE_TYPED` (full-width digits too); ValueError otherwise."""
    m = DATE_TYPED.fullmatch(unicodedata.normalize("NFKC", value).strip())
    if m is None:
        raise ValueError(f"not a date YYYY-MM-DD: {value!r}")
    return date(int(m["y"]), int(m["m"] or m["m2"]), int(m["d"] or m["d2"]))


def local_date(value: str, tz: ZoneInfo, *, end_of_day: bool = False) -> datetime | None:
    """A typed date (``YYYY-MM-DD``, see :func:`typed_date`) in the policy's timezone as a UTC
    instant (the day's start, or its end); None when empty."""
    if not value.strip():
        return None
    day = typed_date(value)
    if not EARLIEST_YEAR <= day.year <= LATEST_YEAR:
        raise ValueError(f"give a date between {EARLIEST_YEAR}-01-01 and {LATEST_YEAR}-12-31")
    at = datetime.combine(day, time(23, 59) if end_of_day else time(0, 0), tz)
    return at.astimezone(UTC)


def _kinds(annotation: Any) -> set[Any]:
    """The plain types a field takes (``When | None`` -> datetime, NoneType)."""
    if get_origin(annotation) is Annotated:
        return _kinds(get_args(annotation)[0])
    args = get_args(annotation)
    return set().union(*(_kinds(a) for a in args)) if args else {annotation}


def step_input(schema: type[BaseModel], form: FormData, version: int | None, tz: ZoneInfo) -> BaseModel:
    """The validated input of a step from an action page's form, field by field of ``schema``:
    a yes/no field for a flag, a date (YYYY-MM-DD, the end of that day) for a time; an empty
    optional field takes its default; the drawn signature loses its data-URL prefix."""
    f = {k: v for k, v in form.items() if isinstance(v, str)}
    values: dict[str, Any] = {"version": version} if "version" in schema.model_fields else {}
    for name, field in schema.model_fields.items():
        if name == "version":
            continue
        raw = f.get(name, "")
        kinds = _kinds(field.annotation)
        if bool in kinds:
            values[name] = raw == "yes"
        elif not raw and not field.is_required():
            continue
        elif datetime in kinds:
            try:
                values[name] = local_date(raw, tz, end_of_day=True)
            except ValueError as exc:
                raise InvalidInput(name, "use the form YYYY-MM-DD") from exc
        else:
            values[name] = raw.removeprefix("data:image/png;base64,") if name == "signature_png_base64" else raw
    return schema(**values)
