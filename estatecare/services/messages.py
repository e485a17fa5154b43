"""Queueing the lifecycle's emails: who gets which message, with which context.

Every function writes outbox rows in the caller's transaction, each with an idempotency
key, so running a step twice sends nothing twice. Contact details go only into messages
for people who handle the case (R-IN-6).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from estatecare.app import App
from estatecare.links import sign_url
from models import Complaint, Estate, Notification, Revisit, Staff, Unit, WorkOrder, WorkOrderEvent
from models.assessment import Suggestion
from models.enums import Locale, Role, WorkOrderAction
from notifications.catalogue import mask_phone
from notifications.outbox import queue


def iso(value: datetime | None) -> str:
    """Timestamps travel in message context as ISO-8601 UTC strings."""
    return value.isoformat() if value is not None else ""


def _estate(session: Session, complaint: Complaint) -> Estate:
    estate = session.get(Estate, complaint.estate_id)
    assert estate is not None
    return estate


def unit_label(session: Session, unit_id: int | None) -> str:
    """ "1座 101", or empty when the complaint names no unit."""
    unit = session.get(Unit, unit_id) if unit_id is not None else None
    return unit.label if unit is not None else ""


def action_url(core: App, complaint: Complaint, task: str) -> str:
    """Where a staff member acts on the complaint."""
    return f"{core.settings.base_url.rstrip('/')}/staff/complaints/{complaint.reference}/{task}"


def _contact(complaint: Complaint) -> dict[str, Any]:
    return {
        "complainant_name": complaint.complainant_name,
        "complainant_phone": complaint.contact_phone,
        "complainant_email": complaint.contact_email,
    }


def _base(session: Session, complaint: Complaint) -> dict[str, Any]:
    return {
        "reference": complaint.reference,
        "estate_name": _estate(session, complaint).name,
        "unit_label": unit_label(session, complaint.unit_id),
        "content": complaint.content,
        "received_at": iso(complaint.received_at),
        "category": complaint.category.value if complaint.category else "",
        "urgency": complaint.urgency.value,
        "severity": complaint.severity.value,
    }


def to_staff(
    session: Session,
    staff: Staff,
    template: str,
    context: dict[str, Any],
    key: str,
    complaint: Complaint | None,
    core: App | None = None,
) -> Notification:
    """Queue a message to a staff member in their language.

    With ``core``, the ``action_url`` becomes a signed, expiring link for this person and
    that page only (``estatecare.links``).
    """
    if core is not None and context.get("action_url"):
        context = {**context, "action_url": sign_url(core.settings, staff.id, str(context["action_url"]))}
    return queue(
        session,
        template=template,
        to_email=staff.email,
        to_name=staff.name,
        locale=staff.locale,
        context=context,
        key=key,
        complaint_id=complaint.id if complaint is not None else None,
        staff_id=staff.id,
    )


def complainants(session: Session, complaint: Complaint) -> list[Complaint]:
    """The complaint and every later report linked to it: each complainant gets the replies (R-IN-5)."""
    linked = session.scalars(select(Complaint).where(Complaint.duplicate_of_id == complaint.id).order_by(Complaint.id))
    return [complaint, *linked]


def to_complainant(
    session: Session, complaint: Complaint, template: str, context: dict[str, Any], key: str
) -> Notification | None:
    """Queue a message to the complainant, when they gave an email address."""
    if not complaint.contact_email:
        return None
    return queue(
        session,
        template=template,
        to_email=complaint.contact_email,
        to_name=complaint.complainant_name,
        locale=Locale(complaint.locale),
        context={"reference": complaint.reference, **context},
        key=key,
        complaint_id=complaint.id,
    )


def acknowledgement(core: App, session: Session, complaint: Complaint) -> None:
    """Apology and reference to the complainant (R-IN-2)."""
    base = _base(session, complaint)
    to_complainant(
        session,
        complaint,
        "complaint_ack",
        {
            "estate_name": base["estate_name"],
            "received_at": base["received_at"],
            "content": complaint.content,
            "status_url": f"{core.settings.base_url.rstrip('/')}/status/{complaint.reference}",
        },
        key=f"ack:{complaint.id}",
    )


def escalation(
    core: App,
    session: Session,
    complaint: Complaint,
    recipients: list[Staff],
    *,
    kind: str,
    level: int,
    key: str,
    extra: dict[str, Any] | None = None,
    to_role: Role | None = None,
    task: str | None = "escalation",
) -> None:
    """Report up the chain: major (R-AS-4), written (R-IN-3), deadline missed, not decided in time or
    transfer (R-HD-3), to ``to_role`` at ``level``, with a signed link to decide; ``passed_up`` tells
    the levels below, with the complaint's page (``task`` None) instead."""
    base = _base(session, complaint)
    link = action_url(core, complaint, task) if task else action_url(core, complaint, "").rstrip("/")
    context = {
        "reference": complaint.reference,
        "estate_name": base["estate_name"],
        "unit_label": base["unit_label"],
        "kind": kind,
        "level": level,
        "to_role": to_role.value if to_role else "",
        "content": complaint.content,
        "masked_phone": mask_phone(complaint.contact_phone),
        "action_url": link,
        "category": base["category"],
        "severity": base["severity"],
        **(extra or {}),
    }
    for person in recipients:
        to_staff(session, person, "escalation", context, f"{key}:{person.id}", complaint, core if task else None)


