"""Who may take which step on which complaint: the permissions matrix, as data, and the one rule
that reads it (pure: no database).

Each step lists its grants: the roles that may take it and what must hold between the person and
the complaint (its department, its assignee, who recorded its result, ...). Staff act only within
their own estate: a complaint of another estate is hidden (answered as if it did not exist);
leaders (deputy GM, GM) have no estate and act in every one. The services build the facts
(:class:`Case`) from the database and call :func:`decide`; the REST API and the web app go through
the services, so both obey this one table. docs/policy.md shows it (a test keeps them in step).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from models.enums import Role

LEADERS = frozenset({Role.DEPUTY_GM, Role.GM})
#: Supervisors of an estate (property supervisor, service-centre manager) and the leaders above them.
SUPERVISORS = frozenset({Role.PROPERTY_SUPERVISOR, Role.SERVICE_CENTRE_MANAGER, *LEADERS})
#: The service centre and the supervisors: they revisit (R-RV-3, R-RV-6).
VISITORS = frozenset({Role.RECEPTIONIST, *SUPERVISORS})
EVERYONE = frozenset(Role)


class Step(StrEnum):
    """A step a person takes on a complaint (or a revisit, or a work order)."""

    VIEW = "view"  # read the complaint and its history (contact data: R-IN-6)
    ASSESS = "assess"
    ASSIGN = "assign"
    TRANSFER = "transfer"  # the transfer sheet, 工作傳簽單
    DECIDE = "decide"  # the superior's decision on a transfer sheet or escalation
    PROGRESS = "progress"
    RESOLVE = "resolve"
    CONFIRM = "confirm"  # confirm or return the result
    REVISIT = "revisit"  # record a revisit (a complaint's or a work order's), or an open letter
    REVIEW = "review"  # the supervisor's review of a done revisit record
    CLOSE = "close"
    ATTACHMENTS = "attachments"  # list, open and upload
    WORK_ORDER = "work_order"  # register a work order (linked to a complaint of its estate)
    JOB_REQUEST = "job_request"  # register a resident's repair or service request (phone, walk-in)
    JOB_REASSIGN = "job_reassign"  # give a job to another technician of its department
    JOB_WORK = "job_work"  # record a job's arrival on site and its completion


class Condition(StrEnum):
    """What must hold between the person and the complaint, beyond the estate."""

    ASSIGNEE = "assignee"
    DEPARTMENT = "department"
    NOT_RECORDER = "not_recorder"
    NO_OTHER_HEAD = "no_other_head"
    ESCALATION_RANK = "escalation_rank"
    NOT_VISITOR = "not_visitor"


#: How each condition reads in the docs, and why it refuses.
CONDITION_TEXT: dict[Condition, tuple[str, str]] = {
    Condition.ASSIGNEE: ("the assignee", "it is not assigned to you"),
    Condition.DEPARTMENT: ("of the complaint's department", "it is another department's complaint"),
    Condition.NOT_RECORDER: (
        "who did not record the result",
        "you recorded the result yourself: someone else confirms it (R-HD-6)",
    ),
    Condition.NO_OTHER_HEAD: (
        "when the department has no head but the one who recorded it",
        "a head of the complaint's department confirms it (R-HD-6)",
    ),
    Condition.ESCALATION_RANK: (
        "at or above the role the escalation went to",
        "this escalation is for the {escalated_to} or above (R-HD-3)",
    ),
    Condition.NOT_VISITOR: (
        "who did not record the revisit",
        "you recorded this revisit yourself: another supervisor reviews it (R-RV-9)",
    ),
}


@dataclass(frozen=True)
class Grant:
    """The ``roles`` may take a step when every one of ``conditions`` holds."""

    roles: frozenset[Role]
    conditions: frozenset[Condition] = frozenset()


@dataclass(frozen=True)
class Rule:
    """A step's grants (any one suffices) and the domain rules they come from."""

    grants: tuple[Grant, ...]
    rules: str
    note: str = ""


