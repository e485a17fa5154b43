"""``POST /api/complaints``: public intake, with an optional Idempotency-Key and rate limits
for the public (without a staff token); staff register any channel."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import Response
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from estatecare.api import views
from estatecare.api.context import ApiContext
from estatecare.api.errors import TooMany
from estatecare.rate_limits import IntakeLimits
from estatecare.services import idempotency, steps
from estatecare.services.errors import Forbidden
from estatecare.services.people import Actor
from estatecare.services.schemas import ComplaintIn
from models.enums import Channel, ComplaintStatus

_DETAIL = {"application/json": {"schema": {"type": "object", "properties": {"detail": {"type": "string"}}}}}
INTAKE_RESPONSES: dict[int | str, dict[str, Any]] = {
    403: {
        "description": "Without a staff token only the online channel is accepted (and no reply-only complaint): "
        "other channels are registered by staff",
        "content": _DETAIL,
    },
    422: {
        "description": "A field is not valid, or the Idempotency-Key was sent before with another body "
        '(`loc` ["header", "Idempotency-Key"])',
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/HTTPValidationError"}}},
    },
    429: {
        "description": "Too many complaints without a staff token just now, from this address or from all "
        "together; send again after Retry-After seconds",
        "headers": {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}},
        "content": _DETAIL,
    },
}


def router(ctx: ApiContext, limits: IntakeLimits) -> APIRouter:
    """The intake route; ``limits`` count the public's complaints."""
    api = APIRouter()
    core, now = ctx.core, ctx.now

    @api.post(
        "/api/complaints",
        status_code=201,
        response_model=views.Accepted,
        tags=["complaints"],
        responses=INTAKE_RESPONSES,
    )
    async def submit_complaint(
        request: Request,
        data: ComplaintIn,
        receiver: Annotated[Actor | None, Depends(ctx.optional_staff)],
        idempotency_key: Annotated[
            str | None,
            Header(
                alias="Idempotency-Key",
                min_length=1,
                max_length=100,
                pattern=r"^[!-~]+$",
                description="A key of your choosing (e.g. a UUID) to retry safely: sent again with the same "
                "body within a day, it gets the first answer (header Idempotent-Replayed: true) and no "
                "second complaint; with another body, 422.",
            ),
        ] = None,
    ) -> Response:
        """Register a complaint and answer at once with its reference (R-IN-2). Without a staff token
        (the public) only the online channel; staff registering a call, a letter, ... set the channel."""
        if receiver is None and (data.channel is not Channel.ONLINE or data.reply_only):
            raise Forbidden(
                "without a staff token only the online channel is accepted (no reply-only complaint): "
                f"a complaint by {data.channel.value} is registered by staff"
            )
        address = request.client.host if request.client else "unknown"
        key = f"api:{receiver.id if receiver else 'public'}:{idempotency_key}" if idempotency_key else None
        digest = idempotency.request_hash(data.model_dump(mode="json"))

        def tx(session: Session) -> tuple[idempotency.Kept, steps.Intake | None]:
            if key is not None and (kept := idempotency.replay(session, key, digest)) is not None:
                return kept, None
            if receiver is None and (refusal := limits.admit(address)) is not None:
                raise TooMany(refusal)
            taken = steps.intake(core, session, data, receiver, now())
            complaint = taken.complaint
            answer = views.Accepted(
                reference=complaint.reference,
                status=ComplaintStatus(complaint.status),
                status_url=f"{core.settings.base_url.rstrip('/')}/status/{complaint.reference}",
            )
            first = idempotency.Kept(201, answer.model_dump_json())
            if key is not None:
                idempotency.keep(session, key, digest, first, now())
            return first, taken

        try:
            answer, taken = await ctx.run(tx)
        except IntegrityError:
            kept = await ctx.run(lambda s: idempotency.replay(s, key, digest)) if key is not None else None
            if kept is None:
                raise
            answer, taken = kept, None  # the same key sent twice at once: the first one stands
        if taken is not None:
            ctx.follow([taken.follow_up])
        replayed = {"Idempotent-Replayed": "true"} if taken is None else {}
        return Response(answer.body, status_code=answer.status_code, media_type="application/json", headers=replayed)

    return api
