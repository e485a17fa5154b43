"""The monthly draw of general repair and cleaning work orders (R-RV-6).

One draw per estate and month (unique in the database): running it again returns the
recorded draw. The population is marked in one ``UPDATE ... RETURNING`` (every order
gets the draw's id), so an order is in exactly one draw: orders completed after the
cutoff, or registered after the draw, have no draw yet and join the next one.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from estatecare.app import App
from estatecare.services.errors import NotFound
from estatecare.services.jobs import job_revisit
from estatecare.services.messages import iso, to_staff, unit_label
from estatecare.services.people import staff_with_role
from models import Estate, Revisit, SampleItem, SamplingDraw, WorkOrder
from models.enums import RevisitKind, RevisitMethod, Role, WorkOrderKind
from models.sampling import (
    SampleSize,
    draw_cutoff,
    month_key,
    pick,
    previous_month,
    revisits_due,
    sample_size,
)
from notifications.outbox import queue

JOB_REVISIT_KINDS = (WorkOrderKind.URGENT_REPAIR, WorkOrderKind.MAJOR_REPAIR, WorkOrderKind.RENOVATION)


@dataclass
class DrawItem:
    """One sampled order."""

    work_order_id: int
    work_order_ref: str
    unit_label: str
    kind: str
    completed_at: datetime | None
    method: RevisitMethod
    revisit_id: int | None = None


@dataclass
class DrawResult:
    """A month's draw for one estate; ``created`` is False when it was drawn before."""

    draw_id: int
    estate_code: str
    estate_name: str
    month: str
    rule: str
    seed: int
    cutoff_at: datetime
    population: int
    size: int
    on_site: int
    revisits_due_at: datetime
    created: bool
    items: list[DrawItem] = field(default_factory=list)


def estates(session: Session, code: str | None = None) -> list[Estate]:
    """Every estate, or the one with ``code`` (NotFound names the code)."""
    q = select(Estate).order_by(Estate.code)
    if code is not None:
        q = q.where(Estate.code == code)
    found = list(session.scalars(q))
    if code is not None and not found:
        raise NotFound(f"no estate with code {code!r}")
    return found


def _result(session: Session, draw: SamplingDraw, estate: Estate, created: bool) -> DrawResult:
    rows = session.execute(
        select(SampleItem, WorkOrder, Revisit.id)
        .join(WorkOrder, WorkOrder.id == SampleItem.work_order_id)
        .outerjoin(Revisit, Revisit.sample_item_id == SampleItem.id)
        .where(SampleItem.draw_id == draw.id)
        .order_by(SampleItem.position)
    ).all()
    items = [
        DrawItem(
            work_order_id=order.id,
            work_order_ref=order.reference,
            unit_label=unit_label(session, order.unit_id),
            kind=order.kind.value,
            completed_at=order.completed_at,
            method=item.method,
            revisit_id=revisit_id,
        )
        for item, order, revisit_id in rows
    ]
    return DrawResult(
        draw_id=draw.id,
        estate_code=estate.code,
        estate_name=estate.name,
        month=draw.month,
        rule=draw.rule,
        seed=draw.seed,
        cutoff_at=draw.cutoff_at,
        population=draw.population_count,
        size=draw.sample_size,
        on_site=draw.on_site_count,
        revisits_due_at=draw.revisits_due_at,
        created=created,
        items=items,
    )


def draw(
    core: App,
    session: Session,
    estate: Estate,
    year: int,
    month: int,
    now: datetime,
    *,
    seed: int | None = None,
    with_items: bool = True,
) -> DrawResult:
    """Draw ``estate``'s sample for the month, or return the draw already recorded (R-RV-6).

    Population: general repair and cleaning orders (the policy's ``sampling.kinds``)
    completed by the cutoff (the 30th, or the last day of a shorter month, at the draw
    time; or now, if the draw runs early) and in no draw yet. An estate's first draw
    starts after the previous month's cutoff, so years of history are not one population.
    Each sampled order gets a revisit due before the 5th of the next month.
    """
    key = month_key(year, month)
    existing = session.scalar(
        select(SamplingDraw).where(SamplingDraw.estate_id == estate.id, SamplingDraw.month == key)
    )
    if existing is not None:
        return _result(session, existing, estate, created=False)
    policy = core.policy
    sampling = policy.sampling
    cutoff = min(draw_cutoff(year, month, sampling, policy.tz), now)
    due = revisits_due(year, month, policy)
    record = SamplingDraw(
        estate_id=estate.id,
        month=key,
        rule=sampling.rule,
        seed=seed if seed is not None else secrets.randbits(31),
        cutoff_at=cutoff,
        drawn_at=now,
        population_count=0,
        sample_size=0,
        on_site_count=0,
        revisits_due_at=due,
    )
    session.add(record)
    session.flush()  # a concurrent draw of the same estate and month fails here (unique)
    window = [
        WorkOrder.estate_id == estate.id,
        WorkOrder.draw_id.is_(None),
        WorkOrder.kind.in_(list(sampling.kinds)),
        WorkOrder.completed_at.is_not(None),
        WorkOrder.completed_at <= cutoff,
    ]
    first_draw = not session.scalar(
        select(exists().where(SamplingDraw.estate_id == estate.id, SamplingDraw.id != record.id))
    )
    if first_draw:
        window.append(WorkOrder.completed_at > draw_cutoff(*previous_month(year, month), sampling, policy.tz))
    population = list(
        session.scalars(
            update(WorkOrder)
            .where(and_(*window))
            .values(draw_id=record.id)
            .returning(WorkOrder.id)
            .execution_options(synchronize_session=False)
        )
    )
    size: SampleSize = sample_size(len(population), sampling, estate.households)
    record.population_count, record.sample_size, record.on_site_count = size.population, size.size, size.on_site
    picked = pick(population, record.seed, size)
    visitor = next(iter(staff_with_role(session, estate.id, Role.SERVICE_CENTRE_MANAGER)), None)
    for position, (work_order_id, method) in enumerate(picked, start=1):
        item = SampleItem(draw_id=record.id, work_order_id=work_order_id, method=method, position=position)
        session.add(item)
        session.flush()
        session.add(
            Revisit(
                estate_id=estate.id,
                work_order_id=work_order_id,
                kind=RevisitKind.SERVICE,
                method=method,
                visitor_id=visitor.id if visitor is not None else None,
                due_at=due,
                created_at=now,
                sample_item_id=item.id,
            )
        )
    session.flush()
    if not with_items:
        return DrawResult(
            record.id, estate.code, estate.name, key, record.rule, record.seed, cutoff, size.population,
            size.size, size.on_site, due, created=True,
        )  # fmt: skip
    return _result(session, record, estate, created=True)


