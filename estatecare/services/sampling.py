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
from typing import Any

from sqlalchemy import and_, exists, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from estatecare.app import App
from estatecare.services.errors import NotFound
from estatecare.services.jobs import job_revisit
from estatecare.services.messages import iso
from models import Building, Estate, Revisit, SampleItem, SamplingDraw, Staff, Unit, WorkOrder
from models.enums import RevisitKind, RevisitMethod, Role, WorkOrderKind
from models.policy import Sampling
from models.sampling import (
    SampleSize,
    draw_cutoff,
    month_key,
    pick,
    previous_month,
    revisits_due,
    sample_size,
)
from notifications.outbox import queue_many

JOB_REVISIT_KINDS = (WorkOrderKind.URGENT_REPAIR, WorkOrderKind.MAJOR_REPAIR, WorkOrderKind.RENOVATION)


class DrawOrderError(ValueError):
    """A month is drawn after a later month of the same estate (it would take the wrong population)."""


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


def _items(session: Session, draw_ids: list[int]) -> dict[int, list[DrawItem]]:
    """The sampled orders of the draws, in draw order, with unit and revisit (one query)."""
    out: dict[int, list[DrawItem]] = {d: [] for d in draw_ids}
    if not draw_ids:
        return out
    rows = session.execute(
        select(
            SampleItem.draw_id,
            SampleItem.method,
            WorkOrder.id,
            WorkOrder.reference,
            WorkOrder.kind,
            WorkOrder.completed_at,
            Building.name,
            Unit.number,
            Revisit.id,
        )
        .join(WorkOrder, WorkOrder.id == SampleItem.work_order_id)
        .outerjoin(Unit, Unit.id == WorkOrder.unit_id)
        .outerjoin(Building, Building.id == Unit.building_id)
        .outerjoin(Revisit, and_(Revisit.work_order_id == WorkOrder.id, Revisit.sample_item_id == SampleItem.id))
        .where(SampleItem.draw_id.in_(draw_ids))
        .order_by(SampleItem.draw_id, SampleItem.position)
    ).all()
    for draw_id, method, wid, ref, kind, completed_at, building, number, revisit_id in rows:
        out[draw_id].append(
            DrawItem(
                work_order_id=wid,
                work_order_ref=ref,
                unit_label=f"{building} {number}" if number is not None else "",
                kind=kind.value,
                completed_at=completed_at,
                method=method,
                revisit_id=revisit_id,
            )
        )
    return out


def _result(draw: SamplingDraw, estate: Estate, created: bool, items: list[DrawItem]) -> DrawResult:
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
    chosen: list[Estate],
    year: int,
    month: int,
    now: datetime,
    *,
    seeds: dict[int, int] | None = None,
) -> list[DrawResult]:
    """Draw the month's sample of each estate in ``chosen``, or return the draw already recorded (R-RV-6).

    Population: general repair and cleaning orders (the policy's ``sampling.kinds``)
    completed by the cutoff (the 30th, or the last day of a shorter month, at the draw
    time; or now, if the draw runs early) and in no draw yet. An estate's first draw
    starts after the previous month's cutoff, so years of history are not one population.
    Each sampled order gets a revisit due before the 5th of the next month.

    Set-based: one ``UPDATE ... RETURNING`` marks every estate's population with its
    draw, then the picks, items and revisits are inserted in bulk.
    """
    key = month_key(year, month)
    by_id = {e.id: e for e in chosen}
    existing = {
        d.estate_id: d
        for d in session.scalars(
            select(SamplingDraw).where(SamplingDraw.month == key, SamplingDraw.estate_id.in_(list(by_id)))
        )
    }
    fresh = [e for e in chosen if e.id not in existing]
    records: dict[int, SamplingDraw] = _draw_fresh(core, session, fresh, year, month, now, seeds) if fresh else {}
    every = {**existing, **records}
    items = _items(session, [d.id for d in every.values()])
    return [_result(every[e.id], e, e.id in records, items[every[e.id].id]) for e in chosen]


_Pick = tuple[int, int, RevisitMethod, int]  # estate, order, method, position