def _grant(roles: frozenset[Role] | set[Role], *conditions: Condition) -> Grant:
    return Grant(frozenset(roles), frozenset(conditions))


#: The handling of an assigned complaint: the assignee, the head of its department, the supervisors.
_HANDLING = (
    _grant(EVERYONE, Condition.ASSIGNEE),
    _grant({Role.DEPARTMENT_HEAD}, Condition.DEPARTMENT),
    _grant(SUPERVISORS),
)

MATRIX: dict[Step, Rule] = {
    Step.VIEW: Rule((_grant(EVERYONE),), "R-IN-6", "contact data only to those handling the case"),
    Step.ASSESS: Rule((_grant(SUPERVISORS),), "R-AS-1..4"),
    Step.ASSIGN: Rule(
        (_grant(SUPERVISORS), _grant({Role.DEPARTMENT_HEAD}, Condition.DEPARTMENT)),
        "R-HD-2",
        "a department head assigns within the department",
    ),
    Step.TRANSFER: Rule(_HANDLING, "R-HD-3"),
    Step.DECIDE: Rule((_grant(EVERYONE, Condition.ESCALATION_RANK),), "R-HD-3"),
    Step.PROGRESS: Rule(_HANDLING, "R-HD-5"),
    Step.RESOLVE: Rule(_HANDLING, "R-HD-6"),
    Step.CONFIRM: Rule(
        (
            _grant({Role.DEPARTMENT_HEAD}, Condition.DEPARTMENT, Condition.NOT_RECORDER),
            _grant(SUPERVISORS, Condition.NO_OTHER_HEAD, Condition.NOT_RECORDER),
        ),
        "R-HD-6, R-HD-3",
    ),
    Step.REVISIT: Rule((_grant(VISITORS),), "R-RV-3, R-RV-7..8, R-RV-10..12"),
    Step.REVIEW: Rule((_grant(SUPERVISORS, Condition.NOT_VISITOR),), "R-RV-9"),
    Step.CLOSE: Rule((_grant(SUPERVISORS),), "R-RV-14"),
    Step.ATTACHMENTS: Rule(_HANDLING, "R-IN-6", "the complaint's files are confidential like its contact"),
    Step.WORK_ORDER: Rule((_grant(EVERYONE),), "R-RV-4..6", "linked only to a complaint of the same estate"),
    Step.JOB_REQUEST: Rule((_grant(EVERYONE),), "R-IN-1, R-HD-2", "residents request on the web without signing in"),
    Step.JOB_REASSIGN: Rule(
        (_grant({Role.DEPARTMENT_HEAD}, Condition.DEPARTMENT), _grant(SUPERVISORS)),
        "R-HD-2",
        "the job's department: its head reassigns within it",
    ),
    Step.JOB_WORK: Rule(
        (_grant(EVERYONE, Condition.ASSIGNEE), _grant({Role.DEPARTMENT_HEAD}, Condition.DEPARTMENT)),
        "R-HD-4",
        "the assignee is the technician the job is dispatched to; the head of the job's department",
    ),
}


class Person(Protocol):
    """The person taking a step (a staff member)."""

    @property
    def id(self) -> int: ...

    @property
    def role(self) -> Role: ...

    @property
    def estate_id(self) -> int | None: ...  # None: company-wide (leaders)

    @property
    def department_id(self) -> int | None: ...


@dataclass(frozen=True)
class Case:
    """What a step is about, as far as permissions go: a complaint, a revisit or a work order."""

    estate_id: int
    department_id: int | None = None
    assignee_id: int | None = None
    recorded_by_id: int | None = None  # who recorded the result awaiting confirmation
    department_head_ids: frozenset[int] = frozenset()  # the active heads of the complaint's department
    escalated_to: Role | None = None  # the role the open transfer sheet or escalation went to
    visitor_id: int | None = None  # who recorded the revisit under review


class Verdict(StrEnum):
    """What :func:`decide` answers."""

    ALLOWED = "allowed"
    FORBIDDEN = "forbidden"
    HIDDEN = "hidden"  # another estate's: answer as for something that does not exist


