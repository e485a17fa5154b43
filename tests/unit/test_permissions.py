"""The permissions matrix (models/permissions.py): every step for every role, in every relation a
person can have to a complaint, against the rules written out here independently of the data."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from models.enums import Role
from models.permissions import MATRIX, Case, Step, Verdict, decide, matrix_table

R = Role
LEADERS = {R.DEPUTY_GM, R.GM}
SUPERVISORS = {R.PROPERTY_SUPERVISOR, R.SERVICE_CENTRE_MANAGER, *LEADERS}
EVERYONE = set(Role)

ESTATE, OTHER_ESTATE = 1, 2
DEPT, OTHER_DEPT = 10, 20
ASSIGNEE, RECORDER, HEAD, STRANGER, VISITOR = 100, 101, 102, 200, 104

#: A resolved complaint of department 10, assigned to 100, its result recorded by 101; the department
#: has two heads (101 and 102); an escalation went to the property supervisor; 104 recorded its revisit.
CASE = Case(
    estate_id=ESTATE,
    department_id=DEPT,
    assignee_id=ASSIGNEE,
    recorded_by_id=RECORDER,
    department_head_ids=frozenset({RECORDER, HEAD}),
    escalated_to=R.PROPERTY_SUPERVISOR,
    visitor_id=VISITOR,
)
#: The same, but the department's only head recorded the result.
ONLY_HEAD_RECORDED = Case(**{**CASE.__dict__, "department_head_ids": frozenset({RECORDER})})


@dataclass(frozen=True)
class P:
    """A person (the matrix needs only these four facts)."""

    id: int
    role: Role
    estate_id: int | None
    department_id: int | None


#: How a person stands to the complaint: (id, department).
SITUATIONS = {
    "assigned": (ASSIGNEE, DEPT),
    "recorded the result": (RECORDER, DEPT),
    "same department": (HEAD, DEPT),
    "other department": (STRANGER, OTHER_DEPT),
    "recorded the revisit": (VISITOR, OTHER_DEPT),
}


def expected(step: Step, role: Role, situation: str, case: Case) -> bool:
    """The rules, as docs/policy.md states them (R-xx-n), written out by hand."""
    pid, dept = SITUATIONS[situation]
    assigned, same_dept = pid == case.assignee_id, dept == case.department_id
    handling = role in SUPERVISORS or assigned or (role is R.DEPARTMENT_HEAD and same_dept)
    if step in (Step.VIEW, Step.WORK_ORDER, Step.JOB_REQUEST):
        return True
    if step is Step.JOB_REASSIGN:  # a job's department head, or a supervisor (R-HD-2)
        return role in SUPERVISORS or (role is R.DEPARTMENT_HEAD and same_dept)
    if step is Step.JOB_WORK:  # the technician it is dispatched to, or its department's head
        return assigned or (role is R.DEPARTMENT_HEAD and same_dept)
    if step in (Step.ASSESS, Step.CLOSE):
        return role in SUPERVISORS
    if step is Step.ASSIGN:
        return role in SUPERVISORS or (role is R.DEPARTMENT_HEAD and same_dept)
    if step in (Step.TRANSFER, Step.PROGRESS, Step.RESOLVE, Step.ATTACHMENTS):
        return handling
    if step is Step.DECIDE:  # the property supervisor's escalation: that role or above (R-HD-3)
        return role in SUPERVISORS
    if step is Step.CONFIRM:  # R-HD-6: a head of the department who did not record it ...
        if pid == case.recorded_by_id:
            return False
        if role is R.DEPARTMENT_HEAD and same_dept:
            return True
        # ... or, when the department's only head recorded it, one level up
        return role in SUPERVISORS and case.department_head_ids == {case.recorded_by_id}
    if step is Step.REVISIT:
        return role in {R.RECEPTIONIST, *SUPERVISORS}
    if step is Step.REVIEW:  # R-RV-9: a supervisor, not the one who recorded the revisit
        return role in SUPERVISORS and pid != case.visitor_id
    raise AssertionError(f"no expectation for {step}")


@pytest.mark.parametrize("role", list(Role), ids=str)
@pytest.mark.parametrize("step", list(Step), ids=str)
def test_every_step_for_every_role_in_every_relation_to_the_complaint(step: Step, role: Role) -> None:
    for case in (CASE, ONLY_HEAD_RECORDED):
        for situation, (pid, dept) in SITUATIONS.items():
            estate = None if role in LEADERS else ESTATE
            decision = decide(step, P(pid, role, estate, dept), case)
            want = Verdict.ALLOWED if expected(step, role, situation, case) else Verdict.FORBIDDEN
            assert decision.verdict is want, (situation, case.department_head_ids, decision.reason)
            assert bool(decision.reason) is (want is Verdict.FORBIDDEN)
        # another estate's complaint is hidden from its staff, whatever the step
        assert decide(step, P(ASSIGNEE, role, OTHER_ESTATE, DEPT), CASE).verdict is Verdict.HIDDEN
        # leaders belong to no estate: they see every estate's complaints
        assert decide(step, P(STRANGER, role, None, None), CASE).verdict is not Verdict.HIDDEN


def test_a_decision_follows_the_level_the_escalation_went_to() -> None:
    for to_role in (R.PROPERTY_SUPERVISOR, R.SERVICE_CENTRE_MANAGER, R.DEPUTY_GM, R.GM):
        case = Case(estate_id=ESTATE, escalated_to=to_role)
        allowed = {r for r in Role if decide(Step.DECIDE, P(STRANGER, r, ESTATE, None), case).allowed}
        assert allowed == set(list(Role)[list(Role).index(to_role) :])
        refused = decide(Step.DECIDE, P(STRANGER, R.HANDLER, ESTATE, None), case)
        assert f"for the {to_role.value} or above" in refused.reason
    nothing_open = Case(estate_id=ESTATE)
    assert not any(decide(Step.DECIDE, P(STRANGER, r, None, None), nothing_open).allowed for r in Role)


def test_refusals_say_why() -> None:
    head = P(RECORDER, R.DEPARTMENT_HEAD, ESTATE, DEPT)
    assert "yourself" in decide(Step.CONFIRM, head, CASE).reason
    other_head = P(STRANGER, R.DEPARTMENT_HEAD, ESTATE, OTHER_DEPT)
    assert "another department" in decide(Step.CONFIRM, other_head, CASE).reason
    supervisor = P(STRANGER, R.PROPERTY_SUPERVISOR, ESTATE, None)
    assert "head of the complaint's department confirms" in decide(Step.CONFIRM, supervisor, CASE).reason
    handler = P(STRANGER, R.HANDLER, ESTATE, DEPT)
    assert "not assigned to you" in decide(Step.PROGRESS, handler, CASE).reason
    reason = decide(Step.REVIEW, P(STRANGER, R.RECEPTIONIST, ESTATE, None), CASE).reason
    assert "property_supervisor" in reason and "receptionist)" in reason  # the roles, and yours


def test_every_step_has_a_rule_and_the_policy_doc_shows_the_matrix_as_it_is() -> None:
    assert set(MATRIX) == set(Step)
    assert all(rule.grants and rule.rules.startswith("R-") for rule in MATRIX.values())
    doc = (Path(__file__).resolve().parents[2] / "docs" / "policy.md").read_text(encoding="utf-8")
    assert matrix_table() in doc, "regenerate the table in docs/policy.md from models.permissions.matrix_table()"
