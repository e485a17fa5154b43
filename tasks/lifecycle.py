"""Prefect tasks of the complaint lifecycle.

A step task takes a batch of complaints and runs the service step for each one in its
own transaction, logging one line per complaint with its reference (so a complaint's
step is found in the run's logs). A concurrent change to the same complaint (optimistic
lock) or a locked database is retried for that complaint; one that still fails is
logged and left for the sweep, without holding up the rest of the batch. Every step is
idempotent, so a retry or a second run changes nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TypeVar

from prefect import get_run_logger, task
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

from estatecare import runtime
from estatecare.app import App
from estatecare.runtime import current_app
from estatecare.services import claims, lifecycle
from estatecare.services.errors import ConflictError
from models.ref import Ref

T = TypeVar("T")
ATTEMPTS = 4
# A concurrent change (optimistic lock), a unique key another worker inserted first (an outbox
# idempotency key, a history sequence number), a locked SQLite file or a dropped connection:
# the transaction rolled back as a whole, and the step re-reads the state when retried.
TRANSIENT = (ConflictError, OperationalError, IntegrityError, InterfaceError)


def _now() -> datetime:
    return runtime.now()


async def _tx(work: Callable[[Session], T]) -> T:
    """Run ``work`` in one transaction on a worker thread, retrying transient failures."""
    core = current_app()
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return await core.run(work, background=True)
        except TRANSIENT:
            if attempt == ATTEMPTS:
                raise
            await asyncio.sleep(0.2 * 2**attempt)
    raise AssertionError("unreachable")


async def _each(step: str, refs: list[Ref], work: Callable[[App, Session, int], object]) -> dict[int, object]:
    """Apply ``work`` to every complaint; returns the result per complaint id that succeeded."""
    core, log = current_app(), get_run_logger()
    done: dict[int, object] = {}
    for cid, ref, _, _ in refs:
        try:
            result = await _tx(lambda s, cid=cid: work(core, s, cid))  # type: ignore[misc]
        except TRANSIENT as exc:
            log.warning("%s %s: left for the sweep (%s)", step, ref, exc)
            continue
        done[cid] = result
        log.info("%s %s: %s", step, ref, result)
    return done


@task(name="receive", task_run_name="receive {label}")
async def receive(refs: list[Ref], label: str = "") -> list[Ref]:
    """Acknowledge each complaint; written ones go to leadership (R-IN-2, R-IN-3)."""

    def work(core: App, s: Session, cid: int) -> str:
        lifecycle.receive(core, s, cid)
        return "acknowledged"

    done = await _each("receive", refs, work)
    return [r for r in refs if r[0] in done]


@task(name="assess", task_run_name="assess {label}")
async def assess(refs: list[Ref], label: str = "") -> tuple[list[Ref], list[Ref]]:
    """Duplicate link, keyword assessment or a task for the supervisor (R-IN-5, R-AS-1..4).

    Returns (handled, left the received state)."""

    def work(core: App, s: Session, cid: int) -> str:
        return "assessed" if lifecycle.auto_assess(core, s, cid, _now()) else "sent to the supervisor"

    done = await _each("assess", refs, work)
    return [r for r in refs if r[0] in done], [r for r in refs if done.get(r[0]) == "assessed"]


@task(name="assign", task_run_name="assign {label}")
async def assign(refs: list[Ref], label: str = "") -> list[Ref]:
    """Department by routing, person with the fewest open cases, work arrangement notice (R-HD-2)."""

    def work(core: App, s: Session, cid: int) -> str:
        return "assigned" if lifecycle.auto_assign(core, s, cid, _now()) else "nothing to assign"

    done = await _each("assign", refs, work)
    return [r for r in refs if r[0] in done]


@task(name="after-revisit", task_run_name="after revisit {label}")
async def after_revisit(refs: list[Ref], label: str = "") -> dict[str, str]:
    """Close a satisfied complaint or reopen and reassign an unsatisfied one (R-RV-11, R-RV-14)."""

    def work(core: App, s: Session, cid: int) -> str:
        return lifecycle.after_revisit(core, s, cid, _now())

    done = await _each("after revisit", refs, work)
    return {ref: str(done[cid]) for cid, ref, _, _ in refs if cid in done}


@task(name="intake-done")
async def mark_intake_done(complaint_ids: list[int]) -> None:
    """Intake finished: the intake sweep leaves these complaints alone."""

    def work(s: Session) -> None:
        for cid in complaint_ids:
            lifecycle.mark_intake_done(s, cid)

    if complaint_ids:
        await _tx(work)


@task(name="find-pending-intake")
async def pending_intake(older_than_seconds: float, limit: int) -> list[Ref]:
    """Complaints accepted but not yet through intake."""
    now = _now()
    cutoff = now - timedelta(seconds=older_than_seconds)
    return await _tx(lambda s: lifecycle.describe(s, lifecycle.pending_intake(s, cutoff, limit, now=now)))


@task(name="claim-intake")
async def claim_intake(refs: list[Ref]) -> list[Ref]:
    """Claim the complaints' intake for this run (a lease); the ones another run holds are left to it."""
    core = current_app()
    lease = timedelta(seconds=core.settings.intake_lease_seconds)
    ids = [r[0] for r in refs]
    claimed = set(await _tx(lambda s: claims.claim_intake(s, _now(), lease, ids)))
    skipped = len(refs) - len(claimed)
    if skipped:
        get_run_logger().info("%d complaint(s) left to the run that holds them or already done", skipped)
    return [r for r in refs if r[0] in claimed]


@task(name="release-intake")
async def release_intake(complaint_ids: list[int]) -> None:
    """Give back the claims of complaints this run could not finish: the sweep retries them at once."""
    if complaint_ids:
        await _tx(lambda s: claims.release_intake(s, complaint_ids))


@task(name="find-pending-follow-ups")
async def pending_follow_ups(limit: int) -> dict[str, list[Ref]]:
    """Automatic steps that a lost dispatch left undone: assignments and revisit outcomes."""
    return await _tx(lambda s: lifecycle.pending_follow_ups(s, limit))


@task(name="deadline-sweep")
async def sweep_deadlines() -> list[int]:
    """Escalate missed deadlines, once per deadline (R-HD-1, R-HD-3)."""
    core = current_app()
    return await _tx(lambda s: lifecycle.sweep_deadlines(core, s, _now()))


@task(name="reminders")
async def send_reminders() -> lifecycle.Reminded:
    """Remind of promised reply dates (R-HD-5) and of revisits about to fall due (R-RV-13), once each."""
    core = current_app()
    return await _tx(lambda s: lifecycle.send_reminders(core, s, _now()))
