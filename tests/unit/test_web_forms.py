"""An action page's form becomes its step's input, field by field of the step's schema."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError
from starlette.datastructures import FormData

from estatecare.services.errors import InvalidInput
from estatecare.services.schemas import AssessmentIn, DecisionIn, ProgressIn, RevisitIn
from estatecare.services.steps import STEPS, steps_by_task
from estatecare.webapp.forms import DATE_PATTERN, step_input, typed_date
from estatecare.webapp.i18n import environment
from models.enums import Category, Locale, RevisitMethod, Severity, Urgency

HK = ZoneInfo("Asia/Hong_Kong")


def test_every_action_page_offers_steps_of_the_table() -> None:
    assert steps_by_task() == {
        "assessment": {"assess"},
        "resolution": {"resolve", "progress", "transfer"},
        "confirmation": {"confirm"},
        "revisit": {"revisit"},
        "decision": {"decide"},
        "duplicate": {"link", "unlink"},
    }


def test_a_yes_no_field_is_a_flag_and_empty_optional_fields_take_their_defaults() -> None:
    form = FormData({"valid": "yes", "category": "facility", "severity": "", "urgency": "", "explanation": ""})
    data = step_input(STEPS["assess"].schema, form, 3, HK)
    assert data == AssessmentIn(
        valid=True, category=Category.FACILITY, severity=Severity.GENERAL, urgency=Urgency.NORMAL, version=3
    )
    assert step_input(AssessmentIn, FormData({}), None, HK) == AssessmentIn(valid=False)


def test_a_date_is_the_end_of_that_day_in_the_policys_timezone() -> None:
    data = step_input(ProgressIn, FormData({"message": "師傅明天到", "next_reply_at": "2026-12-03"}), None, HK)
    assert isinstance(data, ProgressIn)
    assert data.next_reply_at == datetime(2026, 12, 3, 15, 59, tzinfo=UTC)


def test_a_date_in_another_form_names_its_field() -> None:
    with pytest.raises(InvalidInput) as refused:
        step_input(DecisionIn, FormData({"department": "engineering", "due_at": "3/12/2026"}), None, HK)
    assert refused.value.field == "due_at"


def test_a_required_field_left_empty_is_refused_by_the_schema() -> None:
    with pytest.raises(ValidationError) as refused:
        step_input(RevisitIn, FormData({"method": "", "satisfaction": "satisfied"}), None, HK)
    assert [e["loc"] for e in refused.value.errors()] == [("method",)]


def test_the_drawn_signature_loses_its_data_url_prefix() -> None:
    form = FormData(
        {"method": "on_site", "satisfaction": "satisfied", "signature_png_base64": "data:image/png;base64,iVBORw0K"}
    )
    data = step_input(RevisitIn, form, 2, HK)
    assert isinstance(data, RevisitIn)
    assert data.signature_png_base64 == "iVBORw0K" and data.method is RevisitMethod.ON_SITE and data.version == 2


@pytest.mark.parametrize("typed", ["2026-12-03", "2026/12/3", "2026.12.03", "20261203", "２０２６－１２－０３"])
def test_a_date_is_read_as_year_month_day_however_it_is_typed(typed: str) -> None:
    data = step_input(ProgressIn, FormData({"message": "師傅明天到", "next_reply_at": typed}), None, HK)
    assert isinstance(data, ProgressIn) and data.next_reply_at == datetime(2026, 12, 3, 15, 59, tzinfo=UTC)
    assert typed_date(typed) == date(2026, 12, 3)


@pytest.mark.parametrize("locale", list(Locale))
def test_a_date_field_reads_year_month_day_in_every_language(locale: Locale) -> None:
    """Not the browser's date field: it shows its own locale's order (mm/dd/yyyy on many Chinese pages)."""
    page = environment(locale, "Asia/Hong_Kong").from_string(
        '{% import "_forms.html" as f %}{{ f.input("due_at", "Deadline", {}, {}, type="date") }}'
    )
    html = page.render()
    assert 'type="text"' in html and 'inputmode="numeric"' in html and 'placeholder="YYYY-MM-DD"' in html
    assert f'pattern="{DATE_PATTERN}"' in html and "2026-11-30" in html  # the hint's example
    assert all(re.fullmatch(DATE_PATTERN, typed) for typed in ("2026-12-03", "2026/12/3", "20261203"))
    assert not re.fullmatch(DATE_PATTERN, "12/03/2026")
