"""Validated input for every lifecycle step (shared by the REST API and the CLI).

Pydantic does the checking; a bad field becomes a 422 naming that field.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from typing import Annotated, Literal

from email_validator import EmailNotValidError, validate_email
from fastapi import Path
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    field_validator,
)
from pydantic_core import PydanticCustomError

from models.enums import (
    Category,
    Channel,
    Locale,
    RevisitMethod,
    Satisfaction,
    ServiceArea,
    Severity,
    Urgency,
    WorkOrderKind,
)

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _clean_text(value: str) -> str:
    """NFC-normalise, refuse control characters other than tab and newlines."""
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return unicodedata.normalize("NFC", value).strip()


def _no_control(value: str) -> str:
    if _CONTROL.search(value) or "\n" in value or "\r" in value:
        raise ValueError("must be a single line without control characters")
    return value.strip()


Text = Annotated[str, AfterValidator(_clean_text)]
Line = Annotated[str, AfterValidator(_no_control)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, max_length=40, pattern=r"^[0-9+()\- ]*$")]

#: One plain address (no list, no display name, no quoting): what email-validator accepts, narrowed
#: so that every address of this shape is accepted (the schema promises no more than is kept).
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_LABEL = r"[A-Za-z0-9]{1,20}(?:-[A-Za-z0-9]{1,20}){0,2}"
EMAIL_PATTERN = rf"^$|^{_ATOM}{{1,30}}(?:\.{_ATOM}{{1,10}}){{0,3}}@(?:{_LABEL}\.){{1,4}}[A-Za-z]{{2,18}}$"


def _one_mailbox(value: str) -> str:
    """Exactly one deliverable-looking address, normalised (email-validator; no DNS look-up)."""
    if not value:
        return value
    try:
        # test_environment: addresses under .test are taken (examples and tests use them)
        return validate_email(value, check_deliverability=False, test_environment=True).normalized
    except EmailNotValidError as exc:
        raise PydanticCustomError(
            "email_address", "not one valid email address: {reason}", {"reason": str(exc)}
        ) from exc


#: A staff member's address, only looked up (demo and internal domains such as .localhost are fine).
StaffEmail = Annotated[str, StringConstraints(strip_whitespace=True, max_length=254, pattern=EMAIL_PATTERN)]
#: A resident's address that mail is sent to.
Email = Annotated[StaffEmail, AfterValidator(_one_mailbox)]

#: Dates and times a client sends are within these years (a year 1 or 9999 overflows the deadline arithmetic).
EARLIEST_YEAR, LATEST_YEAR = 2000, 2100
_IN_RANGE = r"^(20[0-9]{2}|2100)-"
_WRITTEN_TIME = re.compile(r"\s*[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _written_time(value: object) -> object:
    """Refuse what is not written as a date or time (pydantic would take ``768`` for a Unix timestamp)."""
    if isinstance(value, date) or (isinstance(value, str) and _WRITTEN_TIME.match(value)):
        return value
    raise PydanticCustomError("datetime_parsing", "give a date YYYY-MM-DD or a time YYYY-MM-DDTHH:MM[:SS][+08:00]")


def _sane_year(value: datetime) -> datetime:
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise PydanticCustomError(
            "datetime_range",
            "must be between {earliest}-01-01 and {latest}-12-31",
            {"earliest": EARLIEST_YEAR, "latest": LATEST_YEAR},
        )
    return value


When = Annotated[
    datetime,
    BeforeValidator(_written_time),
    AfterValidator(_sane_year),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "pattern": _IN_RANGE,
            "description": f"ISO 8601, years {EARLIEST_YEAR} to {LATEST_YEAR}",
        }
    ),
]
#: ``YYYY-MM`` of a month within the years above.
MONTH_PATTERN = r"^(20[0-9]{2}|2100)-(0[1-9]|1[0-2])$"

MAX_ROW_ID = 2**31 - 1  # PostgreSQL's integer key; SQLite refuses ints past 2**63 with an OverflowError
RowId = Annotated[int, Field(ge=1, le=MAX_ROW_ID, description="a record's id")]
RowIdInPath = Annotated[int, Path(ge=1, le=MAX_ROW_ID, description="a record's id")]
#: Offsets of a listing, and the version a caller saw, are below every id too.
MAX_OFFSET = MAX_ROW_ID
Version = Annotated[int, Field(ge=0, le=MAX_ROW_ID, description="the version the caller saw; changed meanwhile: 409")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=10_000)


class ComplaintIn(_In):
    """A new complaint from any channel (R-IN-1, R-IN-2)."""

    estate: Annotated[Line, Field(min_length=1, max_length=32, description="estate code, e.g. CH")]
    building: Annotated[Line, Field(max_length=100)] = ""
    unit: Annotated[Line, Field(max_length=50, description="unit number in the building")] = ""
    channel: Channel = Channel.ONLINE
    content: Annotated[Text, Field(min_length=1, max_length=5000)]
    complainant_name: Annotated[Line, Field(max_length=200, description="empty: anonymous (R-IN-4)")] = ""
    contact_phone: Phone = ""
    contact_email: Email = ""
    locale: Locale = Locale.ZH_HANT
    category: Category | None = None
    reply_only: bool = False
    incoming_doc_number: Annotated[
        Line, Field(max_length=64, description="a written complaint's number in the incoming-document log (R-IN-3)")
    ] = ""

    @field_validator("content")
    @classmethod
    def _has_words(cls, value: str) -> str:
        if not value:
            raise ValueError("must not be empty")
        return value


class AssessmentIn(_In):
    """A person's assessment (R-AS-1..3); invalid ones need the explanation (R-AS-2)."""

    valid: bool
    category: Category | None = None
    service_area: ServiceArea | None = None
    severity: Severity = Severity.GENERAL
    urgency: Urgency = Urgency.NORMAL
    explanation: Annotated[Text, Field(max_length=5000)] = ""
    duplicate_of: Annotated[Line, Field(max_length=32)] = ""
    version: Version | None = None

    @field_validator("explanation")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()