def assess_task(
    core: App, session: Session, complaint: Complaint, assessor: Staff, suggestion: Suggestion | None = None
) -> None:
    """Ask the supervisor (the service-centre manager for a suggested major one) to assess the
    complaint, with what the keyword rules suggest and their evidence (R-AS-1..4)."""
    context = {
        **_base(session, complaint),
        **_contact(complaint),
        "due_at": iso(complaint.response_due_at),
        "action_url": action_url(core, complaint, "assessment"),
        "suggestion": suggestion_context(suggestion) if suggestion is not None else [],
    }
    to_staff(session, assessor, "assess_task", context, f"assess_task:{complaint.id}", complaint, core)


def suggestion_context(suggestion: Suggestion) -> list[dict[str, Any]]:
    """The suggested fields as message context: value, evidence (rule and words), confident."""
    return [
        {
            "field": f.field,
            "value": f.value,
            "confident": f.confident,
            "evidence": [{"rule": e.rule, "words": list(e.words)} for e in f.evidence],
        }
        for f in suggestion.fields()
    ]


def work_arrangement(
    core: App,
    session: Session,
    complaint: Complaint,
    handler: Staff,
    *,
    key: str,
    assigned_by: str,
    instructions: str,
) -> None:
    """Work arrangement notice (工作安排通知單): what, where, by when, a link to act (R-HD-2/3)."""
    context = {
        **_base(session, complaint),
        **_contact(complaint),
        "due_at": iso(complaint.resolution_due_at),
        "action_url": action_url(core, complaint, "resolution"),
        "instructions": instructions,
        "assigned_by": assigned_by,
    }
    to_staff(session, handler, "work_arrangement", context, key, complaint, core)


def transfer_sheet(
    core: App,
    session: Session,
    complaint: Complaint,
    superior: Staff,
    *,
    escalation_id: int,
    from_name: str,
    reason: str,
    level: int,
    to_role: Role,
) -> None:
    """Transfer sheet (工作傳簽單) to the superior, who decides (R-HD-3)."""
    context = {
        **_base(session, complaint),
        **_contact(complaint),
        "from_staff_name": from_name,
        "reason": reason,
        "level": level,
        "to_role": to_role.value,
        "action_url": action_url(core, complaint, "decision"),
    }
    to_staff(
        session, superior, "transfer_sheet", context, f"transfer_sheet:{escalation_id}:{superior.id}", complaint, core
    )


def confirm_task(
    core: App, session: Session, complaint: Complaint, head: Staff, *, handler_name: str, seq: int
) -> None:
    """Ask the department head to confirm the handler's result (R-HD-6)."""
    base = _base(session, complaint)
    context = {
        "reference": complaint.reference,
        "estate_name": base["estate_name"],
        "unit_label": base["unit_label"],
        "content": complaint.content,
        "resolution_text": complaint.resolution_text,
        "handler_name": handler_name,
        "action_url": action_url(core, complaint, "confirmation"),
    }
    to_staff(session, head, "confirm_task", context, f"confirm_task:{complaint.id}:{seq}", complaint, core)