def _draw_fresh(
    core: App, session: Session, fresh: list[Estate], year: int, month: int, now: datetime, seeds: dict[int, int] | None
) -> dict[int, SamplingDraw]:
    """Record the draws of the estates not drawn yet this month, mark their populations, pick the
    samples and insert their items and revisits; returns the new draws by estate id."""
    key = month_key(year, month)
    by_id = {e.id: e for e in fresh}
    policy = core.policy
    sampling = policy.sampling
    cutoff = min(draw_cutoff(year, month, sampling, policy.tz), now)
    due = revisits_due(year, month, policy)
    drawn_before = _drawn_before(session, fresh, key)
    records: dict[int, SamplingDraw] = {}
    for e in fresh:
        records[e.id] = SamplingDraw(
            estate_id=e.id,
            month=key,
            rule=sampling.rule,
            seed=(seeds or {}).get(e.id, secrets.randbits(31)),
            cutoff_at=cutoff,
            drawn_at=now,
            population_count=0,
            sample_size=0,
            on_site_count=0,
            revisits_due_at=due,
        )
    session.add_all(records.values())
    session.flush()  # a concurrent draw of the same month fails here (unique estate + month)
    window = [
        WorkOrder.draw_id.is_(None),
        WorkOrder.kind.in_(list(sampling.kinds)),
        WorkOrder.completed_at.is_not(None),
        WorkOrder.completed_at <= cutoff,
    ]
    first_after = draw_cutoff(*previous_month(year, month), sampling, policy.tz)
    population = _mark_population(session, records, drawn_before, window, first_after)
    visitors = _visitors(session, records)
    picks = _pick_samples(records, population, sampling, by_id)
    if picks:
        _insert_picks(session, records, picks, visitors, due, now)
    session.flush()
    return records


def _drawn_before(session: Session, fresh: list[Estate], key: str) -> set[int]:
    """The estates of ``fresh`` drawn before; DrawOrderError when one was drawn for a month after ``key``."""
    code = {e.id: e.code for e in fresh}
    latest: dict[int, str] = {
        estate_id: month
        for estate_id, month in session.execute(
            select(SamplingDraw.estate_id, func.max(SamplingDraw.month))
            .where(SamplingDraw.estate_id.in_([e.id for e in fresh]))
            .group_by(SamplingDraw.estate_id)
        )
    }
    later = sorted(f"{code[e]} ({m})" for e, m in latest.items() if m > key)
    if later:
        raise DrawOrderError(f"months are drawn in order: already drawn for a later month: {', '.join(later)}")
    return set(latest)


def _mark_population(
    session: Session, records: dict[int, SamplingDraw], drawn_before: set[int], window: list[Any], first_after: datetime
) -> dict[int, list[int]]:
    """Give each new draw the orders of its estate in ``window`` (``UPDATE ... RETURNING``); their ids per estate.

    ``first_after`` is the previous month's cutoff, where an estate's first draw starts.
    """
    draw_of = {r.id: estate_id for estate_id, r in records.items()}
    groups: list[tuple[list[int], list[Any]]] = [
        ([e for e in records if e in drawn_before], []),
        # an estate's first draw: only orders completed after the previous month's cutoff
        ([e for e in records if e not in drawn_before], [WorkOrder.completed_at > first_after]),
    ]
    population: dict[int, list[int]] = {e: [] for e in records}
    for estate_ids, extra in groups:
        if not estate_ids:
            continue
        # UPDATE work_order ... FROM sampling_draw: one join of the open orders with the new draws,
        # run on the session's connection: ~80,000 plain rows back, no ORM result processing
        marked = session.connection().execute(
            update(WorkOrder)
            .where(
                SamplingDraw.estate_id == WorkOrder.estate_id,
                SamplingDraw.id.in_([records[e].id for e in estate_ids]),
                *window,
                *extra,
            )
            .values(draw_id=SamplingDraw.id)
            .returning(WorkOrder.id, WorkOrder.draw_id)
        )
        for wid, draw_id in marked:
            assert draw_id is not None
            population[draw_of[draw_id]].append(wid)
    return population


def _visitors(session: Session, records: dict[int, SamplingDraw]) -> dict[int | None, int]:
    """Who makes each estate's sampled revisits: its first active service centre manager (lowest id)."""
    return {
        staff.estate_id: staff.id
        for staff in session.scalars(
            select(Staff)
            .where(
                Staff.estate_id.in_(list(records)),
                Staff.role == Role.SERVICE_CENTRE_MANAGER,
                Staff.active.is_(True),
            )
            .order_by(Staff.id.desc())
        )
    }


def _pick_samples(
    records: dict[int, SamplingDraw], population: dict[int, list[int]], sampling: Sampling, by_id: dict[int, Estate]
) -> list[_Pick]:
    """Size and pick each draw's sample from its population (recorded on the draw); every pick in order."""
    picks: list[_Pick] = []
    for estate_id, record in records.items():
        size = sample_size(len(population[estate_id]), sampling, by_id[estate_id].households)
        record.population_count, record.sample_size, record.on_site_count = size.population, size.size, size.on_site
        chosen_ids = pick(population[estate_id], record.seed, size)
        picks += [(estate_id, wid, method, n) for n, (wid, method) in enumerate(chosen_ids, start=1)]
    return picks


