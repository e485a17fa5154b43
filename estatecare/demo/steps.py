"""The lifecycle steps of the demo history, taken on complaints held in memory.

Each step does what its service in ``estatecare.services.lifecycle`` does, field for field and
with the same history records, so that a year of complaints is written in one bulk insert
afterwards; ``Complaint.apply`` checks every move as it does for the services. The deadline
sweep (``lifecycle.deadlines``) is replayed for one complaint up to a moment: a missed response,
resolution or revisit deadline escalates once, and an undecided level passes it one further up.
"""

from __future__ import annotations

import random
from collections.abc import Generator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from estatecare.demo.texts import DECISION_NOTES, Topic
from models import Complaint
from models.assessment import Suggestion
from models.deadlines import Deadlines
from models.enums import ComplaintStatus as S
from models.enums import (
    DeadlineKind,
    EscalationKind,
    Locale,
    Role,
    Severity,
)
from models.lifecycle import DECIDABLE_STATES, OPEN_STATES, Action
from models.permissions import RANK
from models.policy import Policy

Row = dict[str, Any]


class Ids:
    """The next free id of the tables whose rows are referred to before they are written."""

    def __init__(self, start: dict[str, int]) -> None:
        self._next = dict(start)

    def take(self, table: str) -> int:
        self._next[table] += 1
        return self._next[table]


@dataclass(frozen=True)
class Person:
    """A staff member as the steps need them."""

    id: int
    name: str
    email: str
    role: Role
    department: str | None
    estate_id: int | None


@dataclass
class Staffing:
    """An estate's people, and company-wide leaders."""

    estate_id: int
    people: list[Person]
    departments: dict[str, int]  # code -> id
    language: Locale = Locale.ZH_HANT  # what the estate's staff write

    def department_of(self, department_id: int | None) -> str | None:
        return next((k for k, v in self.departments.items() if v == department_id), None)

    def first(self, role: Role) -> Person:
        """``people.first_with_role``: the estate's own before company-wide, lowest id first."""
        found = sorted((p for p in self.people if p.role is role), key=lambda p: (p.estate_id is None, p.id))
        return found[0]

    def in_department(self, code: str, role: Role) -> list[Person]:
        return sorted((p for p in self.people if p.department == code and p.role is role), key=lambda p: p.id)


@dataclass
class Plan:
    """How a complaint's life goes: the turns it takes and, for some, fixed moments (``pins``)."""

    late: bool = False  # resolved after its deadline: escalated, decided
    climb: bool = False  # and nobody decides for days: the chain climbs
    transfer: bool = False
    progress: bool = False
    returned: bool = False
    unsatisfied: bool = False
    late_revisit: bool = False
    late_record: bool = False
    suggestion: bool = False
    new_issue: bool = False
    refused: bool = False
    pins: dict[str, datetime] = field(default_factory=dict)


@dataclass
class Case:
    """One complaint in memory with the rows its steps wrote beside it."""

    c: Complaint
    topic: Topic
    plan: Plan
    suggestion: Suggestion
    lang: int  # what staff write: 0 Traditional, 1 Simplified
    version: int = 1
    keys: set[str] = field(default_factory=set)
    escalations: list[Row] = field(default_factory=list)
    assignments: list[Row] = field(default_factory=list)
    revisits: list[Row] = field(default_factory=list)
    story: Generator[datetime, datetime, None] | None = None