@dataclass(frozen=True)
class Decision:
    """The verdict and, when refused, why."""

    verdict: Verdict
    reason: str = ""

    @property
    def allowed(self) -> bool:
        """True when the step may be taken."""
        return self.verdict is Verdict.ALLOWED


RANK: dict[Role, int] = {role: i for i, role in enumerate(Role)}  # enum order: front desk up to GM


def _holds(condition: Condition, person: Person, case: Case) -> bool:
    match condition:
        case Condition.ASSIGNEE:
            return case.assignee_id is not None and case.assignee_id == person.id
        case Condition.DEPARTMENT:
            return case.department_id is not None and case.department_id == person.department_id
        case Condition.NOT_RECORDER:
            return case.recorded_by_id != person.id
        case Condition.NO_OTHER_HEAD:
            return not case.department_head_ids - {case.recorded_by_id}
        case Condition.ESCALATION_RANK:
            return case.escalated_to is not None and RANK[person.role] >= RANK[case.escalated_to]
        case Condition.NOT_VISITOR:
            return case.visitor_id != person.id


def decide(step: Step, person: Person, case: Case) -> Decision:
    """May ``person`` take ``step`` on ``case``? Another estate's case is hidden; otherwise the
    first grant of the person's role whose conditions all hold allows it."""
    if person.estate_id is not None and person.estate_id != case.estate_id:
        return Decision(Verdict.HIDDEN, "another estate's")
    mine = [g for g in MATRIX[step].grants if person.role in g.roles]
    if not mine:
        roles = sorted({r.value for g in MATRIX[step].grants for r in g.roles})
        return Decision(
            Verdict.FORBIDDEN, f"{step.value} needs one of the roles: {', '.join(roles)} (you are {person.role.value})"
        )
    failed = [next((c for c in Condition if c in g.conditions and not _holds(c, person, case)), None) for g in mine]
    if None in failed:
        return Decision(Verdict.ALLOWED)
    first = failed[0]
    assert first is not None
    escalated_to = case.escalated_to.value if case.escalated_to else "superior"
    return Decision(Verdict.FORBIDDEN, f"{step.value}: {CONDITION_TEXT[first][1].format(escalated_to=escalated_to)}")


def matrix_table() -> str:
    """The matrix as the markdown table in docs/policy.md."""
    lines = ["| step | who may take it | rules |", "|---|---|---|"]
    for step, rule in MATRIX.items():
        grants = "; ".join(_describe(g) for g in rule.grants)
        note = f" ({rule.note})" if rule.note else ""
        lines.append(f"| `{step.value}` | {grants}{note} | {rule.rules} |")
    return "\n".join(lines)


def _describe(grant: Grant) -> str:
    conditions = [c for c in Condition if c in grant.conditions]
    if grant.roles == EVERYONE and Condition.ASSIGNEE in conditions:
        who, conditions = "the assignee (any role)", [c for c in conditions if c is not Condition.ASSIGNEE]
    elif grant.roles == EVERYONE:
        who = "any role"
    elif grant.roles == SUPERVISORS:
        who = "supervisors and leaders"
    elif grant.roles == VISITORS:
        who = "the service centre (receptionist), supervisors and leaders"
    else:
        who = " or ".join(r.value.replace("_", " ") for r in Role if r in grant.roles)
    phrases = [CONDITION_TEXT[c][0] for c in conditions]
    return ", ".join([f"{who} {phrases[0]}" if phrases else who, *phrases[1:]])


def may_see_contact(person: Person, *, estate_id: int, assignee_id: int | None, handled: bool) -> bool:
    """R-IN-6: supervisors, leaders and the service centre see a complainant's contact (they handle
    complaints); a handler only while the case is assigned to them (``handled``: it is in an
    assigned state); nobody of another estate."""
    if person.estate_id is not None and person.estate_id != estate_id:
        return False
    if person.role in VISITORS:
        return True
    return handled and assignee_id == person.id