class AssignmentIn(_In):
    """Assign or reassign: department and person; the deadline defaults to the policy's (R-HD-1/2)."""

    department: Annotated[Line, Field(max_length=40)] = ""
    staff_email: Annotated[StaffEmail, Field(description="empty: the person with the fewest open cases")] = ""
    due_at: When | None = None
    instructions: Annotated[Text, Field(max_length=5000)] = ""
    version: Version | None = None


class EscalationIn(_In):
    """A transfer sheet (工作傳簽單): the handler cannot settle it (R-HD-3)."""

    reason: Annotated[Text, Field(min_length=1, max_length=5000)]
    version: Version | None = None


class DecisionIn(_In):
    """The superior's decision on a transfer sheet: department, person, deadline (R-HD-3)."""

    department: Annotated[Line, Field(min_length=1, max_length=40)]
    staff_email: StaffEmail = ""
    due_at: When | None = None
    note: Annotated[Text, Field(max_length=5000)] = ""
    version: Version | None = None


class ProgressIn(_In):
    """A progress update to the complainant; the next reply date when not solved yet (R-HD-5).

    ``next_reply_at`` (in the future) is promised to the complainant: if the complaint is still not
    solved then, the handler is reminded and the complainant told it is still being handled.
    Without it the complainant hears next with the result.
    """

    message: Annotated[Text, Field(min_length=1, max_length=5000)]
    next_reply_at: Annotated[
        When | None, Field(description="when the complainant hears from us again, if not solved by then (R-HD-5)")
    ] = None
    version: Version | None = None


#: How a reply reached a complainant who gave no email address (R-HD-4): recorded by a person.
ReplyBy = Literal["phone", "in_person", "letter"]


