"""The notification outbox: rows written in the transaction that caused them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, utcnow
from models.enums import Locale, NotificationStatus


class Notification(Base):
    """An email to send. ``idempotency_key`` stops the same message being queued twice."""

    __tablename__ = "notification"
    __table_args__ = (Index("ix_notification_pending", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    template: Mapped[str] = mapped_column(String(60))
    locale: Mapped[Locale] = mapped_column()
    recipient_email: Mapped[str] = mapped_column(String(320))
    recipient_name: Mapped[str] = mapped_column(String(200), default="")
    recipient_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaint.id"), index=True)
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[NotificationStatus] = mapped_column(default=NotificationStatus.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()
    lease_until: Mapped[datetime | None] = mapped_column()  # a claimed row goes back to the pool after this

    attachments: Mapped[list[NotificationAttachment]] = relationship(
        back_populates="notification", order_by="NotificationAttachment.id", cascade="all, delete-orphan"
    )


class NotificationAttachment(Base):
    """A file sent with a notification (e.g. the monthly statistics form as .xlsx)."""

    __tablename__ = "notification_attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notification.id"), index=True)
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(120))
    data: Mapped[bytes] = mapped_column(LargeBinary)

    notification: Mapped[Notification] = relationship(back_populates="attachments")