def _insert_picks(
    session: Session,
    records: dict[int, SamplingDraw],
    picks: list[_Pick],
    visitors: dict[int | None, int],
    due: datetime,
    now: datetime,
) -> None:
    """Insert the sample items and, for each, its service revisit due before the 5th of the next month."""
    _insert_rows(
        session,
        SampleItem,
        [
            {"draw_id": records[e].id, "work_order_id": wid, "method": method, "position": n}
            for e, wid, method, n in picks
        ],
    )
    item_of: dict[int, int] = {
        work_order_id: item_id
        for work_order_id, item_id in session.execute(
            select(SampleItem.work_order_id, SampleItem.id).where(
                SampleItem.draw_id.in_([r.id for r in records.values()])
            )
        )
    }
    item_ids = [item_of[wid] for _, wid, _, _ in picks]
    _insert_rows(
        session,
        Revisit,
        [
            {
                "estate_id": e,
                "work_order_id": wid,
                "kind": RevisitKind.SERVICE,
                "method": method,
                "sequence": 1,
                "visitor_id": visitors.get(e),
                "due_at": due,
                "created_at": now,
                "sample_item_id": item_id,
                "answers": {},
                "refusal_note": "",
                "new_issue": "",
                "open_letter_ref": "",
                "supervisor_opinion": "",
            }
            for (e, wid, method, _), item_id in zip(picks, item_ids, strict=True)
        ],
    )


def _insert_rows(session: Session, model: type[Any], rows: list[dict[str, Any]]) -> None:
    """One ``INSERT`` compiled once (and cached), run as the driver's executemany: a multi-row
    ``VALUES`` statement per chunk took longer to compile than the rows took to write."""
    session.execute(insert(model.__table__), rows)


def reproduce(session: Session, draw_id: int, core: App) -> bool:
    """Audit: the recorded population and seed give exactly the recorded sample (R-RV-6)."""
    record = session.get(SamplingDraw, draw_id)
    if record is None:
        raise NotFound(f"no draw {draw_id}")
    estate = session.get(Estate, record.estate_id)
    assert estate is not None
    population = list(
        session.scalars(  # the estate's orders through its completion index, filtered by draw
            select(WorkOrder.id).where(WorkOrder.estate_id == record.estate_id, WorkOrder.draw_id == draw_id)
        )
    )
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


def queue_sample_lists(core: App, session: Session, results: list[DrawResult], chosen: list[Estate]) -> int:
    """Email each list to the estate's service centre and its manager(s) (R-RV-6).

    Idempotent per draw and recipient; one query for the managers, one for the keys.
    """
    managers: dict[int, list[Staff]] = {}
    for staff in session.scalars(
        select(Staff)
        .where(
            Staff.estate_id.in_([e.id for e in chosen]),
            Staff.role == Role.SERVICE_CENTRE_MANAGER,
            Staff.active.is_(True),
        )
        .order_by(Staff.id)
    ):
        managers.setdefault(staff.estate_id or 0, []).append(staff)
    base = core.settings.base_url.rstrip("/")
    messages: list[dict[str, Any]] = []
    for result, estate in zip(results, chosen, strict=True):
        context = {
            "month": result.month,
            "estate_name": result.estate_name,
            # "before the 5th": the last moment of the 4th, as the message shows it
            "due_at": iso(result.revisits_due_at - timedelta(seconds=1)),
            "action_url": f"{base}/staff/sampling/{result.month}?estate={result.estate_code}",
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
        if estate.service_centre_email:
            messages.append(
                {
                    "template": "sample_list",
                    "to_email": estate.service_centre_email,
                    "to_name": estate.name,
                    "locale": core.policy.company.default_locale,
                    "context": context,
                    "key": f"sample_list:{result.draw_id}:centre",
                }
            )
        messages += [
            {
                "template": "sample_list",
                "to_email": m.email,
                "to_name": m.name,
                "locale": m.locale,
                "context": context,
                "key": f"sample_list:{result.draw_id}:{m.id}",
                "staff_id": m.id,
            }
            for m in managers.get(estate.id, [])
        ]
    return len(queue_many(session, messages))


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
    """Draw every estate (or one) in one transaction and queue the lists; a concurrent twin run
    fails on the unique draw and, retried, returns the draws the other run recorded."""
    for attempt in (1, 2):
        try:
            with core.sessions() as session, session.begin():
                chosen = estates(session, estate_code)
                results = draw(core, session, chosen, year, month, now)
                if email:
                    queue_sample_lists(core, session, results, chosen)
                return results
        except IntegrityError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")
