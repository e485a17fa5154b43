"""The complaint state machine: one table of allowed moves (pure Python).

Every move goes through :func:`next_status`; the ORM model's ``apply`` method is the
single chokepoint that calls it and writes the history record (R-RC-1).
"""

from __future__ import annotations

from enum import StrEnum

from models.enums import ComplaintStatus as S


class Action(StrEnum):
    """Steps that move a complaint through its lifecycle."""

    RECEIVE = "receive"  # the first history record: complaint registered (R-IN-2); no transition
    ASSESS = "assess"  # valid complaint, category/severity/urgency set (R-AS-1..3)
    REJECT_INVALID = "reject_invalid"  # outside our duty, explanation recorded (R-AS-2)
    LINK_DUPLICATE = "link_duplicate"  # later report of a known problem (R-IN-5)
    UNLINK_DUPLICATE = "unlink_duplicate"  # a wrong link undone by hand: a problem of its own (R-IN-5)
    ASSIGN = "assign"  # department + person + deadline (R-HD-2), also reassignment
    ESCALATE = "escalate"  # one level up the chain (R-HD-3); state unchanged
    PROGRESS = "progress"  # progress update to the complainant (R-HD-5)
    RESOLVE = "resolve"  # handler records the result (R-HD-6)
    RETURN = "return"  # department head does not confirm the result
    CONFIRM = "confirm"  # department head confirms; reply sent; revisit due (R-HD-6, R-RV-3)
    REVISIT = "revisit"  # a revisit recorded (R-RV-7/8/10)
    REOPEN = "reopen"  # unsatisfied revisit (R-RV-11)
    CLOSE = "close"  # R-RV-14


_ESCALATABLE = (S.RECEIVED, S.ASSESSED, S.ASSIGNED, S.RESOLVED, S.REVISIT_DUE, S.REOPENED)

TRANSITIONS: dict[tuple[S, Action], S] = {
    (S.RECEIVED, Action.ASSESS): S.ASSESSED,
    (S.RECEIVED, Action.REJECT_INVALID): S.INVALID,
    (S.RECEIVED, Action.LINK_DUPLICATE): S.ASSESSED,
    (S.ASSESSED, Action.LINK_DUPLICATE): S.ASSESSED,  # by hand, before or after assignment
    (S.ASSIGNED, Action.LINK_DUPLICATE): S.ASSESSED,
    (S.ASSESSED, Action.UNLINK_DUPLICATE): S.ASSESSED,
    (S.ASSESSED, Action.ASSIGN): S.ASSIGNED,
    (S.ASSIGNED, Action.ASSIGN): S.ASSIGNED,
    (S.REOPENED, Action.ASSIGN): S.ASSIGNED,
    (S.ASSESSED, Action.PROGRESS): S.ASSESSED,
    (S.ASSIGNED, Action.PROGRESS): S.ASSIGNED,
    (S.REOPENED, Action.PROGRESS): S.REOPENED,
    (S.ASSIGNED, Action.RESOLVE): S.RESOLVED,
    (S.RESOLVED, Action.RETURN): S.ASSIGNED,
    (S.RESOLVED, Action.CONFIRM): S.REVISIT_DUE,
    (S.REVISIT_DUE, Action.REVISIT): S.REVISIT_DUE,
    (S.REVISIT_DUE, Action.REOPEN): S.REOPENED,
    (S.INVALID, Action.CLOSE): S.CLOSED,
    (S.ASSESSED, Action.CLOSE): S.CLOSED,  # a linked duplicate, when its first report closes
    (S.RESOLVED, Action.CLOSE): S.CLOSED,  # confirmed and no revisit needed (R-IN-4)
    (S.REVISIT_DUE, Action.CLOSE): S.CLOSED,  # revisit satisfied (R-RV-14)
    **{(s, Action.ESCALATE): s for s in _ESCALATABLE},
}


class IllegalTransition(Exception):
    """A step that the lifecycle does not allow from the current state.

    The message names the current state and the state the step would lead to.
    """

    def __init__(self, current: S, action: Action, reason: str | None = None) -> None:
        self.current = current
        self.action = action
        self.target = target_of(action, current)
        self.reason = reason
        if reason is None:
            sources = sorted(s.value for (s, a) in TRANSITIONS if a is action)
            reason = f"{action.value} is allowed only from: {', '.join(sources)}"
        super().__init__(
            f"cannot {action.value} a complaint from state {current.value!r} to {self.target.value!r}: {reason}"
        )


def target_of(action: Action, current: S) -> S:
    """Where ``action`` leads: its one target, or ``current`` for steps that keep the state."""
    if (current, action) in TRANSITIONS:
        return TRANSITIONS[(current, action)]
    targets = {t for (_, a), t in TRANSITIONS.items() if a is action}
    return targets.pop() if len(targets) == 1 else current


def next_status(current: S, action: Action) -> S:
    """The state ``action`` leads to from ``current``, or :class:`IllegalTransition`."""
    try:
        return TRANSITIONS[(current, action)]
    except KeyError:
        raise IllegalTransition(current, action) from None


def allowed_actions(current: S) -> list[Action]:
    """Actions allowed from ``current``, in table order."""
    return [a for (s, a) in TRANSITIONS if s == current]


FINAL_STATES = frozenset({S.CLOSED})
OPEN_STATES = frozenset(set(S) - FINAL_STATES - {S.INVALID})
#: A handler is working on it: assigned, or reopened after an unsatisfied revisit (R-HD-2, R-RV-11).
ASSIGNED_STATES = frozenset({S.ASSIGNED, S.REOPENED})
#: A superior's decision on a transfer sheet or escalation may (re)assign it in these states (R-HD-3).
DECIDABLE_STATES = frozenset({S.ASSESSED, *ASSIGNED_STATES})