def progress_update(
    session: Session, complaint: Complaint, *, message: str, next_reply_at: datetime | None, seq: int
) -> None:
    """Progress to the complainant and, if not solved yet, the next reply date (R-HD-5)."""
    for person in complainants(session, complaint):
        to_complainant(
            session,
            person,
            "progress_update",
            {"message": message, "next_reply_at": iso(next_reply_at)},
            key=f"progress:{complaint.id}:{seq}:{person.id}",
        )


def final_reply(session: Session, complaint: Complaint, *, seq: int) -> None:
    """Process and result to every complainant of the problem (R-HD-4, R-IN-5)."""
    for person in complainants(session, complaint):
        to_complainant(
            session,
            person,
            "final_reply",
            {"resolution_text": complaint.resolution_text},
            key=f"final_reply:{complaint.id}:{seq}:{person.id}",
        )


def invalid_explanation(session: Session, complaint: Complaint) -> None:
    """Why the complaint is outside the company's duty (R-AS-2)."""
    to_complainant(
        session,
        complaint,
        "invalid_explanation",
        {"explanation": complaint.explanation_text},
        key=f"invalid:{complaint.id}",
    )


def revisit_task(core: App, session: Session, complaint: Complaint, revisit: Revisit, visitor: Staff) -> None:
    """The revisit to make, with the questions and etiquette (R-RV-3..8)."""
    context = {
        "subject_ref": complaint.reference,
        "kind": revisit.kind.value,
        "method": revisit.method.value,
        "sequence": revisit.sequence,
        "unit_label": unit_label(session, complaint.unit_id),
        "due_at": iso(revisit.due_at),
        "summary": complaint.resolution_text or complaint.content,
        "content": complaint.content,
        "action_url": action_url(core, complaint, "revisit"),
        **_contact(complaint),
    }
    to_staff(session, visitor, "revisit_task", context, f"revisit_task:{revisit.id}", complaint, core)


def closing_notice(session: Session, complaint: Complaint) -> None:
    """The handled complaint is closed: every complainant of the problem is told (R-HD-4, R-IN-5)."""
    for person in complainants(session, complaint):
        to_complainant(
            session,
            person,
            "closing_notice",
            {"closed_at": iso(complaint.closed_at), "resolution_text": complaint.resolution_text},
            key=f"closing:{complaint.id}:{person.id}",
        )


def reply_due(
    core: App, session: Session, complaint: Complaint, handler: Staff | None, *, due: datetime, next_at: datetime
) -> list[Notification]:
    """The reply date promised to the complainant came and the complaint is not solved (R-HD-5): the
    complainants hear it is still being handled and when they hear next; the handler is reminded,
    with a link to the page where the progress step is. Once per promised date."""
    queued = [
        row
        for person in complainants(session, complaint)
        if (
            row := to_complainant(
                session,
                person,
                "progress_update",
                {"message": "", "still_handling": True, "next_reply_at": iso(next_at)},
                key=f"still_handling:{complaint.id}:{due.isoformat()}:{person.id}",
            )
        )
        is not None
    ]
    if handler is not None:
        context = {
            **_base(session, complaint),
            **_contact(complaint),
            "due_at": iso(due),
            "next_reply_at": iso(next_at),
            "action_url": action_url(core, complaint, "resolution"),
        }
        key = f"reply_due_reminder:{complaint.id}:{due.isoformat()}"
        queued.append(to_staff(session, handler, "reply_due_reminder", context, key, complaint, core))
    return queued


def revisit_reminder(
    core: App,
    session: Session,
    revisit: Revisit,
    visitor: Staff,
    *,
    subject_ref: str,
    unit: str,
    complaint: Complaint | None,
    now: datetime,
) -> Notification:
    """Remind the visitor of an open revisit before it is due, once per revisit (R-RV-13)."""
    base = core.settings.base_url.rstrip("/")
    url = action_url(core, complaint, "revisit") if complaint is not None else f"{base}/staff/revisits/{revisit.id}"
    context = {
        "subject_ref": subject_ref,
        "method": revisit.method.value,
        "unit_label": unit,
        "due_at": iso(revisit.due_at),
        "action_url": url,
        "overdue": revisit.due_at < now,
    }
    return to_staff(session, visitor, "revisit_reminder", context, f"revisit_reminder:{revisit.id}", complaint, core)


