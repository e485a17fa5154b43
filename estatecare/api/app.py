"""The REST API (FastAPI; OpenAPI at /docs). Intake is public; every staff step needs a token.

Each step runs in one database transaction (state change, history record, queued emails),
answers, and then dispatches the flow that continues the lifecycle.
"""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm import Session
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from estatecare.api import reports, views
from estatecare.api.attachments import router as attachments_router
from estatecare.api.health import router as health_router
from estatecare.api.limits import BodyLimitMiddleware, BodyLimits
from estatecare.api.responses import allow_all_methods, declare_errors
from estatecare.app import App
from estatecare.dispatch import Dispatcher
from estatecare.rate_limits import IntakeLimits, Refusal
from estatecare.reads import complaints
from estatecare.reads import revisits as revisit_reads
from estatecare.services import idempotency, revisits, steps, tokens, work_orders
from estatecare.services.errors import ConflictError, Forbidden, InvalidInput, NotFound, WrongState
from estatecare.services.monthly_report import MonthlyReport
from estatecare.services.people import Actor
from estatecare.services.schemas import (
    MAX_OFFSET,
    MONTH_PATTERN,
    AssessmentIn,
    AssignmentIn,
    CloseIn,
    ComplaintIn,
    ConfirmationIn,
    DecisionIn,
    EscalationIn,
    OpenLetterIn,
    ProgressIn,
    ResolutionIn,
    ReviewIn,
    RevisitIn,
    RevisitRecordIn,
    RowIdInPath,
    When,
    WorkOrderIn,
)
from models.enums import Channel, ComplaintStatus
from models.lifecycle import IllegalTransition

T = TypeVar("T")


class Unauthorized(Exception):
    """No valid staff token."""


class TooMany(Exception):
    """Public intake refused by a rate limit."""

    def __init__(self, refusal: Refusal) -> None:
        self.refusal = refusal
        super().__init__(refusal.limit)


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