class Steps:
    """The steps, on the complaints of one estate (``cases``, in the order they were received)."""

    def __init__(self, policy: Policy, deadlines: Deadlines, staffing: Staffing, rng: random.Random, ids: Ids) -> None:
        self.policy, self.deadlines, self.staff, self.rng, self.ids = policy, deadlines, staffing, rng, ids
        self.cases: list[Case] = []
        self.handled: list[Case] = []  # assigned at some time and maybe still open: who is busy
        self.repeats: dict[int, list[Case]] = {}  # first report id -> the later reports linked to it

    # ------------------------------------------------------------------ helpers

    def touch(self, case: Case) -> None:
        """One more transaction changed the complaint (its optimistic-lock version)."""
        case.version += 1

    def text(self, case: Case, pair: tuple[str, str]) -> str:
        return pair[case.lang]

    def pick(self, case: Case, pairs: tuple[tuple[str, str], ...]) -> str:
        return self.text(case, self.rng.choice(pairs))

    def chain_role(self, level: int) -> Role:
        chain = self.policy.escalation.chain
        return chain[min(max(level, 1), len(chain)) - 1]

    @property
    def top(self) -> int:
        return len(self.policy.escalation.chain)

    def least_busy(self, code: str, excluding: int) -> Person:
        """``people.least_busy_handler`` at this moment of the history."""
        self.handled = [o for o in self.handled if S(o.c.status) in OPEN_STATES]  # closed ones stay closed
        busy: dict[int, int] = {}
        for other in self.handled:
            o = other.c
            if o.assignee_id is not None and o.id != excluding:
                busy[o.assignee_id] = busy.get(o.assignee_id, 0) + 1
        for role in (Role.HANDLER, Role.DEPARTMENT_HEAD):
            people = self.staff.in_department(code, role)
            if people:
                return min(people, key=lambda p: (busy.get(p.id, 0), p.id))
        raise LookupError(f"department {code} has nobody to assign")

    # ------------------------------------------------------------------ escalation

    def _raise(
        self,
        case: Case,
        at: datetime,
        kind: EscalationKind,
        level: int,
        to_role: Role,
        reason: str,
        actor: Person | None,
        deadline_kind: DeadlineKind | None = None,
        key: str | None = None,
    ) -> None:
        """``escalate._raise``: the history record, the level, its deadline and the escalation row."""
        c = case.c
        c.apply(
            Action.ESCALATE,
            at=at,
            actor_id=actor.id if actor else None,
            note=reason,
            data={"kind": kind.value, "level": level, "to_role": to_role.value},
        )
        c.escalation_level = level
        decidable = level < self.top and S(c.status) in DECIDABLE_STATES
        c.escalation_due_at = at + timedelta(hours=self.policy.escalation.level_deadline_hours) if decidable else None
        case.escalations.append(
            self._escalation(c, kind, level, to_role, at, reason, actor, deadline_kind=deadline_kind, key=key)
        )
        if key:
            case.keys.add(key)

    def _escalation(
        self,
        c: Complaint,
        kind: EscalationKind,
        level: int,
        to_role: Role,
        at: datetime,
        reason: str,
        actor: Person | None,
        *,
        deadline_kind: DeadlineKind | None = None,
        key: str | None = None,
    ) -> Row:
        return {
            "complaint_id": c.id,
            "kind": kind,
            "level": level,
            "to_role": to_role,
            "raised_by_id": actor.id if actor else None,
            "raised_at": at,
            "reason": reason,
            "deadline_kind": deadline_kind,
            "deadline_key": key,
            "decided_at": None,
            "decided_by_id": None,
            "decision_note": "",
            "decision_department_id": None,
            "decision_staff_id": None,
            "decision_due_at": None,
        }

    def escalate(
        self,
        case: Case,
        at: datetime,
        kind: EscalationKind,
        reason: str,
        actor: Person | None = None,
        deadline_kind: DeadlineKind | None = None,
        key: str | None = None,
    ) -> None:
        """``escalate.escalate``: one level up the chain (capped at the top)."""
        level = min(case.c.escalation_level + 1, self.top)
        self._raise(case, at, kind, level, self.chain_role(level), reason, actor, deadline_kind, key)
        self.touch(case)

    def report_written(self, case: Case) -> None:
        """``escalate.report_written``: a letter goes to leadership; its level stays (no history record)."""
        c = case.c
        key = f"written:{c.id}"
        row = self._escalation(
            c, EscalationKind.WRITTEN, c.escalation_level, self.policy.escalation.report_major_to, c.received_at,
            "written complaint (R-IN-3)", None, key=key,
        )  # fmt: skip
        case.escalations.append(row)
        case.keys.add(key)

    def report_to_leadership(self, case: Case, at: datetime) -> None:
        """``escalate.report_to_leadership``: a major complaint rises to the leader's level at once."""
        c = case.c
        if c.severity is not Severity.MAJOR:
            return
        chain, to_role = self.policy.escalation.chain, self.policy.escalation.report_major_to
        level = max(c.escalation_level, chain.index(to_role) + 1 if to_role in chain else c.escalation_level)
        self._raise(
            case, at, EscalationKind.MAJOR, level, to_role, "major complaint (R-AS-4)", None, key=f"major:{c.id}"
        )

    def sweep(self, case: Case, until: datetime) -> None:
        """Replay the deadline sweep (``lifecycle.sweep_deadlines``) for this complaint up to ``until``:
        each run comes a few minutes after the deadline it finds missed."""
        c = case.c
        while True:
            if c.escalation_due_at is not None and S(c.status) not in DECIDABLE_STATES:
                c.escalation_due_at = None  # a level's clock stops when no decision can be taken
            if c.duplicate_of_id is not None:
                return
            found = self._missed(case, until)
            if found is None:
                return
            at, kind, due, key = found
            if kind is None:
                below = self.chain_role(c.escalation_level).value
                reason = f"no decision by the {below} (level {c.escalation_level}) by {due.isoformat()}"
            else:
                reason = f"{kind.value} deadline {due.isoformat()} missed"
            self.escalate(case, at, EscalationKind.DEADLINE_MISSED, reason, None, kind, key)

    def _missed(self, case: Case, until: datetime) -> tuple[datetime, DeadlineKind | None, datetime, str] | None:
        """The first deadline the sweep would find missed before ``until``: (when, kind, due, key)."""
        c, status = case.c, S(case.c.status)
        candidates: list[tuple[datetime, DeadlineKind | None, datetime, str]] = []
        due = None
        kind = None
        if status in (S.RECEIVED, S.ASSESSED) and c.first_response_at is None:
            due, kind = c.response_due_at, DeadlineKind.RESPONSE
        elif status in (S.ASSIGNED, S.REOPENED):
            due, kind = c.resolution_due_at, DeadlineKind.RESOLUTION
        elif status is S.REVISIT_DUE:
            due, kind = c.revisit_due_at, DeadlineKind.REVISIT
        if due is not None and kind is not None:
            key = f"{kind.value}:{c.id}:{due.isoformat()}"
            if key not in case.keys:
                candidates.append((self._sweep_run(due), kind, due, key))
        level_due = c.escalation_due_at
        if level_due is not None and status in DECIDABLE_STATES and c.escalation_level < self.top:
            key = f"level:{c.id}:{level_due.isoformat()}"
            if key not in case.keys:
                candidates.append((self._sweep_run(level_due), None, level_due, key))
        found = [x for x in candidates if x[0] < until]
        return min(found, key=lambda x: x[0]) if found else None

    def _sweep_run(self, due: datetime) -> datetime:
        """The sweep run that finds ``due`` missed: a few minutes later (the same for the same deadline)."""
        return due + timedelta(seconds=60 + int(due.timestamp()) % 240)

    # ------------------------------------------------------------------ decide, assign

    def assign(
        self,
        case: Case,
        at: datetime,
        actor: Person | None = None,
        department: str | None = None,
        person: Person | None = None,
        due: datetime | None = None,
        instructions: str = "",
    ) -> None:
        """``assign.assign_to``: department (by routing), person (the least busy), deadline, notice."""
        c = case.c
        assert c.category is not None
        code = department or self.policy.department_for(c.category, c.service_area)
        person = person or self.least_busy(code, c.id)
        c.apply(
            Action.ASSIGN, at=at, actor_id=actor.id if actor else None,
            data={"department": code, "assignee": person.email},
        )  # fmt: skip
        if c.assignee_id is not None:
            for row in case.assignments:
                row["active"] = False
        c.department_id = self.staff.departments[code]
        c.assignee_id = person.id
        if case not in self.handled:
            self.handled.append(case)
        c.resolution_due_at = due or self.deadlines.resolution_due(at, c.severity)
        c.first_response_at = c.first_response_at or at
        case.assignments.append(
            {
                "complaint_id": c.id,
                "department_id": c.department_id,
                "staff_id": person.id,
                "assigned_by_id": actor.id if actor else None,
                "assigned_at": at,
                "due_at": c.resolution_due_at,
                "instructions": instructions,
                "active": True,
            }
        )
        self.touch(case)

    def decide(
        self, case: Case, at: datetime, due: datetime, person: Person | None = None, department: str | None = None
    ) -> None:
        """``escalate.decide``: the superior at the complaint's level names the department, the person
        (default: the least busy) and the deadline, settling every open escalation of their rank or below."""
        c = case.c
        decider = self.staff.first(self.chain_role(c.escalation_level))
        note = self.pick(case, DECISION_NOTES)
        self.assign(case, at, decider, department or self._department(c), person, due, note)
        c.escalation_due_at = None
        for row in case.escalations:
            if row["decided_at"] is None and RANK[Role(row["to_role"])] <= RANK[decider.role]:
                row.update(
                    decided_at=at,
                    decided_by_id=decider.id,
                    decision_note=note,
                    decision_department_id=c.department_id,
                    decision_staff_id=c.assignee_id,
                    decision_due_at=c.resolution_due_at,
                )

    def _department(self, c: Complaint) -> str:
        assert c.category is not None
        return self.policy.department_for(c.category, c.service_area)
