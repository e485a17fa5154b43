"""Reading the web app's forms: text fields, dates, validation errors, and the input of each step."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from fastapi.responses import Response
from pydantic import BaseModel, ValidationError
from starlette.datastructures import FormData

from estatecare.services.errors import InvalidInput, NotFound
from estatecare.services.schemas import (
    EARLIEST_YEAR,
    LATEST_YEAR,
    AssessmentIn,
    ConfirmationIn,
    DecisionIn,
    EscalationIn,
    ProgressIn,
    ResolutionIn,
    RevisitIn,
)
from models.enums import Severity, Urgency

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


def _due(value: str, tz: ZoneInfo) -> datetime | None:
    try:
        return local_date(value, tz, end_of_day=True)
    except ValueError as exc:
        raise InvalidInput("due_at", "use the form YYYY-MM-DD") from exc


def revisit_fields(f: dict[str, str]) -> dict[str, Any]:
    """The form fields of every revisit record, a complaint's or a work order's (R-RV-7, R-RV-8)."""
    return {
        "method": f.get("method", ""),
        "satisfaction": f.get("satisfaction", ""),
        **{k: f.get(k, "") for k in ("punctuality", "attitude", "quality", "shortcomings", "suggestions")},
        "signature_png_base64": f.get("signature_png_base64", "").removeprefix("data:image/png;base64,"),
        "refusal_note": f.get("refusal_note", ""),
        "new_issue": f.get("new_issue", ""),
    }


def step_input(op: str, form: FormData, version: int | None, tz: ZoneInfo) -> BaseModel:
    """The validated input of one step of an action page (a pydantic model), by operation."""
    f = {k: v for k, v in form.items() if isinstance(v, str)}
    if op == "assess":
        return AssessmentIn(
            valid=f.get("valid") == "yes",
            category=f.get("category") or None,
            service_area=f.get("service_area") or None,
            severity=f.get("severity") or Severity.GENERAL,
            urgency=f.get("urgency") or Urgency.NORMAL,
            explanation=f.get("explanation", ""),
            version=version,
        )
    if op == "resolve":
        return ResolutionIn(result=f.get("result", ""), version=version)
    if op == "progress":
        return ProgressIn(
            message=f.get("message", ""), next_reply_at=_due(f.get("next_reply_at", ""), tz), version=version
        )
    if op == "transfer":
        return EscalationIn(reason=f.get("reason", ""), version=version)
    if op == "confirm":
        return ConfirmationIn(confirmed=f.get("confirmed") == "yes", note=f.get("note", ""), version=version)
    if op == "decide":
        return DecisionIn(
            department=f.get("department", ""),
            staff_email=f.get("staff_email", ""),
            due_at=_due(f.get("due_at", ""), tz),
            note=f.get("note", ""),
            version=version,
        )
    if op == "revisit":
        return RevisitIn(**revisit_fields(f), version=version)
    raise NotFound(f"no operation {op!r}")