def reproduce(session: Session, draw_id: int, core: App) -> bool:
    """Audit: the recorded population and seed give exactly the recorded sample (R-RV-6)."""
    record = session.get(SamplingDraw, draw_id)
    if record is None:
        raise NotFound(f"no draw {draw_id}")
    estate = session.get(Estate, record.estate_id)
    assert estate is not None
    population = list(session.scalars(select(WorkOrder.id).where(WorkOrder.draw_id == draw_id)))
    size = SampleSize(record.population_count, record.sample_size, record.on_site_count)
    if len(population) != record.population_count:
        return False
    recorded = [
        (wid, RevisitMethod(m))
        for wid, m in session.execute(
            select(SampleItem.work_order_id, SampleItem.method)
            .where(SampleItem.draw_id == draw_id)
            .order_by(SampleItem.position)
        )
    ]
    return pick(population, record.seed, size) == recorded


def queue_sample_list(core: App, session: Session, result: DrawResult) -> int:
    """Email the list to the service centre and its manager(s) (R-RV-6). Idempotent per draw."""
    context = {
        "month": result.month,
        "estate_name": result.estate_name,
        # "before the 5th": the last moment of the 4th, as the message shows it
        "due_at": iso(result.revisits_due_at - timedelta(seconds=1)),
        "action_url": f"{core.settings.base_url.rstrip('/')}/staff/sampling/{result.month}?estate={result.estate_code}",
        "items": [
            {
                "work_order_ref": i.work_order_ref,
                "unit_label": i.unit_label,
                "kind": i.kind,
                "completed_at": iso(i.completed_at),
                "method": i.method.value,
            }
            for i in result.items
        ],
    }
    estate = session.scalar(select(Estate).where(Estate.code == result.estate_code))
    assert estate is not None
    sent = 0
    if estate.service_centre_email:
        queue(
            session,
            template="sample_list",
            to_email=estate.service_centre_email,
            to_name=estate.name,
            locale=core.policy.company.default_locale,
            context=context,
            key=f"sample_list:{result.draw_id}:centre",
        )
        sent += 1
    for manager in staff_with_role(session, estate.id, Role.SERVICE_CENTRE_MANAGER):
        if manager.estate_id == estate.id:
            to_staff(session, manager, "sample_list", context, f"sample_list:{result.draw_id}:{manager.id}", None)
            sent += 1
    return sent


def ensure_job_revisits(core: App, session: Session, until: datetime, estate_id: int | None = None) -> int:
    """Urgent/major repairs and renovations completed without a revisit get one (R-RV-4, R-RV-5).

    The work-order API creates these when an order is registered as completed; this is
    the monthly safety net for orders completed some other way. Reuses :func:`job_revisit`.
    """
    q = select(WorkOrder).where(
        WorkOrder.kind.in_(JOB_REVISIT_KINDS),
        WorkOrder.completed_at.is_not(None),
        WorkOrder.completed_at <= until,
        ~exists().where(Revisit.work_order_id == WorkOrder.id),
    )
    if estate_id is not None:
        q = q.where(WorkOrder.estate_id == estate_id)
    made = 0
    for order in session.scalars(q.order_by(WorkOrder.id)):
        assert order.completed_at is not None
        due = core.deadlines.job_revisit_due(order.completed_at, order.kind)
        if due is not None:
            job_revisit(core, session, order, due)
            made += 1
    return made


def draw_all(
    core: App, year: int, month: int, now: datetime, estate_code: str | None = None, *, email: bool = True
) -> list[DrawResult]:
    """Draw every estate (or one), each in its own transaction; a concurrent twin run is harmless."""
    with core.sessions() as session:
        targets = [(e.id, e.code) for e in estates(session, estate_code)]
    results: list[DrawResult] = []
    for estate_id, _code in targets:
        for attempt in (1, 2):
            try:
                with core.sessions() as session, session.begin():
                    estate = session.get(Estate, estate_id)
                    assert estate is not None
                    result = draw(core, session, estate, year, month, now)
                    if email:
                        queue_sample_list(core, session, result)
                results.append(result)
                break
            except IntegrityError:
                if attempt == 2:
                    raise  # the other run's draw is now visible: the second attempt returns it
    return results
