"""Demo data worth looking at: three estates with a year of history up to ``now``.

``seed_demo_world`` seeds 翠湖花園 (CH), 海濱豪庭 in Kowloon (HB) and 锦绣家园 in Shenzhen (SZ), the
company-wide leaders once, and, with ``history``, a year of what the services would have recorded:
complaints from every channel in every state, with their history, assignments, escalations,
revisits and the emails sent to complainants; work orders every month, each month's draw and its
revisits, each month's summary to leadership. The same ``now`` gives the same history: one seeded
random generator decides everything. Complaints are lived in memory by the steps of
``estatecare.demo.lives`` and written in bulk; draws, reminders and summaries go through the services.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from io import BytesIO
from typing import Any, cast

from sqlalchemy import Table, func, insert, select
from sqlalchemy.orm import Session

from estatecare.app import App
from estatecare.demo import CUIHU, DemoEstate, DemoStaff, seed_demo
from estatecare.demo import monthly as demo_monthly
from estatecare.demo.arrivals import arrivals, households, pinned, poisson, season, staffing
from estatecare.demo.lives import Lives
from estatecare.demo.steps import Ids, Row
from estatecare.demo.texts import OPINIONS, REFUSALS, WORK
from models import Assignment, Complaint, ComplaintEvent, Escalation, Estate, Notification, Revisit, WorkOrder
from models.enums import Locale, RevisitKind, RevisitMethod, Role, Satisfaction, WorkOrderKind

#: The random generator's seed: the same history for the same ``now``.
DEMO_SEED = 20261130

H, S, E = Locale.ZH_HANT, Locale.ZH_HANS, Locale.EN

HARBOUR = DemoEstate(
    name="海濱豪庭",
    address="九龍觀塘海濱道 88 號",
    households=480,
    buildings=("第1座", "第2座"),
    floors=12,
    flats=("A", "B", "C", "D"),
    residents=(("陳先生", H), ("李太", H), ("張小姐", H), ("Ms. Chan", E), ("黃伯", H), ("何太", H), ("梁先生", H)),
    resident_units=96,
    resident_phone="9{i:07d}",
    staff={"reception": ("何嘉欣", H), "supervisor": ("梁志偉", H), "manager": ("鄭慧敏", H)},
)
JINXIU = DemoEstate(
    name="锦绣家园",
    address="深圳市南山区科苑路 6 号",
    households=600,
    buildings=("1栋", "2栋", "3栋", "4栋"),
    floors=12,
    flats=("01", "02"),
    residents=(("王先生", S), ("李女士", S), ("张阿姨", S), ("刘先生", S), ("陈女士", S), ("Mr. Brown", E)),
    resident_units=96,
    resident_phone="137{i:08d}",
    staff_locale=S,
    staff={"reception": ("刘晓燕", S), "supervisor": ("陈建国", S), "manager": ("赵敏", S)},
)


@dataclass(frozen=True)
class WorldEstate:
    """A demo estate of the world and how busy it is."""

    code: str
    spec: DemoEstate
    complaints_per_day: float
    orders_per_day: float


WORLD = (
    WorldEstate("CH", CUIHU, 0.55, 1.1),
    WorldEstate("HB", HARBOUR, 0.7, 1.45),
    WorldEstate("SZ", JINXIU, 0.8, 1.9),
)


def seed_demo_world(session: Session, core: App, now: datetime, *, history: bool = True) -> dict[str, list[DemoStaff]]:
    """Seed the three demo estates (the company-wide leaders once) and, with ``history``, their year up
    to ``now``; returns each estate's staff with their API tokens."""
    staff = {w.code: seed_demo(session, core.policy, w.code, w.spec) for w in WORLD}
    if history:
        seed_history(session, core, now)
    return staff


