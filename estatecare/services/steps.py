"""The step table: every step a person takes, and one way to take it.

A row says what the step takes (its input schema), who may take it (its ``Step`` in the
permissions matrix, checked by the service function against the complaint), the service
function that applies it, what continues it in the background (``Then``), and whether it
ends the task an email link was sent for. ``run_step`` applies a row in ONE transaction
and returns, from that transaction, what to dispatch: the REST API and the web app are
adapters over it and know no flow by name (the dispatcher maps ``Then`` to a flow).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel
from sqlalchemy.orm import Session

from estatecare.app import App
from estatecare.reads import repairs as repair_reads
from estatecare.reads import revisits as revisit_reads
from estatecare.services import lifecycle, repairs, revisits
from estatecare.services.people import Actor
from estatecare.services.repair_schemas import ArrivalIn, CompletionIn, JobAccepted, ReassignmentIn, RepairIn
from estatecare.services.schemas import (
    AssessmentIn,
    AssignmentIn,
    CloseIn,
    ComplaintIn,
    ConfirmationIn,
    DecisionIn,
    EscalationIn,
    LinkIn,
    OpenLetterIn,
    ProgressIn,
    ResolutionIn,
    ReviewIn,
    RevisitIn,
    RevisitRecordIn,
    UnlinkIn,
)
from models import Complaint, Estate
from models.enums import ComplaintStatus
from models.permissions import Step
from models.ref import Ref


class Then(StrEnum):
    """What continues a step in the background (a flow, chosen by the dispatcher)."""

    INTAKE = "intake"  # receive, assess, assign: a new complaint, or a person's assessment
    NOTIFY = "notify"  # deliver the notices the step queued
    AFTER_REVISIT = "after-revisit"  # close a satisfied complaint, reopen an unsatisfied one


@dataclass(frozen=True)
class FollowUp:
    """One complaint to continue, and how."""

    then: Then
    ref: Ref


@dataclass(frozen=True)
class Applied:
    """What a service function did: the complaint it moved, complaints it raised, its answer."""

    complaint: Complaint | None
    raised: Sequence[Complaint] = ()
    answer: Any = None


Target = str | int  # a complaint's reference, or a revisit's id
Apply = Callable[[App, Session, Any, Any, Actor | None, datetime], Applied]


@dataclass(frozen=True)
class StepRow:
    """One row of the step table."""

    schema: type[BaseModel]
    permission: Step
    apply: Apply
    then: Then | None
    task: str | None = None  # the staff task (its action page) the step belongs to
    ends_task: bool = True


@dataclass(frozen=True)
class StepDone:
    """The answer to a step: the complaint's state after it, what the service answered, and
    what to dispatch once the transaction has committed."""

    reference: str | None
    status: ComplaintStatus | None
    version: int | None
    escalation_level: int | None
    answer: Any
    follow_ups: tuple[FollowUp, ...] = field(default=())


def _moved(service: Callable[..., Complaint]) -> Apply:
    return lambda core, s, target, data, actor, now: Applied(service(core, s, target, data, actor, now))


def _transfer(core: App, s: Session, target: Any, data: Any, actor: Actor | None, now: datetime) -> Applied:
    escalation = lifecycle.request_transfer(core, s, target, data, actor, now)
    return Applied(s.get(Complaint, escalation.complaint_id))


def _revisit(core: App, s: Session, target: Any, data: Any, actor: Actor | None, now: datetime) -> Applied:
    outcome = lifecycle.record_revisit(core, s, target, data, actor, now)
    return Applied(outcome.complaint, [outcome.new_complaint] if outcome.new_complaint else [])


def _order_revisit(core: App, s: Session, target: Any, data: Any, actor: Actor | None, now: datetime) -> Applied:
    outcome = revisits.record_order_revisit(core, s, target, data, actor, now)
    repairs.after_order_revisit(core, s, outcome, actor, now)  # closes or reopens a live job (R-RV-11)
    raised = [outcome.new_complaint] if outcome.new_complaint else []
    return Applied(None, raised, revisits.recorded(outcome))


def _review(core: App, s: Session, target: Any, data: Any, actor: Actor | None, now: datetime) -> Applied:
    assert actor is not None
    revisits.review_revisit(s, actor, target, data, now)
    return Applied(None, answer=revisit_reads.revisit_item(s, actor, target, now))


def _open_letter(core: App, s: Session, target: Any, data: Any, actor: Actor | None, now: datetime) -> Applied:
    assert actor is not None
    return Applied(None, answer=revisits.answer_by_open_letter(s, actor, data, now))


def _repair_request(core: App, s: Session, target: Any, data: Any, actor: Actor | None, now: datetime) -> Applied:
    order = repairs.request_repair(core, s, data, actor, now)
    return Applied(
        None,
        answer=JobAccepted(reference=order.reference, status=order.status.value, on_site_due_at=order.on_site_due_at),
    )


def _job(service: Callable[..., Any]) -> Apply:
    """A step on a job (target: its reference), answering the job as the actor sees it."""
    return lambda core, s, target, data, actor, now: Applied(
        None, answer=repair_reads.job_view(s, actor, service(core, s, target, data, actor, now))
    )


STEPS: dict[str, StepRow] = {
    "assess": StepRow(AssessmentIn, Step.ASSESS, _moved(lifecycle.assess), Then.INTAKE, "assessment"),
    "assign": StepRow(AssignmentIn, Step.ASSIGN, _moved(lifecycle.assign), Then.NOTIFY),
    "transfer": StepRow(EscalationIn, Step.TRANSFER, _transfer, Then.NOTIFY, "resolution"),
    "decide": StepRow(DecisionIn, Step.DECIDE, _moved(lifecycle.decide), Then.NOTIFY, "decision"),
    "progress": StepRow(ProgressIn, Step.PROGRESS, _moved(lifecycle.progress), Then.NOTIFY, "resolution", False),
    "resolve": StepRow(ResolutionIn, Step.RESOLVE, _moved(lifecycle.resolve), Then.NOTIFY, "resolution"),
    "confirm": StepRow(ConfirmationIn, Step.CONFIRM, _moved(lifecycle.confirm), Then.NOTIFY, "confirmation"),
    "revisit": StepRow(RevisitIn, Step.REVISIT, _revisit, Then.AFTER_REVISIT, "revisit"),
    "close": StepRow(CloseIn, Step.CLOSE, _moved(lifecycle.close), Then.NOTIFY),
    "order-revisit": StepRow(RevisitRecordIn, Step.REVISIT, _order_revisit, None),
    "review": StepRow(ReviewIn, Step.REVIEW, _review, None),
    "open-letter": StepRow(OpenLetterIn, Step.REVISIT, _open_letter, None),
    "link": StepRow(LinkIn, Step.ASSESS, _moved(lifecycle.link), Then.NOTIFY, "duplicate"),
    "unlink": StepRow(UnlinkIn, Step.ASSESS, _moved(lifecycle.unlink), Then.INTAKE, "duplicate"),
    # repair and service requests: a job is dispatched in the request's own transaction
    "repair-request": StepRow(RepairIn, Step.JOB_REQUEST, _repair_request, None),
    "job-reassign": StepRow(ReassignmentIn, Step.JOB_REASSIGN, _job(repairs.reassign), None),
    "job-arrive": StepRow(ArrivalIn, Step.JOB_WORK, _job(repairs.arrive), None),
    "job-complete": StepRow(CompletionIn, Step.JOB_WORK, _job(repairs.complete), None),
}


def steps_by_task() -> dict[str, set[str]]:
    """Each staff task (action page) and the steps it offers."""
    out: dict[str, set[str]] = {}
    for name, row in STEPS.items():
        if row.task is not None:
            out.setdefault(row.task, set()).add(name)
    return out


def ref_of(session: Session, complaint: Complaint) -> Ref:
    """The handle flows carry for ``complaint`` (read in the caller's transaction)."""
    estate = session.get(Estate, complaint.estate_id)
    assert estate is not None
    category = complaint.category.value if complaint.category else ""
    return Ref(complaint.id, complaint.reference, estate.code, category)


def apply_step(
    core: App,
    session: Session,
    name: str,
    target: Target,
    data: BaseModel,
    actor: Actor | None,
    now: datetime,
) -> StepDone:
    """Apply step ``name`` to ``target`` in the caller's transaction."""
    row = STEPS[name]
    if not isinstance(data, row.schema):
        raise TypeError(f"step {name!r} takes {row.schema.__name__}, not {type(data).__name__}")
    applied = row.apply(core, session, target, data, actor, now)
    session.flush()
    follow_ups = [FollowUp(Then.INTAKE, ref_of(session, c)) for c in applied.raised]
    c = applied.complaint
    if c is None:
        return StepDone(None, None, None, None, applied.answer, tuple(follow_ups))
    if row.then is not None:
        follow_ups.insert(0, FollowUp(row.then, ref_of(session, c)))
    status = ComplaintStatus(c.status)
    return StepDone(c.reference, status, c.version, c.escalation_level, applied.answer, tuple(follow_ups))


async def run_step(
    core: App,
    name: str,
    target: Target,
    data: BaseModel,
    actor: Actor | None,
    now: datetime,
    *,
    also: Callable[[Session], None] | None = None,
) -> StepDone:
    """Take step ``name`` in one transaction; ``also`` joins it (e.g. spending an email link)."""

    def work(session: Session) -> StepDone:
        done = apply_step(core, session, name, target, data, actor, now)
        if also is not None:
            also(session)
        return done

    return await core.run(work)


def intake(core: App, session: Session, data: ComplaintIn, actor: Actor | None, now: datetime) -> Intake:
    """Register a complaint (R-IN-2) in the caller's transaction; intake continues it."""
    complaint = lifecycle.submit(core, session, data, now, actor)
    ref = Ref(complaint.id, complaint.reference, data.estate, "")
    return Intake(complaint, FollowUp(Then.INTAKE, ref))


@dataclass(frozen=True)
class Intake:
    """A complaint just registered, and what continues it."""

    complaint: Complaint
    follow_up: FollowUp
