"""Records kept by the web app: used email links, views of contact data and answers kept for
retried requests (photos are attachments)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, utcnow


class UsedLink(Base):
    """An email action link that has been used: each link works for one step only."""

    __tablename__ = "used_link"

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"))
    path: Mapped[str] = mapped_column(String(300))
    used_at: Mapped[datetime] = mapped_column(default=utcnow)


class ContactView(Base):
    """Someone was shown a complainant's contact data (R-IN-6): who, when, where."""

    __tablename__ = "contact_view"
    __table_args__ = (Index("ix_contact_view_complaint_at", "complaint_id", "viewed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id"))
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    viewed_at: Mapped[datetime] = mapped_column(default=utcnow)
    page: Mapped[str] = mapped_column(String(60))


class IdempotentRequest(Base):
    """The first answer to a request sent with an ``Idempotency-Key`` (or a form's one-time
    token): a retry with the same key gets this answer instead of doing the work again."""

    __tablename__ = "idempotent_request"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)  # scope + ":" + the client's key
    request_hash: Mapped[str] = mapped_column(String(64))  # the same key with another body is refused
    status_code: Mapped[int] = mapped_column()
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
