"""The complaint steps (``POST /api/complaints/REF/...``), each one row of the step table."""

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import BaseModel

from estatecare.api import views
from estatecare.api.context import ApiContext
from estatecare.services.people import Actor
from estatecare.services.schemas import (
    AssessmentIn,
    AssignmentIn,
    CloseIn,
    ConfirmationIn,
    DecisionIn,
    EscalationIn,
    LinkIn,
    ProgressIn,
    ResolutionIn,
    RevisitIn,
    UnlinkIn,
)
from models.enums import ComplaintStatus


def router(ctx: ApiContext) -> APIRouter:
    """The step routes; each answers the complaint's state after the step."""
    api = APIRouter(tags=["steps"])
    staff = Annotated[Actor, Depends(ctx.current_staff)]

    async def step(reference: str, name: str, data: BaseModel, actor: Actor) -> views.StepResult:
        done = await ctx.take(name, reference, data, actor)
        return views.StepResult(
            reference=reference,
            status=ComplaintStatus(done.status or ComplaintStatus.RECEIVED),
            version=done.version or 0,
            escalation_level=done.escalation_level or 0,
        )

    @api.post("/api/complaints/{reference}/assessment", response_model=views.StepResult)
    async def post_assessment(reference: str, data: AssessmentIn, actor: staff) -> views.StepResult:
        """Valid (category, severity, urgency) or invalid with the explanation (R-AS-1..3)."""
        return await step(reference, "assess", data, actor)

    @api.post("/api/complaints/{reference}/duplicate-of", response_model=views.StepResult)
    async def post_link(reference: str, data: LinkIn, actor: staff) -> views.StepResult:
        """Link a later report to the first report of the same problem, by hand (R-IN-5)."""
        return await step(reference, "link", data, actor)

    @api.post("/api/complaints/{reference}/duplicate-of/removal", response_model=views.StepResult)
    async def post_unlink(reference: str, data: UnlinkIn, actor: staff) -> views.StepResult:
        """Undo a wrong link: the report is handled as a problem of its own (R-IN-5)."""
        return await step(reference, "unlink", data, actor)

    @api.post("/api/complaints/{reference}/assignment", response_model=views.StepResult)
    async def post_assignment(reference: str, data: AssignmentIn, actor: staff) -> views.StepResult:
        """Assign or reassign: department, person, deadline (R-HD-2)."""
        return await step(reference, "assign", data, actor)

    @api.post("/api/complaints/{reference}/escalation", response_model=views.StepResult)
    async def post_escalation(reference: str, data: EscalationIn, actor: staff) -> views.StepResult:
        """A transfer sheet: the handler cannot settle it, the superior decides (R-HD-3)."""
        return await step(reference, "transfer", data, actor)

    @api.post("/api/complaints/{reference}/escalation/decision", response_model=views.StepResult)
    async def post_decision(reference: str, data: DecisionIn, actor: staff) -> views.StepResult:
        """The superior's decision: department, person, deadline -> work arrangement notice (R-HD-3)."""
        return await step(reference, "decide", data, actor)

    @api.post("/api/complaints/{reference}/progress", response_model=views.StepResult)
    async def post_progress(reference: str, data: ProgressIn, actor: staff) -> views.StepResult:
        """A progress update to the complainant, with the next reply date (R-HD-5)."""
        return await step(reference, "progress", data, actor)

    @api.post("/api/complaints/{reference}/resolution", response_model=views.StepResult)
    async def post_resolution(reference: str, data: ResolutionIn, actor: staff) -> views.StepResult:
        """The handler's result; the department head is asked to confirm (R-HD-6)."""
        return await step(reference, "resolve", data, actor)

    @api.post("/api/complaints/{reference}/resolution/confirmation", response_model=views.StepResult)
    async def post_confirmation(reference: str, data: ConfirmationIn, actor: staff) -> views.StepResult:
        """The department head confirms (reply, revisit due) or returns the result (R-HD-6, R-RV-3)."""
        return await step(reference, "confirm", data, actor)

    @api.post("/api/complaints/{reference}/revisits", response_model=views.StepResult)
    async def post_revisit(reference: str, data: RevisitIn, actor: staff) -> views.StepResult:
        """Record a revisit: method, answers, satisfaction, signature or refusal note (R-RV-7..11)."""
        return await step(reference, "revisit", data, actor)

    @api.post("/api/complaints/{reference}/close", response_model=views.StepResult)
    async def post_close(reference: str, data: CloseIn, actor: staff) -> views.StepResult:
        """Close when R-RV-14 holds."""
        return await step(reference, "close", data, actor)

    return api