def seed_history(session: Session, core: App, now: datetime, world: tuple[WorldEstate, ...] = WORLD) -> None:
    """A year of history of the world's estates (already seeded), up to ``now``."""
    now = now.astimezone(UTC).replace(microsecond=0)
    rng = random.Random(DEMO_SEED)  # noqa: S311 - demo data, not secrets
    local = now.astimezone(core.policy.tz)
    start = datetime(local.year - 1, local.month, 1, tzinfo=core.policy.tz).astimezone(UTC)
    maxima = select(*(select(func.max(m.id)).scalar_subquery() for m in (Complaint, Revisit, WorkOrder)))
    ids = Ids(
        dict(zip(("complaint", "revisit", "work_order"), (n or 0 for n in session.execute(maxima).one()), strict=True))
    )
    signature = signature_png()
    estates: list[Estate] = []
    rows: dict[str, list[Row]] = {name: [] for name in ("complaint", "event", "assignment", "escalation", "revisit")}
    rows |= {"work_order": [], "notification": []}
    langs: dict[int, int] = {}
    for w in world:
        estate = session.scalar(select(Estate).where(Estate.code == w.code))
        assert estate is not None, f"seed estate {w.code} first"
        estates.append(estate)
        langs[estate.id] = 1 if w.spec.staff_locale is Locale.ZH_HANS else 0
        _estate_history(session, core, rng, ids, w, estate, start, now, langs[estate.id], signature, rows)
    _insert(session, rows)
    supervisors = {e.id: staffing(session, e.id).first(Role.PROPERTY_SUPERVISOR).id for e in estates}
    demo_monthly.draws(core, session, estates, start, demo_monthly.Recorder(rng, now, langs, supervisors, signature))
    demo_monthly.reminders(core, session, now)
    demo_monthly.summary(core, session, now)
    session.flush()


def _estate_history(
    session: Session, core: App, rng: random.Random, ids: Ids, w: WorldEstate, estate: Estate, start: datetime,
    now: datetime, lang: int, signature: bytes, rows: dict[str, list[Row]],
) -> None:  # fmt: skip
    """Live one estate's complaints and work orders; add their rows to ``rows``."""
    staff, homes = staffing(session, estate.id), households(session, estate.id)
    lives = Lives(core.policy, core.deadlines, staff, rng, ids, code=w.code, lang=lang, now=now, signature=signature)
    found = arrivals(rng, core.policy, staff, homes, start, now, w.complaints_per_day) + pinned(rng, staff, homes, now)
    for arrival in sorted(found, key=lambda a: a.at):
        lives.add(arrival)
    lives.run()
    for case in lives.cases:
        c = case.c
        rows["complaint"].append(
            {**{col.key: getattr(c, col.key) for col in Complaint.__table__.columns}, "version": case.version}
        )
        rows["event"] += [
            {
                "complaint_id": c.id, "seq": e.seq, "action": e.action, "from_status": e.from_status,
                "to_status": e.to_status, "escalation_level": e.escalation_level, "actor_id": e.actor_id,
                "at": e.at, "note": e.note or "", "data": e.data or {},
            }
            for e in c.events
        ]  # fmt: skip
        rows["assignment"] += case.assignments
        rows["escalation"] += case.escalations
    orders = _work_orders(lives, rng, homes, start, now, w.orders_per_day) + lives.orders
    rows["work_order"] += sorted(orders, key=lambda o: o["id"])
    revisits = [r for case in lives.cases for r in case.revisits] + lives.loose_revisits
    revisits += _job_revisits(lives, rng, orders, now)
    manager = staff.first(Role.SERVICE_CENTRE_MANAGER).id
    supervisor = staff.first(Role.PROPERTY_SUPERVISOR).id
    for row in revisits:
        if row["done_at"] is not None:
            _review(rng, row, supervisor if row["visitor_id"] != supervisor else manager, lang, now)
    rows["revisit"] += revisits
    rows["notification"] += lives.notifications


def _review(rng: random.Random, row: Row, reviewer: int, lang: int, now: datetime) -> None:
    """``revisits.review_revisit`` of most done records, by a supervisor who did not make it (R-RV-9)."""
    at = row["recorded_at"] + timedelta(hours=rng.randint(2, 72))
    if rng.random() < 0.85 and at <= now:
        row.update(reviewed_by_id=reviewer, reviewed_at=at, supervisor_opinion=rng.choice(OPINIONS)[lang])


_KINDS = (
    (WorkOrderKind.REPAIR, 55, "engineering", (2, 48)),
    (WorkOrderKind.CLEANING, 28, "cleaning", (2, 24)),
    (WorkOrderKind.URGENT_REPAIR, 6, "engineering", (0.5, 4)),
    (WorkOrderKind.MAJOR_REPAIR, 2, "engineering", (24, 120)),
    (WorkOrderKind.RENOVATION, 5, "management_office", (72, 400)),
    (WorkOrderKind.OTHER, 4, "customer_service", (1, 24)),
)


