"""The demo history's complaints, each one's life as a story of the services' steps.

A story yields the moment of its next step; :meth:`Lives.run` takes the steps of every complaint
of an estate in time order, so a step sees the estate as it was then (who is least busy, which
earlier report a new one repeats), and replays the deadline sweep before each step. A story
stops at ``now``: what comes later has not happened yet.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import random
from collections.abc import Generator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from estatecare.demo.results import Results
from estatecare.demo.steps import Case, Ids, Person, Plan, Staffing
from estatecare.demo.texts import EXPLANATIONS, TOPICS, TRANSFER_REASONS, Topic
from models import Complaint
from models.assessment import Candidate, Suggestion, find_first_report, suggest
from models.deadlines import Deadlines
from models.enums import Channel, EscalationKind, Locale, Role, Severity, Urgency
from models.enums import ComplaintStatus as S
from models.lifecycle import Action
from models.policy import Policy

WRITTEN = (Channel.LETTER, Channel.SUPERIOR_BODY)
_REF = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
_TOPIC = {t.key: t for t in TOPICS}


@dataclass(frozen=True)
class Arrival:
    """A complaint as it reaches the service centre."""

    at: datetime
    topic: Topic
    channel: Channel
    unit_id: int | None
    resident_id: int | None
    name: str
    phone: str
    email: str
    locale: Locale
    receiver: Person | None
    plan: Plan
    reply_only: bool = False


class Lives(Results):
    """The complaints of one estate from its first day in the history up to ``now``."""

    def __init__(
        self,
        policy: Policy,
        deadlines: Deadlines,
        staffing: Staffing,
        rng: random.Random,
        ids: Ids,
        *,
        code: str,
        lang: int,
        now: datetime,
        signature: bytes,
    ) -> None:
        super().__init__(policy, deadlines, staffing, rng, ids, code=code, lang=lang, now=now, signature=signature)
        self._queue: list[tuple[datetime, int, Case]] = []
        self._order = itertools.count()
        self._letters: dict[int, int] = {}
        self._received_at: list[tuple[datetime, int]] = []  # (received, id) in order, for the repeat check
        self._received: list[Case] = []  # the complaints in that order
        self._suggested: dict[str, Suggestion] = {}

    # ------------------------------------------------------------------ the clock

    def _s(self, low: float, high: float) -> timedelta:
        return timedelta(seconds=int(self.rng.uniform(low, high)))

    def _h(self, low: float, high: float) -> timedelta:
        return timedelta(seconds=int(self.rng.uniform(low, high) * 3600))

    def _office(self, at: datetime) -> datetime:
        """``at``, or when the service centre opens next (08:30-18:00 local) if it is closed then."""
        local = at.astimezone(self.policy.tz)
        if time(8, 30) <= local.time() < time(18, 0):
            return at
        day = local.date() if local.time() < time(8, 30) else local.date() + timedelta(days=1)
        opening = datetime.combine(day, time(8, 30), tzinfo=self.policy.tz)
        return (opening + self._s(0, 5400)).astimezone(at.tzinfo)

    @staticmethod
    def _pin(plan: Plan, step: str, at: datetime) -> datetime:
        return plan.pins.get(step, at)

    def add(self, arrival: Arrival, parent: Case | None = None, content: str = "") -> Case:
        """Register a complaint (``intake.submit``, or ``revisit.complaint_from_revisit`` for a new issue
        raised during a revisit of ``parent``) and start its story."""
        at, written = arrival.at, arrival.channel in WRITTEN
        local = at.astimezone(self.policy.tz)
        number = ""
        if written:
            self._letters[local.year] = self._letters.get(local.year, 0) + 1
            number = f"{self.code}-收文-{local.year}-{self._letters[local.year]:04d}"
        text = content or arrival.topic.text[arrival.locale]
        reference = f"{self.code}-{local:%y%m%d}-{''.join(self.rng.choices(_REF, k=6))}"
        c = Complaint(
            id=self.ids.take("complaint"), reference=reference,
            estate_id=self.staff.estate_id, unit_id=arrival.unit_id, resident_id=arrival.resident_id,
            complainant_name=arrival.name, contact_phone=arrival.phone, contact_email=arrival.email,
            locale=arrival.locale, channel=arrival.channel, content=text, received_at=at,
            received_by_id=arrival.receiver.id if arrival.receiver else None, reply_only=arrival.reply_only,
            incoming_doc_number=number, category=None, service_area=None, valid=None, severity=Severity.GENERAL,
            urgency=Urgency.NORMAL, status=S.RECEIVED, escalation_level=0, intake_done=False, intake_lease_until=None,
            duplicate_of_id=None, parent_id=parent.c.id if parent else None, department_id=None, assignee_id=None,
            response_due_at=self.deadlines.response_due(at, Urgency.NORMAL), resolution_due_at=None,
            revisit_due_at=None, next_reply_due_at=None, escalation_due_at=None, first_response_at=None,
            resolved_at=None, closed_at=None, resolution_text="", rectification=False, explanation_text="",
            satisfaction=None, version=1,
        )  # fmt: skip
        receipt: dict[str, Any] = {"channel": arrival.channel.value}
        if parent is not None:
            receipt["raised_during_revisit_of"] = parent.c.reference
        else:
            receipt["category_hint"] = None
        if written:
            receipt["incoming_doc_number"] = number
        c.record_receipt(at=at, actor_id=c.received_by_id, data=receipt)
        if text not in self._suggested:
            self._suggested[text] = suggest(text, self.policy)
        case = Case(c, arrival.topic, arrival.plan, self._suggested[text], self.lang)
        self.cases.append(case)
        where = bisect.bisect(self._received_at, (at, c.id))
        self._received_at.insert(where, (at, c.id))
        self._received.insert(where, case)
        case.story = self._story(case)
        heapq.heappush(self._queue, (next(case.story), next(self._order), case))
        return case

    def run(self) -> None:
        """Take every step due by ``now`` in time order, then the deadline sweep at ``now``."""
        while self._queue:
            at, _, case = heapq.heappop(self._queue)
            if at > self.now or case.story is None:
                continue
            self.sweep(case, at)
            try:
                after = case.story.send(at)
            except StopIteration:
                continue
            heapq.heappush(self._queue, (after, next(self._order), case))
        for case in self.cases:
            self.sweep(case, self.now)

    # ------------------------------------------------------------------ the story

    def _story(self, case: Case) -> Generator[datetime, datetime, None]:
        c, p = case.c, case.plan
        t = yield self._pin(p, "intake", c.received_at + self._s(3, 40))
        self.intake(case, t)
        if c.duplicate_of_id is not None:
            return  # it follows its first report and closes with it (R-IN-5)
        if S(c.status) is S.RECEIVED:  # not assessed by the rules alone: a person decides (R-AS-1..4)
            urgent = case.suggestion.urgency is Urgency.URGENT or case.topic.urgency is Urgency.URGENT
            first_look = c.received_at + self._s(300, 1200) if urgent else self._office(c.received_at + self._h(0.3, 4))
            t = yield self._pin(p, "assess", first_look)
            if not case.topic.valid:
                self.reject(case, t)
                return
            self.assess(case, t)
        t = yield t + self._s(3, 30)
        major = c.severity is Severity.MAJOR
        self.assign(case, t, person=self.staff.first(Role.SERVICE_CENTRE_MANAGER) if major else None)
        if major:  # leadership sets the deadline (R-HD-1, R-AS-4)
            t = yield self._pin(p, "lead", t + self._h(1, 5))
            manager = self.staff.first(Role.SERVICE_CENTRE_MANAGER)
            self.decide(case, t, t + timedelta(days=self.rng.randint(3, 6)), manager, self._department(c))
        if p.transfer:
            t = yield self._pin(p, "transfer", self._office(t + self._h(2, 20)))
            reason = self.pick(case, TRANSFER_REASONS)
            self.escalate(case, t, EscalationKind.TRANSFER_SHEET, reason, self.assignee(c))
            t = yield self._pin(p, "decide", t + self._h(1, 6))
            code = "management_office" if self._department(c) != "management_office" else "engineering"
            self.decide(case, t, t + timedelta(days=2), department=code)
        for round_ in (1, 2):
            yield from self._round(case, round_)
            if S(c.status) is S.CLOSED:
                return

    def _round(self, case: Case, round_: int) -> Generator[datetime, datetime, None]:
        """Handling to the result, its confirmation and the revisit (R-HD-6, R-RV-3); a second round
        after an unsatisfied revisit (R-RV-11)."""
        c, p, sfx = case.c, case.plan, "" if round_ == 1 else "2"
        t = max(e.at for e in c.events)
        due = c.resolution_due_at
        assert due is not None
        if p.late and round_ == 1:  # missed: escalated by the sweep, then decided
            t = yield self._pin(p, "late-decide", due + (self._h(50, 75) if p.climb else self._h(1, 6)))
            self.decide(case, t, t + timedelta(days=1), self.assignee(c), self.staff.department_of(c.department_id))
            resolve_at = t + self._h(2, 18)
        else:
            resolve_at = self.between(t, due, 0.2, 0.85)
            if p.progress and round_ == 1:
                t = yield self._pin(p, "progress", self.between(t, resolve_at, 0.3, 0.5))
                self.progress(case, t, self._pin(p, "resolve", resolve_at) + self._h(2, 12))
        t = yield self._pin(p, "resolve" + sfx, resolve_at)
        self.resolve(case, t)
        room = (c.resolution_due_at or t) - t
        if p.returned and round_ == 1 and room > timedelta(hours=8):
            t = yield t + self._h(1, 3)
            self.return_(case, t)
            t = yield t + self._h(1, 4)
            self.resolve(case, t)
        t = yield self._pin(p, "confirm" + sfx, self._office(t + self._h(0.3, 5)))
        self.confirm(case, t)
        if S(c.status) is S.CLOSED:
            return
        due = c.revisit_due_at
        assert due is not None
        done = self._office(self.between(t, due, 0.1, 0.7))
        if done > due - timedelta(hours=2):  # the manager goes before it is due, in the evening if need be
            done = self.between(t, due, 0.05, 0.3)
        done = self._pin(p, "revisit" + sfx, due + self._h(3, 20) if p.late_revisit else done)
        recorded = done + (timedelta(days=2) if p.late_record else self._s(600, 5400))
        t = yield recorded
        shortcomings = self.revisit(case, done, t, satisfied=not (p.unsatisfied and round_ == 1), first=round_ == 1)
        t = yield t + self._s(5, 50)
        self.after_revisit(case, t, shortcomings)

    # ------------------------------------------------------------------ intake, assessment

    def intake(self, case: Case, at: datetime) -> None:
        """``intake.receive`` (a letter reported to leadership), ``assess.auto_assess`` (a repeat
        linked to its first report, fields the rules may decide alone) and ``mark_intake_done``."""
        c, hint = case.c, case.suggestion
        if c.channel in WRITTEN:
            self.report_written(case)
        first = self._first_report(case)
        if first is not None:
            f = first.c
            c.duplicate_of_id = f.id
            self.repeats.setdefault(f.id, []).append(case)
            c.valid, c.category, c.service_area, c.severity, c.urgency = (
                f.valid, f.category, f.service_area, f.severity, f.urgency,
            )  # fmt: skip
            c.apply(
                Action.LINK_DUPLICATE, at=at, note=f"same problem as {f.reference} (R-IN-5)",
                data={"first_report": f.reference},
            )  # fmt: skip
            self.touch(case)
        elif hint.confident:  # the policy lets the rules decide every field
            c.valid, c.category, c.service_area = True, hint.category, hint.service_area
            c.severity, c.urgency = hint.severity, hint.urgency
            c.response_due_at = self.deadlines.response_due(c.received_at, hint.urgency)
            note = "assessed by the policy's keyword rules"
            c.apply(Action.ASSESS, at=at, note=note, data={"matched": list(hint.matched), "automatic": True})
            self.report_to_leadership(case, at)
            self.touch(case)
        else:
            confident = hint.confident_fields
            c.category = hint.category if "category" in confident else None
            c.service_area = hint.service_area if "service_area" in confident else None
            if "severity" in confident:
                c.severity = hint.severity
            if "urgency" in confident:
                c.urgency = hint.urgency
            if hint.urgency is Urgency.URGENT:
                urgent_due = self.deadlines.response_due(c.received_at, Urgency.URGENT)
                c.response_due_at = min(urgent_due, c.response_due_at or urgent_due)
            if confident or hint.urgency is Urgency.URGENT:
                self.touch(case)
        c.intake_done = True
        self.touch(case)

    def _first_report(self, case: Case) -> Case | None:
        """``assess._first_report``: the open earlier report of the same place this one repeats."""
        c = case.c
        category = case.suggestion.category
        if c.unit_id is None and category is None:
            return None
        window = timedelta(days=self.policy.duplicates.window_days)
        lo = bisect.bisect_left(self._received_at, (c.received_at - window, 0))
        hi = bisect.bisect_right(self._received_at, (c.received_at, c.id))
        earlier = {
            o.c.id: o
            for o in self._received[lo:hi]
            if o is not case
            and o.c.duplicate_of_id is None
            and S(o.c.status) not in (S.INVALID, S.CLOSED)
            and (
                o.c.unit_id == c.unit_id if c.unit_id is not None else o.c.unit_id is None and o.c.category == category
            )
        }
        new = Candidate(c.id, c.estate_id, c.unit_id, category.value if category else None, c.content, c.received_at)
        found = find_first_report(
            new,
            [
                Candidate(
                    o.c.id,
                    c.estate_id,
                    o.c.unit_id,
                    o.c.category.value if o.c.category else None,
                    o.c.content,
                    o.c.received_at,
                )
                for o in earlier.values()
            ],
            self.policy,
        )
        return earlier[found.id] if found is not None else None

    def _assessor(self, case: Case) -> Person:
        major = case.suggestion.severity is Severity.MAJOR
        return self.staff.first(self.policy.escalation.major_handler_role if major else Role.PROPERTY_SUPERVISOR)

    def _against(self, case: Case, valid: bool) -> dict[str, Any]:
        """``assess._against_suggestion``: what the rules suggested and what the person corrected."""
        t = case.topic
        decided = {
            "valid": "yes" if valid else "no",
            "category": t.category.value,
            "service_area": t.area.value if valid else "",
            "urgency": (t.urgency if valid else Urgency.NORMAL).value,
            "severity": (t.severity if valid else Severity.GENERAL).value,
        }
        suggested = {name: case.suggestion.value(name) for name in decided}
        return {
            "automatic": False,
            "suggested": suggested,
            "corrected": [name for name, value in decided.items() if suggested[name] != value],
        }

    def assess(self, case: Case, at: datetime) -> None:
        """``assess.assess``, valid: a person decides the fields (R-AS-1..3); a major one is reported."""
        c, t = case.c, case.topic
        c.valid, c.category, c.service_area, c.severity, c.urgency = True, t.category, t.area, t.severity, t.urgency
        c.response_due_at = self.deadlines.response_due(c.received_at, t.urgency)
        c.apply(Action.ASSESS, at=at, actor_id=self._assessor(case).id, data=self._against(case, True))
        self.report_to_leadership(case, at)
        self.touch(case)

    def reject(self, case: Case, at: datetime) -> None:
        """``assess.assess``, invalid: the explanation is recorded and sent, and it closes (R-AS-2)."""
        c, person = case.c, self._assessor(case)
        explanation = self.text(case, EXPLANATIONS[case.topic.key])
        c.valid, c.category, c.explanation_text = False, case.topic.category, explanation
        c.first_response_at = c.first_response_at or at
        c.apply(Action.REJECT_INVALID, at=at, actor_id=person.id, note=explanation, data=self._against(case, False))
        self.mail(c, "invalid_explanation", {"explanation": explanation}, f"invalid:{c.id}", at)
        c.apply(Action.CLOSE, at=at, actor_id=person.id, note="explanation recorded (R-AS-2)")
        self.touch(case)

    def new_issue(self, case: Case, at: datetime, visitor: Person, topic: str, text: str) -> int:
        """``revisit.complaint_from_revisit``: a new complaint of the same resident, raised during the
        revisit (R-RV-10), taken in by intake like any other."""
        c = case.c
        arrival = Arrival(
            at, _TOPIC[topic], Channel.REVISIT, c.unit_id, c.resident_id, c.complainant_name, c.contact_phone,
            c.contact_email, Locale(c.locale), visitor, Plan(),
        )  # fmt: skip
        return self.add(arrival, parent=case, content=text).c.id
