"""Pure rules of keeping the complainant informed and of revisits (R-HD-4, R-RV-3, R-RV-10, R-RV-13)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from estatecare.services.lifecycle.resolve import reply_by
from estatecare.services.schemas import ConfirmationIn
from models.deadlines import Deadlines
from models.enums import Role
from models.policy import load_policy
from models.revisit import is_late_record, must_be_made_by


def test_the_service_centre_manager_makes_only_a_valid_complaints_first_revisit() -> None:
    assert must_be_made_by(1, complaint_valid=True) is Role.SERVICE_CENTRE_MANAGER  # R-RV-3
    assert must_be_made_by(2, complaint_valid=True) is None  # R-RV-10
    assert must_be_made_by(1, complaint_valid=False) is None


def test_a_record_is_late_after_the_end_of_the_next_local_day() -> None:
    deadlines = Deadlines(load_policy())
    done = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)  # 10:00 in Asia/Shanghai
    due = deadlines.revisit_record_due(done)
    assert due == datetime(2026, 11, 21, 16, 0, tzinfo=UTC)  # the 22nd, 00:00 local
    assert not is_late_record(due, due)
    assert is_late_record(due + timedelta(seconds=1), due)


def test_the_confirmation_records_how_the_reply_reached_the_complainant() -> None:
    assert reply_by(True, None) == "email"
    assert reply_by(False, "phone") == "phone"
    assert reply_by(True, "letter") == "email+letter"
    assert reply_by(False, None) == ""
    assert ConfirmationIn(confirmed=True, reply_by="in_person").reply_by == "in_person"
    with pytest.raises(ValidationError):
        ConfirmationIn.model_validate({"confirmed": True, "reply_by": "fax"})
