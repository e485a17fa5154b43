"""Every message the procedures send: its stable id, audience and the context it needs.

``shows_contact`` is True only for messages to people who handle the case; every other
message carries the reference and a masked phone, never the complainant's name or
contact (R-IN-6). Context values are JSON types; timestamps are ISO-8601 strings in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class MessageSpec:
    """One kind of message."""

    id: str
    audience: str
    shows_contact: bool
    required: frozenset[str]
    purpose: str


def _spec(id: str, audience: str, shows_contact: bool, required: str, purpose: str) -> MessageSpec:
    return MessageSpec(id, audience, shows_contact, frozenset(required.split()), purpose)


CONTACT_KEYS = frozenset({"complainant_name", "complainant_phone", "complainant_email"})

CATALOGUE: dict[str, MessageSpec] = {
    s.id: s
    for s in [
        _spec(
            "complaint_ack",
            "complainant",
            False,
            "reference estate_name received_at content status_url",
            "acknowledgement with an apology and the reference (R-IN-2)",
        ),
        _spec(
            "assess_task",
            "property supervisor",
            True,
            "reference estate_name unit_label content received_at due_at action_url",
            "a complaint the keyword rules could not assess (R-AS-1..3)",
        ),
        _spec(
            "work_arrangement",
            "handler",
            True,
            "reference estate_name unit_label category urgency severity content due_at action_url "
            "instructions assigned_by",
            "work arrangement notice: what, where, by when, link to act (R-HD-2, R-HD-3)",
        ),
        _spec(
            "job_task",
            "technician",
            True,
            "reference estate_name unit_label trade urgency description due_at preferred_at assigned_by action_url",
            "a repair or service request dispatched to the technician: what, where, on site by when, the "
            "resident's contact, a link to record arrival and completion; assigned_by empty when dispatched "
            "automatically, unit_label empty for a shared area",
        ),
        _spec(
            "job_overdue",
            "department head",
            False,
            "reference estate_name unit_label trade urgency description due_at technician_name action_url",
            "nobody is on site by a job's deadline: the department head (with no head, the service centre "
            "manager) is told once per deadline and may reassign it; technician_name empty when nobody has it",
        ),
        _spec(
            "transfer_sheet",
            "superior",
            True,
            "reference estate_name unit_label content from_staff_name reason level action_url",
            "a handler cannot settle it: the superior decides (R-HD-3)",
        ),
        _spec(
            "escalation",
            "leadership",
            False,
            "reference estate_name kind level content masked_phone action_url",
            "major complaint, written complaint or missed deadline reported up (R-AS-4, R-IN-3, R-HD-3); "
            "kind is one of major, written, deadline_missed, transfer; deadline_kind and due_at for missed ones",
        ),
        _spec(
            "confirm_task",
            "department head",
            False,
            "reference estate_name content resolution_text handler_name action_url",
            "the handler recorded a result: confirm it (R-HD-6)",
        ),
        _spec(
            "progress_update",
            "complainant",
            False,
            "reference message next_reply_at",
            "progress, and when something cannot be solved now the reason and next reply date (R-HD-5); "
            "still_handling: the automatic message when the promised date came and it is not solved yet",
        ),
        _spec(
            "reply_due_reminder",
            "handler",
            True,
            "reference estate_name unit_label content due_at next_reply_at action_url",
            "the reply date promised to the complainant has come and the complaint is not solved: update them "
            "(R-HD-5); next_reply_at: the date the complainant was just told instead",
        ),
        _spec(
            "final_reply",
            "complainant",
            False,
            "reference resolution_text",
            "the process and result of handling (R-HD-4 reply clearly)",
        ),
        _spec(
            "closing_notice",
            "complainant",
            False,
            "reference closed_at resolution_text",
            "the handled complaint is closed: what was done, and whom to tell if it comes back (R-HD-4, R-RV-14)",
        ),
        _spec(
            "invalid_explanation",
            "complainant",
            False,
            "reference explanation",
            "why the complaint is outside the company's duty, patiently explained (R-AS-2)",
        ),
        _spec(
            "revisit_task",
            "visitor (service-centre manager for complaints)",
            True,
            "subject_ref kind method unit_label due_at summary action_url",
            "revisit with the questions to ask and on-site etiquette (R-RV-3..8)",
        ),
        _spec(
            "revisit_reminder",
            "visitor",
            False,
            "subject_ref method unit_label due_at action_url",
            "a revisit or its record is due or overdue (R-RV-13)",
        ),
        _spec(
            "sample_list",
            "service centre",
            False,
            "month estate_name due_at items",
            "the month's sampled work orders; items: list of {work_order_ref, unit_label, kind, completed_at, "
            "method} (R-RV-6)",
        ),
        _spec(
            "monthly_summary",
            "leadership",
            False,
            "month scope kpis tables",
            "monthly statistics against targets (R-KP-1, R-KP-2); kpis: list of {id, label, value, target, "
            "comparison ('>=' or '<='), met}; tables: list of {title, columns, rows}; charts (optional, HTML "
            "part only): list of {title, svg}, the twelve-month trend charts",
        ),
    ]
}


#: Country codes kept in front of a masked number, longest first: Taiwan, Hong Kong, Macau, mainland.
_COUNTRY_CODES = ("886", "852", "853", "86")


def mask_phone(phone: str) -> str:
    """A phone number showing at most the last 4 digits of the local number (R-IN-6).

    ``91234567`` -> ``****4567``, ``13812345678`` -> ``*******5678``, ``0912345678`` ->
    ``******5678``; spaces and dashes go, a known country code stays (``+852 9123-4567`` ->
    ``+852 ****4567``). A number of fewer than 8 digits shows fewer, 4 digits or less none.
    """
    text = phone.strip()
    digits = "".join(c for c in text if c in "0123456789")
    prefix = ""
    if text.startswith(("+", "00")):  # an international number: +852 or 00852
        digits = digits[2:] if text.startswith("00") else digits
        code = next((c for c in _COUNTRY_CODES if digits.startswith(c)), "")
        if code:
            prefix, digits = f"+{code} ", digits[len(code) :]
    shown = min(4, max(0, len(digits) - 4))
    return (prefix + "*" * (len(digits) - shown) + digits[len(digits) - shown :]).rstrip()
