"""Reading the web app's forms: text fields, dates, validation errors, and the input of each step."""

from __future__ import annotations

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


def errors(exc: ValidationError) -> dict[str, str]:
    """Field -> an error code the page translates, or the validator's own message."""
    out: dict[str, str] = {}
    for e in exc.errors():
        field = str(e["loc"][0]) if e["loc"] else "form"
        out.setdefault(field, ERROR_CODES.get(str(e["type"]), str(e["msg"]).removeprefix("Value error, ")))
    return out


def field_refusal(exc: InvalidInput) -> str:
    """A service's refusal of a field as the form shows it: a code the page words in the reader's
    language (``_forms.html``, ``message``) for the refusals a resident or clerk meets, else the message."""
    message = str(exc).split(": ", 1)[-1]
    if exc.field == "unit" and message.startswith("no unit"):
        return "unit_unknown"
    if exc.field == "building" and "several buildings" in message:
        return "unit_ambiguous"
    return message


def text(form: FormData, name: str) -> str:
    """The text field ``name`` of ``form`` ("" when absent or a file)."""
    value = form.get(name)
    return value if isinstance(value, str) else ""


def retry_after(response: Response, seconds: int) -> Response:
    """``response`` with a ``Retry-After`` header."""
    response.headers["Retry-After"] = str(seconds)
    return response


def local_date(value: str, tz: ZoneInfo, *, end_of_day: bool = False) -> datetime | None:
    """``YYYY-MM-DD`` in the policy's timezone as a UTC instant (the day's start, or its end)."""
    if not value:
        return None
    day = date.fromisoformat(value)
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