def create_api(
    core: App,
    dispatcher: Dispatcher | None = None,
    *,
    clock: Callable[[], datetime] | None = None,
    intake_limits: IntakeLimits | None = None,
) -> FastAPI:
    """The REST API over ``core``; ``dispatcher`` continues steps in Prefect flows."""
    now = clock or (lambda: datetime.now(UTC))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if dispatcher is not None:
            dispatcher.start()
        yield
        if dispatcher is not None:
            await dispatcher.stop()

    api = FastAPI(
        title="Estate Care",
        description="Complaint handling and revisits (投訴處理 / 回訪) for property management.",
        version="0.1.0",
        lifespan=lifespan,
    )
    api.state.core = core
    api.add_middleware(BodyLimitMiddleware, limits=BodyLimits.from_settings(core.settings))
    if core.settings.trusted_proxies.strip():
        # the client address (rate limits) from X-Forwarded-For, only when a listed proxy sent it
        api.add_middleware(ProxyHeadersMiddleware, trusted_hosts=core.settings.trusted_proxies)
    intake_limits = intake_limits or IntakeLimits(core.settings.public_form_rate, core.settings.public_total_rate)

    async def run(work: Callable[[Session], T]) -> T:
        return await core.run(work)

    async def current_staff(authorization: Annotated[str | None, Header()] = None) -> Actor:
        try:
            token = tokens.bearer_token(authorization)
            return await run(lambda s: tokens.authenticate(s, token, now()))
        except tokens.TokenRefused as exc:  # missing, unknown, expired (issue 7)
            raise Unauthorized(str(exc)) from exc

    async def optional_staff(authorization: Annotated[str | None, Header()] = None) -> Actor | None:
        return await current_staff(authorization) if authorization else None

    StaffDep = Annotated[Actor, Depends(current_staff)]  # noqa: N806

    # ------------------------------------------------------------------ errors

    @api.exception_handler(Unauthorized)
    async def _unauthorized(_: Request, exc: Unauthorized) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=401, headers={"WWW-Authenticate": "Bearer"})

    @api.exception_handler(InvalidInput)
    async def _invalid(_: Request, exc: InvalidInput) -> JSONResponse:
        message = str(exc).split(": ", 1)[-1]
        return JSONResponse(
            {"detail": [{"loc": ["body", exc.field], "msg": message, "type": "value_error"}]}, status_code=422
        )

    @api.exception_handler(IllegalTransition)
    async def _illegal(_: Request, exc: IllegalTransition) -> JSONResponse:
        return JSONResponse({"detail": str(exc), "state": exc.current.value}, status_code=409)

    @api.exception_handler(ConflictError)
    async def _conflict(_: Request, exc: ConflictError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=409)

    @api.exception_handler(WrongState)
    async def _wrong_state(_: Request, exc: WrongState) -> JSONResponse:
        return JSONResponse({"detail": str(exc), "state": exc.state}, status_code=409)

    @api.exception_handler(NotFound)
    async def _not_found(_: Request, exc: NotFound) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=404)

    @api.exception_handler(OperationalError)
    @api.exception_handler(InterfaceError)
    async def _database_unavailable(_: Request, exc: DBAPIError) -> JSONResponse:
        # The transaction rolled back (e.g. the connection was dropped): answer 503 so the
        # caller retries; the pool replaces the broken connection for the next request.
        return JSONResponse(
            {"detail": "the database is unavailable right now; the request was not carried out, try again"},
            status_code=503,
            headers={"Retry-After": "2"},
        )

    @api.exception_handler(Forbidden)
    async def _forbidden(_: Request, exc: Forbidden) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=403)

    @api.exception_handler(TooMany)
    async def _too_many(_: Request, exc: TooMany) -> JSONResponse:
        whose = "from this address" if exc.refusal.limit == "address" else "from everyone together"
        return JSONResponse(
            {"detail": f"too many complaints {whose} just now; try again in {exc.refusal.retry_after} s"},
            status_code=429,
            headers={"Retry-After": str(exc.refusal.retry_after)},
        )

    @api.exception_handler(idempotency.KeyReused)
    async def _key_reused(_: Request, exc: idempotency.KeyReused) -> JSONResponse:
        problem = {
            "loc": ["header", "Idempotency-Key"],
            "msg": "this key was sent before with another request body; use a new key for a new request",
            "type": "value_error",
        }
        return JSONResponse({"detail": [problem]}, status_code=422)

    # ------------------------------------------------------------------ intake (public)

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
        receiver: Annotated[Actor | None, Depends(optional_staff)],
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
            if receiver is None and (refusal := intake_limits.admit(address)) is not None:
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
            answer, taken = await run(tx)
        except IntegrityError:
            kept = await run(lambda s: idempotency.replay(s, key, digest)) if key is not None else None
            if kept is None:
                raise
            answer, taken = kept, None  # the same key sent twice at once: the first one stands
        if taken is not None and dispatcher is not None:
            dispatcher.follow([taken.follow_up])
        replayed = {"Idempotent-Replayed": "true"} if taken is None else {}
        return Response(answer.body, status_code=answer.status_code, media_type="application/json", headers=replayed)

    # ------------------------------------------------------------------ reading

    @api.get("/api/complaints", response_model=complaints.ComplaintPage, tags=["complaints"])
    async def list_complaints(
        actor: StaffDep,
        status: ComplaintStatus | None = None,
        estate: str | None = None,
        assignee: Annotated[str | None, Query(description="assignee email, or 'me'")] = None,
        overdue: bool | None = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    ) -> complaints.ComplaintPage:
        """The register: filter by status, estate, assignee, overdue (staff see their estate only)."""
        return await run(
            lambda s: complaints.complaint_page(s, actor, status, estate, assignee, overdue, limit, offset, now())
        )

    @api.get("/api/complaints/{reference}", response_model=complaints.ComplaintDetail, tags=["complaints"])
    async def get_complaint(reference: str, actor: StaffDep) -> complaints.ComplaintDetail:
        """State, deadlines, assignee, escalation level, duplicates and the full history."""
        return await run(lambda s: complaints.complaint_detail(s, actor, reference, now()))

    # ------------------------------------------------------------------ steps (the step table)

    async def take(name: str, target: str | int, data: BaseModel, actor: Actor) -> steps.StepDone:
        done = await steps.run_step(core, name, target, data, actor, now())
        if dispatcher is not None:
            dispatcher.follow(done.follow_ups)
        return done

    async def step(reference: str, name: str, data: BaseModel, actor: Actor) -> views.StepResult:
        done = await take(name, reference, data, actor)
        return views.StepResult(
            reference=reference,
            status=ComplaintStatus(done.status or ComplaintStatus.RECEIVED),
            version=done.version or 0,
            escalation_level=done.escalation_level or 0,
        )

    @api.post("/api/complaints/{reference}/assessment", response_model=views.StepResult, tags=["steps"])
    async def post_assessment(reference: str, data: AssessmentIn, actor: StaffDep) -> views.StepResult:
        """Valid (category, severity, urgency) or invalid with the explanation (R-AS-1..3)."""
        return await step(reference, "assess", data, actor)

    @api.post("/api/complaints/{reference}/assignment", response_model=views.StepResult, tags=["steps"])
    async def post_assignment(reference: str, data: AssignmentIn, actor: StaffDep) -> views.StepResult:
        """Assign or reassign: department, person, deadline (R-HD-2)."""
        return await step(reference, "assign", data, actor)

    @api.post("/api/complaints/{reference}/escalation", response_model=views.StepResult, tags=["steps"])
    async def post_escalation(reference: str, data: EscalationIn, actor: StaffDep) -> views.StepResult:
        """A transfer sheet: the handler cannot settle it, the superior decides (R-HD-3)."""
        return await step(reference, "transfer", data, actor)

    @api.post("/api/complaints/{reference}/escalation/decision", response_model=views.StepResult, tags=["steps"])
    async def post_decision(reference: str, data: DecisionIn, actor: StaffDep) -> views.StepResult:
        """The superior's decision: department, person, deadline -> work arrangement notice (R-HD-3)."""
        return await step(reference, "decide", data, actor)

    @api.post("/api/complaints/{reference}/progress", response_model=views.StepResult, tags=["steps"])
    async def post_progress(reference: str, data: ProgressIn, actor: StaffDep) -> views.StepResult:
        """A progress update to the complainant, with the next reply date (R-HD-5)."""
        return await step(reference, "progress", data, actor)

    @api.post("/api/complaints/{reference}/resolution", response_model=views.StepResult, tags=["steps"])
    async def post_resolution(reference: str, data: ResolutionIn, actor: StaffDep) -> views.StepResult:
        """The handler's result; the department head is asked to confirm (R-HD-6)."""
        return await step(reference, "resolve", data, actor)

    @api.post("/api/complaints/{reference}/resolution/confirmation", response_model=views.StepResult, tags=["steps"])
    async def post_confirmation(reference: str, data: ConfirmationIn, actor: StaffDep) -> views.StepResult:
        """The department head confirms (reply, revisit due) or returns the result (R-HD-6, R-RV-3)."""
        return await step(reference, "confirm", data, actor)

    @api.post("/api/complaints/{reference}/revisits", response_model=views.StepResult, tags=["steps"])
    async def post_revisit(reference: str, data: RevisitIn, actor: StaffDep) -> views.StepResult:
        """Record a revisit: method, answers, satisfaction, signature or refusal note (R-RV-7..11)."""
        return await step(reference, "revisit", data, actor)

    @api.post("/api/complaints/{reference}/close", response_model=views.StepResult, tags=["steps"])
    async def post_close(reference: str, data: CloseIn, actor: StaffDep) -> views.StepResult:
        """Close when R-RV-14 holds."""
        return await step(reference, "close", data, actor)

    @api.post("/api/work-orders", status_code=201, response_model=work_orders.WorkOrderOut, tags=["work orders"])
    async def post_work_order(data: WorkOrderIn, actor: StaffDep) -> work_orders.WorkOrderOut:
        """Register a job done for a resident; urgent, major and renovation jobs get their own revisit
        (R-RV-4, R-RV-5); general repair and cleaning join the monthly draw (R-RV-6)."""
        return await run(lambda s: work_orders.create_work_order(core, s, data, actor, now()))

    @api.get("/api/revisits", response_model=revisit_reads.RevisitPage, tags=["revisits"])
    async def list_revisits(
        actor: StaffDep,
        estate: Annotated[str | None, Query(description="an estate's code; default: yours (leaders: all)")] = None,
        due_before: Annotated[
            When | None, Query(description="due before this date or time (no offset: the policy's timezone)")
        ] = None,
        done: Annotated[bool | None, Query(description="false: the to-do list; true: the records")] = False,
        reviewed: Annotated[
            bool | None, Query(description="with done=true, false: the records awaiting the supervisor's review")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
    ) -> revisit_reads.RevisitPage:
        """The service centre's revisits, soonest due first: sampled orders (R-RV-6), major jobs and
        renovations (R-RV-4, R-RV-5), complaints (R-RV-3). Staff of an estate see their own."""
        return await run(
            lambda s: revisit_reads.revisit_page(
                core, s, actor, estate, due_before, done, limit, offset, now(), reviewed
            )
        )

    # before /api/revisits/{revisit_id}, which would take "open-letter" for an id (and answer 422)
    @api.post("/api/revisits/open-letter", response_model=list[revisit_reads.RevisitItem], tags=["revisits"])
    async def post_open_letter(data: OpenLetterIn, actor: StaffDep) -> list[revisit_reads.RevisitItem]:
        """Answer several due revisits about one shared problem with one open letter, filed with each
        (R-RV-12): all are recorded done by letter with its reference, or none. No satisfaction is
        recorded; complaint revisits (R-RV-14) and first revisits planned on site are refused."""
        return (await take("open-letter", 0, data, actor)).answer  # type: ignore[no-any-return]

    @api.post("/api/revisits/{revisit_id}", response_model=revisits.RecordedRevisit, tags=["revisits"])
    async def post_order_revisit(
        revisit_id: RowIdInPath, data: RevisitRecordIn, actor: StaffDep
    ) -> revisits.RecordedRevisit:
        """Record a work order's revisit: method, answers, satisfaction, signature or refusal note
        (R-RV-7, R-RV-8); unsatisfied sets the next revisit (R-RV-11); a new issue becomes a
        complaint (R-RV-10). A complaint's revisit is recorded on the complaint (409 here)."""
        return (await take("order-revisit", revisit_id, data, actor)).answer  # type: ignore[no-any-return]

    @api.post("/api/revisits/{revisit_id}/review", response_model=revisit_reads.RevisitItem, tags=["revisits"])
    async def post_revisit_review(
        revisit_id: RowIdInPath, data: ReviewIn, actor: StaffDep
    ) -> revisit_reads.RevisitItem:
        """A supervisor of the revisit's estate (or a leader) reviews a done revisit record, a complaint's
        or a work order's, and signs an opinion (R-RV-9); not the person who recorded it. Once only."""
        return (await take("review", revisit_id, data, actor)).answer  # type: ignore[no-any-return]

    @api.get("/api/reports/monthly", response_model=MonthlyReport, tags=["reports"])
    async def get_monthly_report(
        actor: StaffDep,
        month: Annotated[
            str,
            Query(description="The month, YYYY-MM (2000-01 to 2100-12)", examples=["2026-11"], pattern=MONTH_PATTERN),
        ],
        estate: Annotated[str | None, Query(description="An estate's code; default: all (leaders)")] = None,
    ) -> MonthlyReport:
        """The month's statistics against the targets (R-KP-1, R-KP-2); staff of an estate see their own."""
        return await run(lambda s: reports.monthly_view(core, s, actor, month, estate, now()))

    api.include_router(declare_errors(attachments_router(core, current_staff, now), current_staff))
    api.include_router(declare_errors(health_router(core), current_staff))

    @api.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, Any]:
        return {"ok": True}

    declare_errors(api, current_staff)
    allow_all_methods(api)
    return api
