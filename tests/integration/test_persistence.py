"""Persistence on real SQLite and PostgreSQL: history, append-only records, optimistic locking."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from estatecare.demo import database_is_empty, seed_demo
from estatecare.services.errors import ConflictError
from estatecare.services.records import get_complaint, in_transaction
from models import Complaint, ComplaintEvent, Estate, Staff
from models.enums import Channel, ComplaintStatus, Role
from models.lifecycle import Action
from models.policy import Policy

T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)


def make_complaint(sessions: sessionmaker[Session], policy: Policy, ref: str = "CH-0001") -> None:
    with sessions() as s, s.begin():
        if database_is_empty(s):
            seed_demo(s, policy)
        estate = s.scalars(select(Estate)).one()
        c = Complaint(
            reference=ref, estate_id=estate.id, channel=Channel.PHONE, content="大堂燈壞了", complainant_name="黃先生"
        )
        s.add(c)


def test_the_demo_seed_creates_every_role(sessions: sessionmaker[Session], policy: Policy) -> None:
    with sessions() as s, s.begin():
        seed_demo(s, policy)
    with sessions() as s:
        roles = set(s.scalars(select(Staff.role)))
    assert roles == set(Role)


def test_a_transition_is_stored_with_its_history_and_timestamps_stay_utc(
    sessions: sessionmaker[Session], policy: Policy
) -> None:
    make_complaint(sessions, policy)

    def assess(s: Session) -> None:
        get_complaint(s, "CH-0001").apply(Action.ASSESS, at=T0, note="facility")

    in_transaction(sessions, assess)
    with sessions() as s:
        c = get_complaint(s, "CH-0001")
        assert c.status is ComplaintStatus.ASSESSED
        assert [(e.from_status, e.to_status) for e in c.events] == [
            (ComplaintStatus.RECEIVED, ComplaintStatus.ASSESSED)
        ]
        assert c.events[0].at == T0 and c.events[0].at.tzinfo is not None
        assert c.version == 2


def test_history_records_cannot_be_edited_or_deleted(sessions: sessionmaker[Session], policy: Policy) -> None:
    make_complaint(sessions, policy)
    in_transaction(sessions, lambda s: get_complaint(s, "CH-0001").apply(Action.ASSESS, at=T0))
    with sessions() as s, pytest.raises(PermissionError, match="append-only"), s.begin():
        event = s.scalars(select(ComplaintEvent)).one()
        event.note = "rewritten"
    with sessions() as s, pytest.raises(PermissionError, match="append-only"), s.begin():
        s.delete(s.scalars(select(ComplaintEvent)).one())


def test_a_stale_expected_version_is_a_conflict(sessions: sessionmaker[Session], policy: Policy) -> None:
    make_complaint(sessions, policy)
    in_transaction(sessions, lambda s: get_complaint(s, "CH-0001", expected_version=1).apply(Action.ASSESS, at=T0))
    with pytest.raises(ConflictError, match="changed since version 1"):
        in_transaction(sessions, lambda s: get_complaint(s, "CH-0001", expected_version=1))


@pytest.mark.postgres
def test_two_concurrent_updates_on_postgresql_one_wins_the_other_conflicts_nothing_lost(
    pg_url: str, policy: Policy
) -> None:
    from estatecare.db import make_engine, make_session_factory
    from tests.conftest import _truncate_all

    engine = make_engine(pg_url)
    _truncate_all(engine)
    sessions = make_session_factory(engine)
    make_complaint(sessions, policy)
    in_transaction(sessions, lambda s: get_complaint(s, "CH-0001").apply(Action.ASSESS, at=T0))
    both_loaded = threading.Barrier(2)
    outcome: dict[str, str] = {}

    def update(name: str) -> None:
        def work(s: Session) -> None:
            c = get_complaint(s, "CH-0001")
            both_loaded.wait(timeout=10)
            c.apply(Action.PROGRESS, at=T0, note=f"progress by {name}")
            c.resolution_text = name

        try:
            in_transaction(sessions, work)
            outcome[name] = "won"
        except ConflictError:
            outcome[name] = "conflict"

    threads = [threading.Thread(target=update, args=(n,)) for n in ("alice", "bob")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcome.values()) == ["conflict", "won"]
    winner = next(n for n, o in outcome.items() if o == "won")
    with sessions() as s:
        c = get_complaint(s, "CH-0001")
        assert c.resolution_text == winner
        assert [e.note for e in c.events] == ["", f"progress by {winner}"]
        assert c.version == 3
    engine.dispose()
