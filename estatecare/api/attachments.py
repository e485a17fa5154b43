"""Complaint attachments over the API: upload (raw body) and list.

The file goes to the attachment store first, then its row is written; if the store is
full the answer is 507 naming the problem and the complaint is untouched, and if the
database write fails the stored file is removed again (nothing half-written).
"""

import asyncio
import tempfile
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from estatecare.api.context import ApiContext
from estatecare.attachments import AttachmentStore, StorageFull, TooLarge
from estatecare.services.people import Actor
from estatecare.services.records import complaint_for, get_complaint
from estatecare.uploads import pixel_problem
from models import ComplaintAttachment
from models.permissions import Step

#: How much of an arriving request body is kept in memory before the rest goes to a temporary file.
SPOOL_IN_MEMORY = 1024 * 1024


class AttachmentOut(BaseModel):
    """A stored attachment."""

    id: int
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_at: datetime


async def spooled_body(request: Request) -> bytes:
    """The request body, kept on disk past 1 MB while it arrives: a body refused half-way (too large,
    the client gone) never held the process's memory, only one that is accepted is read back."""
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY) as spool:
        async for chunk in request.stream():
            spool.write(chunk)
        spool.seek(0)
        return spool.read()


def _out(row: ComplaintAttachment) -> AttachmentOut:
    return AttachmentOut(
        id=row.id,
        filename=row.filename,
        content_type=row.content_type,
        size=row.size,
        sha256=row.sha256,
        uploaded_at=row.uploaded_at,
    )


def router(ctx: ApiContext) -> APIRouter:
    """Routes for ``/api/complaints/{reference}/attachments``."""
    core, now = ctx.core, ctx.now
    store = AttachmentStore.from_settings(core.settings)
    api = APIRouter(tags=["attachments"])
    staff = Annotated[Actor, Depends(ctx.current_staff)]

    @api.post(
        "/api/complaints/{reference}/attachments",
        status_code=201,
        response_model=AttachmentOut,
        responses={413: {"description": "file too large"}, 507: {"description": "attachment storage full"}},
    )
    async def upload(
        reference: str,
        request: Request,
        actor: staff,
        filename: Annotated[str, Query(min_length=1, max_length=200)],
        content_type: Annotated[str, Header()] = "application/octet-stream",
    ) -> Any:
        """Attach a file (the request body) to a complaint; ``filename`` names it. Those handling the
        case may (``Step.ATTACHMENTS``); another estate's reference is answered like an unknown one."""

        def check(session: Session) -> None:
            complaint_for(session, reference, actor, Step.ATTACHMENTS)

        await ctx.run(check)
        data = await spooled_body(request)
        if not data:
            return _error(422, "the request body (the file) is empty", field="body")
        if (too_many := pixel_problem(data, core.settings.upload_max_pixels)) is not None:
            return _error(422, too_many, field="body")  # an image that would take gigabytes once decoded
        try:
            stored = await asyncio.to_thread(store.save, data, filename, now=now())
        except TooLarge as exc:
            return _error(413, str(exc))
        except StorageFull as exc:
            return _error(
                507,
                f"{exc.strerror}: the file was not stored; complaint {reference} is kept as it was. "
                "Try again later, or ask operations to free space.",
            )

        def record(session: Session) -> AttachmentOut:
            complaint = get_complaint(session, reference)
            row = ComplaintAttachment(
                complaint_id=complaint.id,
                filename=filename,
                content_type=content_type[:120],
                size=stored.size,
                sha256=stored.sha256,
                stored_name=stored.stored_name,
                uploaded_by_id=actor.id,
                uploaded_at=now(),
            )
            session.add(row)
            session.flush()
            return _out(row)

        try:
            return await ctx.run(record)
        except BaseException:
            store.delete(stored.stored_name)
            raise

    @api.get("/api/complaints/{reference}/attachments", response_model=list[AttachmentOut])
    async def listing(reference: str, actor: staff) -> list[AttachmentOut]:
        """The complaint's attachments, oldest first (for those handling the case: ``Step.ATTACHMENTS``)."""

        def load(session: Session) -> list[AttachmentOut]:
            complaint = complaint_for(session, reference, actor, Step.ATTACHMENTS)
            rows = session.scalars(
                select(ComplaintAttachment)
                .where(ComplaintAttachment.complaint_id == complaint.id)
                .order_by(ComplaintAttachment.id)
            )
            return [_out(r) for r in rows]

        return await ctx.run(load)

    return api


def _error(status: int, message: str, field: str | None = None) -> JSONResponse:
    if field is not None:
        return JSONResponse({"detail": [{"loc": [field], "msg": message, "type": "value_error"}]}, status_code=status)
    return JSONResponse({"detail": message}, status_code=status)
