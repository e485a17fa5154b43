"""The complaint state machine: the table, the chokepoint and its history (R-RC-1)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models import Complaint
from models.enums import Channel, ComplaintStatus, Satisfaction
from models.lifecycle import TRANSITIONS, Action, IllegalTransition, next_status

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def new_complaint(**kw: object) -> Complaint:
    values: dict[str, object] = dict(
        reference="CH-TEST",
        estate_id=1,
        channel=Channel.PHONE,
        content="電梯壞了",
        complainant_name="黃先生",
        status=ComplaintStatus.RECEIVED,
        escalation_level=0,
        reply_only=False,
        valid=None,
        satisfaction=None,
        duplicate_of_id=None,
    )
    values.update(kw)
    return Complaint(**values)


ILLEGAL = [(s, a) for s in ComplaintStatus for a in Action if (s, a) not in TRANSITIONS]


@pytest.mark.parametrize(("state", "action"), ILLEGAL, ids=[f"{s}-{a}" for s, a in ILLEGAL])
def test_every_illegal_transition_is_refused_naming_both_states(state: ComplaintStatus, action: Action) -> None:
    complaint = new_complaint(status=state)
    with pytest.raises(IllegalTransition) as info:
        complaint.apply(action, at=T0)
    message = str(info.value)
    assert f"from state {state.value!r}" in message
    assert f"to {info.value.target.value!r}" in message
    assert complaint.status is state and complaint.events == []


def test_closed_is_final() -> None:
    assert [a for (s, a) in TRANSITIONS if s is ComplaintStatus.CLOSED] == []
    with pytest.raises(IllegalTransition):
        next_status(ComplaintStatus.CLOSED, Action.REOPEN)


def test_a_valid_complaint_cannot_close_without_a_satisfied_revisit() -> None:
    complaint = new_complaint(status=ComplaintStatus.REVISIT_DUE, valid=True)
    with pytest.raises(IllegalTransition, match="no satisfied revisit recorded"):
        complaint.apply(Action.CLOSE, at=T0)
    complaint.satisfaction = Satisfaction.BASICALLY_SATISFIED
    complaint.apply(Action.CLOSE, at=T0)
    assert complaint.status is ComplaintStatus.CLOSED and complaint.closed_at == T0


def test_an_anonymous_complaint_closes_after_confirmation_without_revisit() -> None:
    complaint = new_complaint(status=ComplaintStatus.RESOLVED, valid=True, complainant_name="")
    complaint.apply(Action.CLOSE, at=T0)
    assert complaint.status is ComplaintStatus.CLOSED


def test_a_named_valid_complaint_is_not_closed_straight_from_resolved() -> None:
    complaint = new_complaint(status=ComplaintStatus.RESOLVED, valid=True)
    with pytest.raises(IllegalTransition, match="revisited before it closes"):
        complaint.apply(Action.CLOSE, at=T0)


def test_a_duplicate_is_never_assigned() -> None:
    complaint = new_complaint(status=ComplaintStatus.RECEIVED, duplicate_of_id=7)
    complaint.apply(Action.LINK_DUPLICATE, at=T0)
    with pytest.raises(IllegalTransition, match="linked duplicate"):
        complaint.apply(Action.ASSIGN, at=T0)


@settings(max_examples=300, deadline=None)
@given(
    actions=st.lists(st.sampled_from(list(Action)), max_size=40),
    valid=st.booleans(),
    anonymous=st.booleans(),
    satisfied=st.lists(st.sampled_from(list(Satisfaction)), min_size=40, max_size=40),
)
def test_random_action_sequences_keep_state_and_history_in_step(
    actions: list[Action], valid: bool, anonymous: bool, satisfied: list[Satisfaction]
) -> None:
    complaint = new_complaint(valid=valid, complainant_name="" if anonymous else "周女士")
    done = 0
    for i, action in enumerate(actions):
        if action is Action.REVISIT:
            complaint.satisfaction = satisfied[i]
        before_state, before_len = complaint.status, len(complaint.events)
        try:
            record = complaint.apply(action, at=T0 + timedelta(minutes=i), actor_id=1)
        except IllegalTransition:
            assert complaint.status is before_state
            assert len(complaint.events) == before_len
            continue
        done += 1
        assert record.from_status is before_state
        assert record.action is action
        assert complaint.status is complaint.events[-1].to_status
        assert TRANSITIONS[(record.from_status, action)] is record.to_status
    assert len(complaint.events) == done
    assert [e.seq for e in complaint.events] == list(range(1, done + 1))
    for prev, nxt in zip(complaint.events, complaint.events[1:], strict=False):
        assert prev.to_status is nxt.from_status
