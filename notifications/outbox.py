"""Queueing notifications in the caller's transaction (the transactional outbox)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Notification, NotificationAttachment
from models.enums import Locale
from notifications.catalogue import CATALOGUE, CONTACT_KEYS


def queue(
    session: Session,
    *,
    template: str,
    to_email: str,
    to_name: str = "",
    locale: Locale | str = Locale.ZH_HANT,
    context: dict[str, Any],
    key: str,
    complaint_id: int | None = None,
    staff_id: int | None = None,
    attachments: Sequence[tuple[str, str, bytes]] = (),
) -> Notification:
    """Add a notification to the outbox in ``session``'s transaction.

    ``key`` is the idempotency key: queueing the same key again returns the first row
    and sends nothing more. Contact details are refused for messages that must not show
    them (R-IN-6). ``attachments`` are (filename, content type, bytes).
    """
    _check(template, context)
    existing = session.scalar(select(Notification).where(Notification.idempotency_key == key))
    if existing is not None:
        return existing
    return _row(session, template, to_email, to_name, locale, context, key, complaint_id, staff_id, attachments)


def _check(template: str, context: dict[str, Any]) -> None:
    spec = CATALOGUE.get(template)
    if spec is None:
        raise ValueError(f"unknown message template {template!r}")
    missing = spec.required - context.keys()
    if missing:
        raise ValueError(f"message {template!r} needs context keys {sorted(missing)}")
    if not spec.shows_contact and CONTACT_KEYS & context.keys():
        raise ValueError(f"message {template!r} must not carry the complainant's contact (R-IN-6)")


def _row(
    session: Session,
    template: str,
    to_email: str,
    to_name: str,
    locale: Locale | str,
    context: dict[str, Any],
    key: str,
    complaint_id: int | None,
    staff_id: int | None,
    attachments: Sequence[tuple[str, str, bytes]],
) -> Notification:
    row = Notification(
        idempotency_key=key,
        message_id=f"<{uuid.uuid4().hex}@estatecare>",
        template=template,
        locale=Locale(locale),
        recipient_email=to_email,
        recipient_name=to_name,
        recipient_staff_id=staff_id,
        complaint_id=complaint_id,
        context=context,
        attachments=[NotificationAttachment(filename=f, content_type=t, data=d) for f, t, d in attachments],
    )
    session.add(row)
    return row


def queue_many(session: Session, messages: Sequence[dict[str, Any]]) -> list[Notification]:
    """:func:`queue` for many messages at once (each a dict of its keyword arguments), with one
    query for the idempotency keys already queued: those are returned as they are."""
    for m in messages:
        _check(m["template"], m["context"])
    keys = [m["key"] for m in messages]
    existing = {
        n.idempotency_key: n
        for n in session.scalars(select(Notification).where(Notification.idempotency_key.in_(keys)))
    }
    out: list[Notification] = []
    for m in messages:
        found = existing.get(m["key"])
        if found is None:
            found = existing[m["key"]] = _row(
                session,
                m["template"],
                m["to_email"],
                m.get("to_name", ""),
                m.get("locale", Locale.ZH_HANT),
                m["context"],
                m["key"],
                m.get("complaint_id"),
                m.get("staff_id"),
                m.get("attachments", ()),
            )
        out.append(found)
    return out
