"""The complaint lifecycle as service steps: each runs in the caller's one transaction.

A step reads the current state, applies one domain transition (``Complaint.apply``, which
writes the history record), and queues its notifications. Automatic steps (``receive``,
``auto_assess``, ``auto_assign``, ``after_revisit``) check the state first and do nothing
when it has moved on, so running one twice changes nothing and sends nothing twice.

One module per step, as the flows run them: ``intake``, ``assess``, ``assign``, ``escalate``,
``deadlines``, ``duplicates``, ``resolve``, ``revisit``, ``close``; ``common`` holds what they share.
"""

from __future__ import annotations

from estatecare.services.lifecycle.assess import assess, auto_assess
from estatecare.services.lifecycle.assign import assign, auto_assign
from estatecare.services.lifecycle.close import close
from estatecare.services.lifecycle.common import describe, pending_follow_ups
from estatecare.services.lifecycle.deadlines import DEADLINE_CHECKS, sweep_deadlines
from estatecare.services.lifecycle.duplicates import link, unlink
from estatecare.services.lifecycle.escalate import chain_role, decide, open_transfer, request_transfer
from estatecare.services.lifecycle.intake import (
    WRITTEN_CHANNELS,
    mark_intake_done,
    new_reference,
    pending_intake,
    receive,
    submit,
)
from estatecare.services.lifecycle.reminders import (
    Reminded,
    next_reply_reminders,
    revisit_reminders,
    send_reminders,
)
from estatecare.services.lifecycle.resolve import confirm, progress, resolve
from estatecare.services.lifecycle.revisit import (
    CheckedRecord,
    RevisitOutcome,
    after_revisit,
    check_revisit_record,
    complaint_from_revisit,
    record_revisit,
    revisit_done_at,
    write_revisit_record,
)
from models.permissions import SUPERVISORS, VISITORS  # the role sets, re-exported for callers

__all__ = [
    "DEADLINE_CHECKS",
    "SUPERVISORS",
    "VISITORS",
    "WRITTEN_CHANNELS",
    "CheckedRecord",
    "Reminded",
    "RevisitOutcome",
    "after_revisit",
    "assess",
    "assign",
    "auto_assess",
    "auto_assign",
    "chain_role",
    "check_revisit_record",
    "close",
    "complaint_from_revisit",
    "confirm",
    "decide",
    "describe",
    "link",
    "mark_intake_done",
    "new_reference",
    "next_reply_reminders",
    "open_transfer",
    "pending_follow_ups",
    "pending_intake",
    "progress",
    "receive",
    "record_revisit",
    "request_transfer",
    "resolve",
    "revisit_done_at",
    "revisit_reminders",
    "send_reminders",
    "submit",
    "sweep_deadlines",
    "unlink",
    "write_revisit_record",
]