def suggestion_revisit_task(
    core: App,
    session: Session,
    revisit: Revisit,
    visitor: Staff,
    *,
    subject_ref: str,
    unit: str,
    suggestion: str,
    contact: Complaint,
) -> None:
    """The revisit of a resident's suggestion, to the property supervisor (R-RV-2); ``contact``
    carries the resident's name and contact (a complaint, or one built from a work order's resident)."""
    context = {
        "subject_ref": subject_ref,
        "kind": revisit.kind.value,
        "method": revisit.method.value,
        "sequence": revisit.sequence,
        "unit_label": unit,
        "due_at": iso(revisit.due_at),
        "summary": suggestion,
        "action_url": f"{core.settings.base_url.rstrip('/')}/staff/revisits/{revisit.id}",
        **_contact(contact),
    }
    to_staff(session, visitor, "revisit_task", context, f"revisit_task:{revisit.id}", None, core)


def _job_contact(order: WorkOrder) -> dict[str, Any]:
    return {
        "complainant_name": order.contact_name,
        "complainant_phone": order.contact_phone,
        "complainant_email": order.contact_email,
    }


def _job_facts(core: App, session: Session, order: WorkOrder) -> dict[str, Any]:
    """What every email about a job says of it, with the signed link's page (the job's)."""
    estate = session.get(Estate, order.estate_id)
    assert estate is not None and order.trade is not None
    return {
        "reference": order.reference,
        "estate_name": estate.name,
        "unit_label": unit_label(session, order.unit_id),
        "trade": order.trade.value,
        "urgency": order.urgency.value,
        "description": order.description,
        "due_at": iso(order.on_site_due_at),
        "action_url": f"{core.settings.base_url.rstrip('/')}/staff/work-orders/{order.reference}",
    }


def job_task(core: App, session: Session, order: WorkOrder, technician: Staff, *, assigned_by: str) -> None:
    """The job to the technician it is dispatched to: what, where, by when, the resident's contact,
    and a signed link to record the arrival and the completion (派工); ``reopened`` when the job was
    reopened after an unsatisfied revisit (R-RV-11), read from its history."""
    reopened = session.scalar(
        select(
            exists().where(WorkOrderEvent.work_order_id == order.id, WorkOrderEvent.action == WorkOrderAction.REOPEN)
        )
    )
    context = {
        **_job_facts(core, session, order),
        "preferred_at": iso(order.preferred_at),
        "assigned_by": assigned_by,
        "reopened": bool(reopened),
        **_job_contact(order),
    }
    key = f"job_task:{order.reference}:{technician.id}:{iso(order.dispatched_at)}"
    to_staff(session, technician, "job_task", context, key, None, core)


def job_revisit_task(core: App, session: Session, order: WorkOrder, revisit: Revisit, visitor: Staff) -> None:
    """A finished job's own revisit (R-RV-4, R-RV-5) to the visitor, with the resident's contact."""
    context = {
        "subject_ref": order.reference,
        "kind": revisit.kind.value,
        "method": revisit.method.value,
        "sequence": revisit.sequence,
        "unit_label": unit_label(session, order.unit_id),
        "due_at": iso(revisit.due_at),
        "summary": order.work_done or order.description,
        "action_url": f"{core.settings.base_url.rstrip('/')}/staff/revisits/{revisit.id}",
        **_job_contact(order),
    }
    to_staff(session, visitor, "revisit_task", context, f"revisit_task:{revisit.id}", None, core)


def job_overdue(core: App, session: Session, order: WorkOrder, person: Staff) -> None:
    """Nobody is on site by the job's deadline: the job to its department head (or the service
    centre manager), with who has it and a signed link to the job's page, where it is reassigned."""
    technician = session.get(Staff, order.handler_id) if order.handler_id is not None else None
    context = {**_job_facts(core, session, order), "technician_name": technician.name if technician else ""}
    key = f"job_overdue:{order.reference}:{iso(order.on_site_due_at)}"
    to_staff(session, person, "job_overdue", context, key, None, core)
