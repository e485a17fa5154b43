"""The pure rules in models/: satisfaction, the on-site revisit, who sees a complainant's contact,
and the deadline a complaint is held to; and the deadline sweep's conditions against the last."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from models import Complaint
from models.enums import ComplaintStatus, RevisitMethod, Role, Satisfaction
from models.lifecycle import ASSIGNED_STATES
from models.permissions import VISITORS, may_see_contact
from models.revisit import is_satisfied, must_be_on_site

S = ComplaintStatus
NOW = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
ESTATE, OTHER_ESTATE = 1, 2
HANDLER_ID, OTHER_ID = 100, 200


@dataclass(frozen=True)
class P:
    """A person: the four facts the rules read."""

    id: int
    role: Role
    estate_id: int | None
    department_id: int | None = None


def _complaint(status: S, **fields: object) -> Complaint:
    """A complaint of ``ESTATE`` in ``status`` (not stored)."""
    return Complaint(estate_id=ESTATE, status=status, **fields)


# --------------------------------------------------------------------------- satisfaction


@pytest.mark.parametrize("answer", [Satisfaction.SATISFIED, Satisfaction.BASICALLY_SATISFIED, "basically_satisfied"])
def test_satisfied_and_basically_satisfied_count_as_satisfied(answer: Satisfaction | str) -> None:
    """R-RV-14, R-KP-2: either answer lets the complaint close and counts as satisfied."""
    assert is_satisfied(answer)


@pytest.mark.parametrize("answer", [Satisfaction.UNSATISFIED, "unsatisfied", None, ""])
def test_unsatisfied_or_no_answer_is_not_satisfied(answer: Satisfaction | str | None) -> None:
    """R-RV-14: without a satisfied answer the complaint does not close (R-RV-11 reopens it)."""
    assert not is_satisfied(answer)


# --------------------------------------------------------------------------- on site or by phone


@pytest.mark.parametrize("planned", [None, *RevisitMethod])
def test_the_first_revisit_of_a_valid_complaint_is_on_site_whatever_was_planned(
    planned: RevisitMethod | None,
) -> None:
    """R-RV-3: a valid complaint is revisited in person."""
    assert must_be_on_site(1, planned, complaint_valid=True)


def test_a_first_revisit_planned_on_site_is_made_on_site() -> None:
    """R-RV-5, R-RV-6: a renovation's revisit, or the draw's on-site share, is made on site."""
    assert must_be_on_site(1, RevisitMethod.ON_SITE)


@pytest.mark.parametrize("planned", [None, RevisitMethod.PHONE, RevisitMethod.LETTER])
def test_a_first_revisit_planned_otherwise_may_be_by_phone(planned: RevisitMethod | None) -> None:
    """R-RV-4, R-RV-6: a revisit planned by phone (an urgent repair, the draw's phone share) need not be on site."""
    assert not must_be_on_site(1, planned)


@pytest.mark.parametrize(("planned", "valid"), list(itertools.product([None, *RevisitMethod], [True, False])))
def test_from_the_second_revisit_on_the_phone_will_do(planned: RevisitMethod | None, valid: bool) -> None:
    """R-RV-10: the 2nd and later revisits may be by phone, even of a valid complaint planned on site."""
    assert not must_be_on_site(2, planned, complaint_valid=valid)
    assert not must_be_on_site(3, planned, complaint_valid=valid)


# --------------------------------------------------------------------------- the complainant's contact


@pytest.mark.parametrize("role", sorted(VISITORS))
def test_the_service_centre_supervisors_and_leaders_of_the_estate_see_the_contact(role: Role) -> None:
    """R-IN-6: those who handle complaints see the contact, whoever the complaint is assigned to."""
    assert may_see_contact(P(OTHER_ID, role, ESTATE), estate_id=ESTATE, assignee_id=HANDLER_ID, handled=False)


@pytest.mark.parametrize("role", [Role.DEPUTY_GM, Role.GM])
def test_leaders_see_the_contact_in_every_estate(role: Role) -> None:
    """R-IN-6: leaders have no estate of their own and act in every one."""
    assert may_see_contact(P(OTHER_ID, role, None), estate_id=OTHER_ESTATE, assignee_id=None, handled=False)


@pytest.mark.parametrize("role", list(Role))
def test_nobody_of_another_estate_sees_the_contact(role: Role) -> None:
    """R-IN-6: another estate's complainant stays hidden, even from its assignee's role."""
    person = P(HANDLER_ID, role, OTHER_ESTATE)
    assert not may_see_contact(person, estate_id=ESTATE, assignee_id=HANDLER_ID, handled=True)


@pytest.mark.parametrize("role", [Role.HANDLER, Role.DEPARTMENT_HEAD])
def test_a_handler_sees_the_contact_only_while_the_case_is_assigned_to_them(role: Role) -> None:
    """R-IN-6: the assignee, while handling it; not another handler, not once it left their hands."""
    me = P(HANDLER_ID, role, ESTATE)
    assert may_see_contact(me, estate_id=ESTATE, assignee_id=HANDLER_ID, handled=True)
    assert not may_see_contact(me, estate_id=ESTATE, assignee_id=HANDLER_ID, handled=False)
    assert not may_see_contact(me, estate_id=ESTATE, assignee_id=OTHER_ID, handled=True)
    assert not may_see_contact(me, estate_id=ESTATE, assignee_id=None, handled=True)


@pytest.mark.parametrize("status", list(S))
def test_a_complaint_shows_its_assignee_the_contact_in_the_assigned_states_only(status: S) -> None:
    """R-IN-6 (``Complaint.contact_visible_to``): assigned or reopened, and the person is the assignee."""
    complaint = _complaint(status, assignee_id=HANDLER_ID)
    assert complaint.contact_visible_to(P(HANDLER_ID, Role.HANDLER, ESTATE)) is (status in ASSIGNED_STATES)
    assert not complaint.contact_visible_to(P(OTHER_ID, Role.HANDLER, ESTATE))
    assert complaint.contact_visible_to(P(OTHER_ID, Role.RECEPTIONIST, ESTATE))
    assert not complaint.contact_visible_to(P(OTHER_ID, Role.RECEPTIONIST, OTHER_ESTATE))


# --------------------------------------------------------------------------- the deadline of the current state

DUE = {"response_due_at": NOW - 3 * HOUR, "resolution_due_at": NOW - 2 * HOUR, "revisit_due_at": NOW - HOUR}

#: The deadline each state is held to (R-HD-1, R-RV-3), by column; None: no deadline runs.
HELD_TO = {
    S.RECEIVED: "response_due_at",
    S.ASSESSED: "response_due_at",
    S.ASSIGNED: "resolution_due_at",
    S.REOPENED: "resolution_due_at",
    S.RESOLVED: "resolution_due_at",
    S.REVISIT_DUE: "revisit_due_at",
    S.INVALID: None,
    S.CLOSED: None,
}


@pytest.mark.parametrize("status", list(S))
def test_a_complaint_is_held_to_the_deadline_of_its_state(status: S) -> None:
    """R-HD-1, R-RV-3: the first response until assigned, then the resolution, then the revisit."""
    column = HELD_TO[status]
    assert _complaint(status, **DUE).current_deadline() == (DUE[column] if column else None)


@pytest.mark.parametrize("status", [S.RECEIVED, S.ASSESSED])
def test_the_response_deadline_stops_once_someone_answered(status: S) -> None:
    """R-HD-1: a first response given (a progress reply, an assignment) meets the response deadline."""
    complaint = _complaint(status, first_response_at=NOW - 4 * HOUR, **DUE)
    assert complaint.current_deadline() is None and not complaint.is_overdue(NOW)


@pytest.mark.parametrize("status", [S.RECEIVED, S.ASSESSED, S.ASSIGNED, S.REOPENED, S.REVISIT_DUE])
def test_a_complaint_is_overdue_only_once_its_deadline_has_passed(status: S) -> None:
    """R-HD-1: overdue strictly after the deadline; due exactly now is still in time."""
    column = HELD_TO[status]
    assert column is not None
    assert _complaint(status, **{column: NOW - HOUR}).is_overdue(NOW)
    assert not _complaint(status, **{column: NOW}).is_overdue(NOW)
    assert not _complaint(status, **{column: NOW + HOUR}).is_overdue(NOW)
    assert not _complaint(status).is_overdue(NOW)


def test_a_resolved_complaint_is_never_overdue() -> None:
    """R-HD-6: a result awaiting confirmation waits for the department head, not the handler."""
    complaint = _complaint(S.RESOLVED, **DUE)
    assert complaint.current_deadline() == DUE["resolution_due_at"] and not complaint.is_overdue(NOW)


@pytest.mark.parametrize("status", [S.INVALID, S.CLOSED])
def test_a_finished_complaint_has_no_deadline(status: S) -> None:
    """R-AS-2, R-RV-14: an invalid or closed complaint is held to nothing."""
    assert _complaint(status, **DUE).current_deadline() is None and not _complaint(status, **DUE).is_overdue(NOW)
