"""Intake claims: two runs (two workers) never hold the same complaint's intake, and the
claim of a run that died expires (docs/operations.md, distributed mode)."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from estatecare.services import claims, lifecycle
from estatecare.services.records import in_transaction
from estatecare.services.schemas import ComplaintIn
from models import Complaint
from tests.lifecycle_support import T0, World, make_world

LEASE = timedelta(minutes=5)


@pytest.fixture
def world(db_url: str, tmp_path: Path) -> World:
    return make_world(db_url, tmp_path)


def _submit(world: World, n: int) -> list[int]:
    core = world.core

    def work(s: Session) -> list[int]:
        return [lifecycle.submit(core, s, ComplaintIn(estate="CH", content=f"水管漏水 {i}"), T0).id for i in range(n)]

    return in_transaction(core.sessions, work)


def _claim(world: World, ids: list[int], at: timedelta = timedelta(0)) -> list[int]:
    return in_transaction(world.core.sessions, lambda s: claims.claim_intake(s, T0 + at, LEASE, ids))


def test_a_claimed_complaint_is_not_claimed_again_until_released_or_expired(world: World) -> None:
    ids = _submit(world, 4)
    assert _claim(world, ids[:2]) == ids[:2]
    assert _claim(world, ids) == ids[2:]  # the first two are held
    assert _claim(world, ids) == []
    in_transaction(world.core.sessions, lambda s: claims.release_intake(s, [ids[0]]))
    assert _claim(world, ids) == [ids[0]]
    assert _claim(world, ids, at=LEASE + timedelta(seconds=1)) == ids  # every claim expired


def test_a_complaint_through_intake_and_assigned_has_nothing_left_to_claim(world: World) -> None:
    [cid] = _submit(world, 1)
    core = world.core
    in_transaction(core.sessions, lambda s: lifecycle.receive(core, s, cid))
    in_transaction(core.sessions, lambda s: lifecycle.auto_assess(core, s, cid, T0))  # waits for a person
    assert _claim(world, [cid]) == [cid]  # the assessment and the assignment are still to do
    reference = in_transaction(core.sessions, lambda s: s.get_one(Complaint, cid).reference)
    world.assess(reference)  # the supervisor's assessment, then the assignment
    in_transaction(core.sessions, lambda s: lifecycle.mark_intake_done(s, cid))  # also ends the claim
    assert world.complaint(reference).status == "assigned"
    assert _claim(world, [cid]) == []


def test_the_sweep_does_not_list_complaints_a_live_run_holds(world: World) -> None:
    ids = _submit(world, 3)
    _claim(world, ids[:1])
    later = T0 + timedelta(minutes=1)
    with world.core.sessions() as s:
        assert lifecycle.pending_intake(s, later, now=later) == ids[1:]
        after_expiry = T0 + LEASE + timedelta(seconds=1)
        assert lifecycle.pending_intake(s, after_expiry, now=after_expiry) == ids


def test_claims_made_at_the_same_moment_split_the_work(world: World) -> None:
    ids = _submit(world, 60)
    got: list[list[int]] = []
    barrier = threading.Barrier(4)

    def run() -> None:
        barrier.wait()
        got.append(_claim(world, ids))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    taken = [cid for part in got for cid in part]
    assert sorted(taken) == ids  # each complaint claimed by exactly one of the four
