"""Who complains about what, and when, in the demo history: an estate's people and flats as the
steps need them, a year of complaints from every channel, and a few recent ones whose moments are
fixed so that, at ``now``, some complaint waits in each state of the lifecycle."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from estatecare.demo.lives import Arrival
from estatecare.demo.steps import Person, Plan, Staffing
from estatecare.demo.texts import TOPICS, Topic
from models import Department, Resident, Staff
from models.enums import Channel, Locale, Role
from models.policy import Policy

_TOPIC = {t.key: t for t in TOPICS}
_CHANNELS = (
    (Channel.PHONE, 30),
    (Channel.ONLINE, 22),
    (Channel.FRONT_DESK, 14),
    (Channel.EMAIL, 9),
    (Channel.PATROL, 8),
    (Channel.LETTER, 4),
    (Channel.SUPERIOR_BODY, 3),
)
#: When residents complain: the weight of each local hour.
_HOURS = {7: 2, 8: 5, 9: 8, 10: 9, 11: 8, 12: 5, 13: 5, 14: 7, 15: 7, 16: 7, 17: 6, 18: 6, 19: 7, 20: 8, 21: 6, 22: 3}


@dataclass(frozen=True)
class Household:
    """A flat with its resident, as a complaint names them."""

    unit_id: int
    resident_id: int
    name: str
    phone: str
    email: str
    locale: Locale


def staffing(session: Session, estate_id: int) -> Staffing:
    """The estate's people (and company-wide leaders) with their departments' codes."""
    departments = {
        code: dept_id
        for dept_id, code in session.execute(
            select(Department.id, Department.code).where(Department.estate_id == estate_id)
        )
    }
    code_of = {v: k for k, v in departments.items()}
    rows = list(
        session.scalars(
            select(Staff).where((Staff.estate_id == estate_id) | Staff.estate_id.is_(None), Staff.active.is_(True))
        )
    )
    people = [Person(s.id, s.name, s.email, s.role, code_of.get(s.department_id or 0), s.estate_id) for s in rows]
    language = next((s.locale for s in rows if s.role is Role.PROPERTY_SUPERVISOR), Locale.ZH_HANT)
    return Staffing(estate_id, people, departments, language)


def households(session: Session, estate_id: int) -> list[Household]:
    """Every flat of the estate that has a resident."""
    return [
        Household(r.unit_id, r.id, r.name, r.phone, r.email, r.locale)
        for r in session.scalars(select(Resident).where(Resident.estate_id == estate_id).order_by(Resident.id))
        if r.unit_id is not None
    ]


def poisson(rng: random.Random, mean: float) -> int:
    """A Poisson-distributed count (Knuth's method: means here are small)."""
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


def season(day: date) -> float:
    """More complaints and jobs in the wet, hot months; fewer around the Spring Festival."""
    return {2: 0.7, 5: 1.15, 6: 1.3, 7: 1.35, 8: 1.3, 9: 1.15}.get(day.month, 1.0)


def plan(rng: random.Random) -> Plan:
    """The turns a complaint's life takes, in the proportions a busy service centre sees."""
    late = rng.random() < 0.08
    return Plan(
        late=late,
        climb=late and rng.random() < 0.2,
        transfer=rng.random() < 0.05,
        progress=not late and rng.random() < 0.15,
        returned=rng.random() < 0.04,
        unsatisfied=rng.random() < 0.06,
        late_revisit=rng.random() < 0.03,
        late_record=rng.random() < 0.04,
        suggestion=rng.random() < 0.1,
        new_issue=rng.random() < 0.025,
        refused=rng.random() < 0.06,
    )


def _topic(rng: random.Random, day: date) -> Topic:
    hot = 5 <= day.month <= 9
    return rng.choices(TOPICS, weights=[t.weight * (1.8 if t.summer and hot else 1) for t in TOPICS])[0]


def _moment(rng: random.Random, day: date, policy: Policy) -> datetime:
    hour = rng.choices(list(_HOURS), weights=list(_HOURS.values()))[0]
    local = datetime.combine(day, time(hour), tzinfo=policy.tz) + timedelta(seconds=rng.randrange(3600))
    return local.astimezone(UTC)


def arrival(
    rng: random.Random, staff: Staffing, homes: list[Household], topic: Topic, at: datetime, channel: Channel
) -> Arrival:
    """A complaint about ``topic`` reaching the service centre by ``channel`` at ``at``."""
    home = rng.choice(homes)
    if channel is Channel.PATROL:  # found by staff on their round: nobody complained
        return Arrival(
            at, topic, channel, None, None, "", "", "", staff.language, staff.first(Role.PROPERTY_SUPERVISOR), plan(rng)
        )
    unit = None if topic.shared and rng.random() < 0.6 else home.unit_id
    anonymous = channel is not Channel.LETTER and rng.random() < 0.06
    online = channel in (Channel.ONLINE, Channel.EMAIL)
    email = home.email if online or rng.random() < 0.35 else ""
    receiver = None if online else staff.first(Role.RECEPTIONIST)
    return Arrival(
        at, topic, channel, unit, home.resident_id if unit is not None and not anonymous else None,
        "" if anonymous else home.name, "" if anonymous and rng.random() < 0.5 else home.phone,
        "" if anonymous else email, home.locale, receiver, plan(rng),
        reply_only=channel is Channel.SUPERIOR_BODY and rng.random() < 0.5,
    )  # fmt: skip


def arrivals(
    rng: random.Random,
    policy: Policy,
    staff: Staffing,
    homes: list[Household],
    start: datetime,
    now: datetime,
    rate: float,
) -> list[Arrival]:
    """A year of complaints, about ``rate`` a day; some are reported again a few hours or days later
    (linked to the first report if it is still open then, R-IN-5)."""
    found: list[Arrival] = []
    day, last = start.astimezone(policy.tz).date(), now.astimezone(policy.tz).date()
    while day <= last:
        for _ in range(poisson(rng, rate * season(day))):
            at = _moment(rng, day, policy)
            if at > now - timedelta(minutes=5):
                continue
            channel = rng.choices([c for c, _ in _CHANNELS], weights=[w for _, w in _CHANNELS])[0]
            topic = _topic(rng, day)
            if channel is Channel.PATROL and not topic.shared:
                channel = Channel.PHONE
            first = arrival(rng, staff, homes, topic, at, channel)
            found.append(first)
            again = first.at + timedelta(hours=rng.uniform(3, 72))
            if first.name and rng.random() < 0.06 and again < now - timedelta(minutes=5):
                channel = Channel.PHONE if first.channel is not Channel.PHONE else Channel.ONLINE
                found.append(replace(first, at=again, channel=channel, plan=plan(rng), reply_only=False))
        day += timedelta(days=1)
    return sorted(found, key=lambda a: a.at)


def pinned(rng: random.Random, staff: Staffing, homes: list[Household], now: datetime) -> list[Arrival]:
    """Recent complaints whose moments are fixed relative to ``now``, so that each state of the
    lifecycle has someone waiting in it (the sweep escalates those past a deadline)."""

    def h(hours: float) -> datetime:
        return now + timedelta(hours=hours)

    def one(topic: str, received: float, **pins: float) -> Arrival:
        flags: dict[str, bool] = {k: bool(pins.pop(k)) for k in ("late", "climb", "unsatisfied") if k in pins}
        flags.update({k: True for k in ("progress", "transfer") if k in pins})
        base = arrival(rng, staff, homes, _TOPIC[topic], h(received), Channel.PHONE)
        chosen = rng.choice(homes)
        return replace(
            base, unit_id=chosen.unit_id, resident_id=chosen.resident_id, name=chosen.name, phone=chosen.phone,
            email=chosen.email, locale=chosen.locale, receiver=staff.first(Role.RECEPTIONIST),
            plan=Plan(**flags, pins={k.replace("_", "-"): h(v) for k, v in pins.items()}),
        )  # fmt: skip

    leak = one("leak", -20, assess=-19, resolve=6)
    return [
        one("corridor-light", -2, assess=1),  # received, waiting for its assessment
        one("noise", -30, assess=2),  # received, its first response missed: escalated
        leak,  # assigned
        replace(leak, at=h(-3), channel=Channel.ONLINE, receiver=None, plan=Plan()),  # the same leak again: linked
        one("water-pressure", -44, assess=-43, progress=-5, resolve=2),  # in progress, next reply promised
        one("drain", -126, assess=-125, late=1, climb=1, late_decide=5),  # overdue, up the whole chain
        one("facade", -8, assess=-7, lead=3),  # major: waiting for leadership's decision
        one("reply-slow", -30, assess=-29, transfer=-4, decide=3),  # a transfer sheet waiting for a decision
        one("intercom", -26, assess=-25, resolve=-1, confirm=2),  # resolved, awaiting confirmation
        one("rubbish", -72, assess=-71, resolve=-30, confirm=-20, revisit=20),  # revisit due
        one("gate", -168, assess=-167, resolve=-130, confirm=-96, revisit=3),  # revisit overdue: escalated
        one("leak", -144, assess=-143, resolve=-96, confirm=-48, revisit=-22, unsatisfied=1, resolve2=5),  # reopened
    ]