class ResolutionIn(_In):
    """The handler's result (R-HD-6)."""

    result: Annotated[Text, Field(min_length=1, max_length=5000)]
    rectification: Annotated[bool, Field(description="the result put right what was wrong (整改, R-KP-1)")] = False
    version: Version | None = None


class ConfirmationIn(_In):
    """The department head confirms the result or returns it to the handler (R-HD-6)."""

    confirmed: bool
    note: Annotated[Text, Field(max_length=5000)] = ""
    reply_by: Annotated[
        ReplyBy | None,
        Field(description="the reply was given by phone, in person or by letter (no email address, R-HD-4)"),
    ] = None
    version: Version | None = None


class RevisitRecordIn(_In):
    """A revisit record (R-RV-7, R-RV-8, R-RV-10): what every revisit records, a complaint's or a work order's.

    ``next_reply_at``: the reply time agreed for a new issue (R-RV-10), or after an
    unsatisfied work-order revisit the date of the next revisit (R-RV-11).
    """

    method: RevisitMethod
    satisfaction: Satisfaction
    punctuality: Annotated[Text, Field(max_length=2000)] = ""
    attitude: Annotated[Text, Field(max_length=2000)] = ""
    quality: Annotated[Text, Field(max_length=2000)] = ""
    shortcomings: Annotated[Text, Field(max_length=2000)] = ""
    suggestions: Annotated[Text, Field(max_length=2000)] = ""
    signature_png_base64: Annotated[str, Field(max_length=2_000_000)] = ""
    refusal_note: Annotated[Text, Field(max_length=2000)] = ""
    new_issue: Annotated[Text, Field(max_length=5000)] = ""
    next_reply_at: When | None = None
    done_at: When | None = None


class RevisitIn(RevisitRecordIn):
    """A complaint's revisit record, under the complaint's optimistic lock."""

    version: Version | None = None


class ReviewIn(_In):
    """The supervisor's opinion on a done revisit record (R-RV-9)."""

    opinion: Annotated[Text, Field(min_length=1, max_length=2000)]


class OpenLetterIn(_In):
    """One open letter answering several revisits about one shared problem (R-RV-12).

    ``letter_ref``: the letter's reference as filed in the revisit archive, written on
    each revisit it answers.
    """

    revisit_ids: Annotated[list[RowId], Field(min_length=2, max_length=500)]
    letter_ref: Annotated[Line, Field(min_length=1, max_length=64)]
    done_at: When | None = None

    @field_validator("revisit_ids")
    @classmethod
    def _unique(cls, value: list[int]) -> list[int]:
        if len(set(value)) != len(value):
            raise ValueError("must name each revisit once")
        return value


class CloseIn(_In):
    """Close a complaint when R-RV-14 holds."""

    note: Annotated[Text, Field(max_length=5000)] = ""
    version: Version | None = None


class WorkOrderIn(_In):
    """A job done for a resident (派工單)."""

    estate: Annotated[Line, Field(min_length=1, max_length=32)]
    building: Annotated[Line, Field(max_length=100)] = ""
    unit: Annotated[Line, Field(max_length=50)] = ""
    kind: WorkOrderKind
    description: Annotated[Text, Field(max_length=5000)] = ""
    department: Annotated[Line, Field(max_length=40)] = ""
    complaint: Annotated[Line, Field(max_length=32)] = ""
    completed_at: When | None = None


class LinkIn(_In):
    """Link a later report to the first report of the same problem, by hand (R-IN-5)."""

    first_report: Annotated[Line, Field(min_length=1, max_length=32, description="the first report's reference")]
    note: Annotated[Text, Field(max_length=5000)] = ""
    version: Version | None = None


class UnlinkIn(_In):
    """Undo a wrong link: the report is a problem of its own (R-IN-5)."""

    reason: Annotated[Text, Field(min_length=1, max_length=5000)]
    version: Version | None = None
