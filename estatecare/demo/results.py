"""The demo history's steps from handling to closing, on complaints held in memory: progress, the
result and its confirmation, the revisit and what follows it (``lifecycle.resolve``,
``lifecycle.revisit``, ``lifecycle.close``), with the complainants' emails as sent."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from estatecare.demo.steps import Case, Ids, Person, Row, Staffing, Steps
from estatecare.demo.texts import (
    ANSWERS,
    CONFIRM_NOTES,
    NEW_ISSUES,
    PROGRESS,
    REFUSALS,
    RETURN_NOTES,
    SHORTCOMINGS,
    SUGGESTIONS,
)
from estatecare.services.lifecycle.resolve import reply_by
from models import Complaint
from models.deadlines import Deadlines
from models.enums import Channel, NotificationStatus, RevisitKind, RevisitMethod, Role, Satisfaction
from models.enums import ComplaintStatus as S
from models.lifecycle import Action
from models.policy import Policy
from models.revisit import is_late_record, is_satisfied


class Results(Steps):
    """Progress, result, confirmation, revisit and closing."""

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
        super().__init__(policy, deadlines, staffing, rng, ids)
        self.code, self.lang, self.now, self.signature = code, lang, now, signature
        self.notifications: list[Row] = []
        self.orders: list[Row] = []  # work orders the handling of complaints led to
        self.loose_revisits: list[Row] = []  # suggestion revisits: of no complaint (R-RV-2)

    def assignee(self, c: Complaint) -> Person:
        return next(p for p in self.staff.people if p.id == c.assignee_id)

    def complainants(self, c: Complaint) -> list[Complaint]:
        """``messages.complainants``: the complaint and every later report linked to it (R-IN-5)."""
        return [c, *(o.c for o in self.repeats.get(c.id, []))]

    def mail(self, c: Complaint, template: str, context: dict[str, Any], key: str, at: datetime) -> None:
        """``messages.to_complainant``, as the outbox sent it a minute later: only to an email address."""
        if not c.contact_email:
            return
        self.notifications.append(
            {
                "idempotency_key": key,
                "message_id": f"<{self.rng.getrandbits(128):032x}@estatecare>",
                "template": template,
                "locale": c.locale,
                "recipient_email": c.contact_email,
                "recipient_name": c.complainant_name,
                "recipient_staff_id": None,
                "complaint_id": c.id,
                "context": {"reference": c.reference, **context},
                "status": NotificationStatus.SENT,
                "attempts": 1,
                "last_error": "",
                "created_at": at,
                "next_attempt_at": at,
                "sent_at": at + timedelta(minutes=1),
                "lease_until": None,
            }
        )

    def between(self, start: datetime, end: datetime, low: float, high: float) -> datetime:
        """A whole second between ``low`` and ``high`` of the way from ``start`` to ``end``."""
        return start + timedelta(seconds=int((end - start).total_seconds() * self.rng.uniform(low, high)))

    def order_reference(self, at: datetime) -> str:
        """``WO-CH-261123-4F2A9C``, as ``work_orders.create_work_order`` names an order."""
        return f"WO-{self.code}-{at.astimezone(self.policy.tz):%y%m%d}-{self.rng.getrandbits(24):06X}"

    # ------------------------------------------------------------------ handling

    def progress(self, case: Case, at: datetime, next_reply: datetime) -> None:
        """``resolve.progress``: how it goes, and the next reply date (R-HD-5)."""
        c, message = case.c, self.pick(case, PROGRESS)
        promise = {"next_reply_at": next_reply.isoformat()}
        event = c.apply(Action.PROGRESS, at=at, actor_id=c.assignee_id, note=message, data=promise)
        c.first_response_at = c.first_response_at or at
        c.next_reply_due_at = next_reply
        for p in self.complainants(c):
            self.mail(p, "progress_update", {"message": message, **promise}, f"progress:{c.id}:{event.seq}:{p.id}", at)
        self.touch(case)

    def resolve(self, case: Case, at: datetime) -> None:
        """``resolve.resolve``: the handler's result, a rectification when it put a wrong right (R-HD-6);
        a repair topic's job is registered as a work order of the complaint."""
        c, t = case.c, case.topic
        result = self.text(case, t.result)
        c.apply(Action.RESOLVE, at=at, actor_id=c.assignee_id, note=result, data={"rectification": t.rectification})
        c.resolution_text, c.rectification, c.resolved_at, c.next_reply_due_at = result, t.rectification, at, None
        if t.job is not None and not any(o["complaint_id"] == c.id for o in self.orders):
            handler = self.assignee(c)
            self.orders.append(
                {
                    "id": self.ids.take("work_order"),
                    "reference": self.order_reference(at),
                    "estate_id": c.estate_id,
                    "unit_id": c.unit_id,
                    "resident_id": c.resident_id,
                    "complaint_id": c.id,
                    "kind": t.job,
                    "description": result,
                    "department_id": c.department_id,
                    "handler_id": handler.id if handler.role is Role.HANDLER else None,
                    "created_at": at,
                    "completed_at": at - timedelta(seconds=self.rng.randint(300, 3600)),
                    "draw_id": None,
                }
            )
        self.touch(case)

    def confirmer(self, c: Complaint) -> Person:
        """``resolve._confirmer``: a head of the department other than the recorder, else the first superior."""
        recorder = next((e.actor_id for e in reversed(c.events) if e.action is Action.RESOLVE), None)
        code = self.staff.department_of(c.department_id)
        heads = [p for p in self.staff.in_department(code, Role.DEPARTMENT_HEAD) if p.id != recorder] if code else []
        return heads[0] if heads else self.staff.first(self.chain_role(1))

    def return_(self, case: Case, at: datetime) -> None:
        """``resolve.confirm``, not confirmed: back to the handler (R-HD-6)."""
        case.c.apply(Action.RETURN, at=at, actor_id=self.confirmer(case.c).id, note=self.pick(case, RETURN_NOTES))
        self.touch(case)

    def confirm(self, case: Case, at: datetime) -> None:
        """``resolve.confirm``: the head confirms; every complainant gets the reply; a revisit is arranged,
        or an anonymous or reply-only complaint closes (R-HD-6, R-RV-3, R-IN-4)."""
        c = case.c
        head = self.confirmer(c)
        people = self.complainants(c)
        emailed = any(p.contact_email for p in people)
        written = c.channel in (Channel.LETTER, Channel.SUPERIOR_BODY)
        recorded = None if emailed else ("letter" if written else "phone" if c.contact_phone else None)
        event = c.apply(
            Action.CONFIRM,
            at=at,
            actor_id=head.id,
            note=self.pick(case, CONFIRM_NOTES),
            data={"reply_by": reply_by(emailed, recorded)},
        )
        for p in people:
            context = {"resolution_text": c.resolution_text}
            self.mail(p, "final_reply", context, f"final_reply:{c.id}:{event.seq}:{p.id}", at)
        if c.needs_revisit:
            sequence = 1 + len(case.revisits)
            due = self.deadlines.complaint_revisit_due(at)
            manager = self.staff.first(Role.SERVICE_CENTRE_MANAGER)
            case.revisits.append(
                self.revisit_row(
                    RevisitKind.COMPLAINT, RevisitMethod.ON_SITE, manager, due, at, complaint_id=c.id, sequence=sequence
                )
            )
            c.revisit_due_at = due
        else:
            note = "no revisit: anonymous or reply-only, the reply is on the record (R-IN-4)"
            c.apply(Action.CLOSE, at=at, actor_id=head.id, note=note)
            self.closing_notice(c, at)
            self.close_duplicates(case, at)
        self.touch(case)

    # ------------------------------------------------------------------ revisits

    def revisit_row(
        self, kind: RevisitKind, method: RevisitMethod, visitor: Person, due: datetime, created: datetime, **extra: Any
    ) -> Row:
        """A due revisit as the services create one: an id of its own, nothing recorded yet."""
        return {
            "id": self.ids.take("revisit"),
            "estate_id": self.staff.estate_id,
            "complaint_id": None,
            "work_order_id": None,
            "kind": kind,
            "method": method,
            "sequence": 1,
            "visitor_id": visitor.id,
            "due_at": due,
            "created_at": created,
            "done_at": None,
            "recorded_at": None,
            "answers": {},
            "satisfaction": None,
            "signature_png": None,
            "refusal_note": "",
            "new_issue": "",
            "new_complaint_id": None,
            "next_reply_at": None,
            "open_letter_ref": "",
            "supervisor_opinion": "",
            "reviewed_by_id": None,
            "reviewed_at": None,
            "sample_item_id": None,
            "source_revisit_id": None,
            **extra,
        }

    def answers(self, lang: int, satisfied: bool, suggestion: str = "") -> dict[str, str]:
        """The questions of R-RV-7 answered."""
        found = {k: self.rng.choice(v)[lang] for k, v in ANSWERS.items()}
        shortcomings = "" if satisfied else self.rng.choice(SHORTCOMINGS)[lang]
        return {**found, "shortcomings": shortcomings, "suggestions": suggestion}

    def write_record(self, row: Row, visitor: Person, done: datetime, recorded: datetime, **fields: Any) -> bool:
        """``revisit.write_revisit_record``: what the visitor found; True when recorded late (R-RV-13)."""
        row.update(visitor_id=visitor.id, done_at=done, recorded_at=recorded, **fields)
        return is_late_record(recorded, self.deadlines.revisit_record_due(done))

    def revisit(self, case: Case, done: datetime, recorded: datetime, *, satisfied: bool, first: bool) -> str:
        """``revisit.record_revisit``: the manager on site first, signed or with the resident's refusal
        (R-RV-3, R-RV-8); from the 2nd revisit on, by phone (R-RV-10). A new issue becomes a new
        complaint, a suggestion its own revisit. Returns the shortcomings named."""
        c, p = case.c, case.plan
        row = next(r for r in case.revisits if r["done_at"] is None)
        on_site = row["sequence"] == 1
        visitor = self.staff.first(
            Role.SERVICE_CENTRE_MANAGER if on_site or self.rng.random() < 0.5 else Role.PROPERTY_SUPERVISOR
        )
        if satisfied:
            sat = Satisfaction.SATISFIED if self.rng.random() < 0.75 else Satisfaction.BASICALLY_SATISFIED
        else:
            sat = Satisfaction.UNSATISFIED
        suggestion = self.pick(case, SUGGESTIONS) if p.suggestion and first else ""
        answers = self.answers(case.lang, satisfied, suggestion)
        issue = self.rng.choice(NEW_ISSUES) if p.new_issue and first else None
        signed = on_site and not p.refused
        late = self.write_record(
            row, visitor, done, recorded,
            method=RevisitMethod.ON_SITE if on_site else RevisitMethod.PHONE,
            satisfaction=sat,
            answers=answers,
            signature_png=self.signature if signed else None,
            refusal_note=self.pick(case, REFUSALS) if on_site and not signed else "",
            new_issue=issue[1 + case.lang] if issue else "",
            next_reply_at=recorded + timedelta(days=1) if issue else None,
        )  # fmt: skip
        c.satisfaction = sat
        c.apply(
            Action.REVISIT,
            at=recorded,
            actor_id=visitor.id,
            data={
                "revisit_id": row["id"],
                "method": row["method"].value,
                "satisfaction": sat.value,
                "sequence": row["sequence"],
                "signed": signed,
                "late_record": late,
            },
        )
        if issue:
            row["new_complaint_id"] = self.new_issue(case, recorded, visitor, issue[0], issue[1 + case.lang])
        if suggestion:
            self.suggestion_revisit(row, recorded)
        self.touch(case)
        return answers["shortcomings"]

    def new_issue(self, case: Case, at: datetime, visitor: Person, topic: str, text: str) -> int:
        """The new complaint a revisit raised (R-RV-10); its id."""
        raise NotImplementedError

    def suggestion_revisit(self, source: Row, at: datetime) -> None:
        """``revisit.arrange_suggestion_revisit``: the property supervisor follows the suggestion up by
        phone (R-RV-2); done within its days unless that is still ahead."""
        supervisor = self.staff.first(Role.PROPERTY_SUPERVISOR)
        due = self.deadlines.complaint_revisit_due(at)
        row = self.revisit_row(
            RevisitKind.SUGGESTION, RevisitMethod.PHONE, supervisor, due, at, source_revisit_id=source["id"]
        )
        done = self.between(at, due, 0.2, 0.9)
        recorded = done + timedelta(minutes=self.rng.randint(5, 60))
        if recorded <= self.now:
            self.write_record(
                row,
                supervisor,
                done,
                recorded,
                satisfaction=Satisfaction.SATISFIED,
                answers=self.answers(self.lang, True),
            )
        self.loose_revisits.append(row)

    def after_revisit(self, case: Case, at: datetime, shortcomings: str) -> None:
        """``revisit.after_revisit``: satisfied, it closes (R-RV-14); unsatisfied, it is reopened and
        reassigned (R-RV-11)."""
        c = case.c
        if is_satisfied(c.satisfaction):
            c.apply(Action.CLOSE, at=at, note="revisit satisfied (R-RV-14)")
            self.closing_notice(c, at)
            self.close_duplicates(case, at)
            self.touch(case)
            return
        c.apply(Action.REOPEN, at=at, note="revisit unsatisfied: rectify and revisit again (R-RV-11)")
        c.satisfaction = None
        c.revisit_due_at = None
        self.assign(case, at, instructions="reopened after an unsatisfied revisit (R-RV-11): " + shortcomings)

    def closing_notice(self, c: Complaint, at: datetime) -> None:
        """``messages.closing_notice`` to every complainant of the problem."""
        for p in self.complainants(c):
            context = {"closed_at": at.isoformat(), "resolution_text": c.resolution_text}
            self.mail(p, "closing_notice", context, f"closing:{c.id}:{p.id}", at)

    def close_duplicates(self, case: Case, at: datetime) -> None:
        """``close.close_duplicates``: later reports of the problem close with their first (R-IN-5)."""
        for other in self.repeats.get(case.c.id, []):
            if S(other.c.status) is S.ASSESSED:
                other.c.apply(Action.CLOSE, at=at, note=f"closed with its first report {case.c.reference} (R-IN-5)")
                self.touch(other)