def _work_orders(
    lives: Lives, rng: random.Random, homes: list[Any], start: datetime, now: datetime, rate: float
) -> list[Row]:
    """``work_orders.create_work_order`` for the jobs done for residents, about ``rate`` a day:
    registered by the department's handler, completed hours or days later (or not yet)."""
    tz, orders = lives.policy.tz, []
    day = start.astimezone(tz).date()
    while day <= now.astimezone(tz).date():
        for _ in range(poisson(rng, rate * season(day))):
            kind, _, code, (low, high) = rng.choices(_KINDS, weights=[k[1] for k in _KINDS])[0]
            created = (
                datetime.combine(day, time(8), tzinfo=tz) + timedelta(seconds=rng.randrange(11 * 3600))
            ).astimezone(UTC)
            if created > now:
                continue
            completed: datetime | None = created + timedelta(seconds=int(rng.uniform(low, high) * 3600))
            if completed is not None and completed > now:
                completed = None
            home = rng.choice(homes)
            handlers = lives.staff.in_department(code, Role.HANDLER)
            handler = (
                rng.choice(handlers).id
                if handlers and kind not in (WorkOrderKind.RENOVATION, WorkOrderKind.OTHER)
                else None
            )
            orders.append(
                {
                    "id": lives.ids.take("work_order"), "reference": lives.order_reference(created),
                    "estate_id": lives.staff.estate_id, "unit_id": home.unit_id, "resident_id": home.resident_id,
                    "complaint_id": None, "kind": kind, "description": rng.choice(WORK[kind])[lives.lang],
                    "department_id": lives.staff.departments[code], "handler_id": handler,
                    "created_at": created, "completed_at": completed, "draw_id": None,
                }
            )  # fmt: skip
        day += timedelta(days=1)
    return orders


def _job_revisits(lives: Lives, rng: random.Random, orders: list[Row], now: datetime) -> list[Row]:
    """``jobs.job_revisit`` for finished urgent and major repairs (at once, by phone, R-RV-4) and
    renovations (on site within 7 days, R-RV-5), made mostly in time."""
    manager = lives.staff.first(Role.SERVICE_CENTRE_MANAGER)
    found = []
    for order in orders:
        done_job, kind = order["completed_at"], order["kind"]
        due = lives.deadlines.job_revisit_due(done_job, kind) if done_job is not None else None
        if due is None:
            continue
        renovation = kind is WorkOrderKind.RENOVATION
        row = lives.revisit_row(
            RevisitKind.RENOVATION if renovation else RevisitKind.SERVICE,
            RevisitMethod.ON_SITE if renovation else RevisitMethod.PHONE,
            manager, due, done_job, work_order_id=order["id"],
        )  # fmt: skip
        done = lives.between(done_job, due, 0.1, 0.9)
        recorded = done + timedelta(minutes=rng.randint(5, 90))
        if recorded <= now:
            happy = Satisfaction.SATISFIED if rng.random() < 0.85 else Satisfaction.BASICALLY_SATISFIED
            signed = renovation and rng.random() < 0.95
            lives.write_record(
                row, manager, done, recorded, satisfaction=happy, answers=lives.answers(lives.lang, True),
                signature_png=lives.signature if signed else None,
                refusal_note=rng.choice(REFUSALS)[lives.lang] if renovation and not signed else "",
            )  # fmt: skip
        found.append(row)
    return found


def _insert(session: Session, rows: dict[str, list[Row]]) -> None:
    """Write the rows in bulk (one executemany per table), in the order their references need."""
    tables = {
        "complaint": Complaint, "event": ComplaintEvent, "assignment": Assignment, "escalation": Escalation,
        "work_order": WorkOrder, "revisit": Revisit, "notification": Notification,
    }  # fmt: skip
    for name, model in tables.items():
        if rows[name]:
            session.execute(insert(cast(Table, model.__table__)), sorted(rows[name], key=lambda r: r.get("id", 0)))
    if session.get_bind().dialect.name == "postgresql":  # ids given here: the sequences move past them
        for model in (Complaint, Revisit, WorkOrder):
            sequence = func.pg_get_serial_sequence(model.__tablename__, "id")
            session.execute(select(func.setval(sequence, select(func.max(model.id)).scalar_subquery())))


def signature_png() -> bytes:
    """A resident's signature for the demo's on-site revisits: a pen stroke drawn as a PNG (R-RV-8)."""
    from PIL import Image, ImageDraw

    image = Image.new("L", (240, 80), 255)
    stroke = [(x, 40 + 16 * math.sin(x / 8) * math.cos(x / 29) + (x - 120) / 12) for x in range(16, 226, 2)]
    ImageDraw.Draw(image).line(stroke, fill=24, width=3, joint="curve")
    out = BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()
