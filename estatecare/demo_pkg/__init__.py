"""Demo data: one estate with buildings, units, departments, staff and residents."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Building, Department, Estate, Resident, Staff, Unit
from models.enums import Locale, Role
from models.policy import Policy

DEMO_DOMAIN = "estatecare.localhost"


def hash_token(token: str) -> str:
    """Stored form of a staff API token (tokens are random, so a plain digest suffices)."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class DemoStaff:
    """A demo staff member and the API token printed for them once."""

    email: str
    role: Role
    token: str


def database_is_empty(session: Session) -> bool:
    """True when no estate exists yet."""
    return session.scalar(select(func.count()).select_from(Estate)) == 0


DEMO_TOKEN_DAYS = 365


def seed_demo(session: Session, policy: Policy, code: str = "CH") -> list[DemoStaff]:
    """Create the demo estate ``code``; returns the staff with their API tokens (valid for a year)."""
    token_expiry = datetime.now(UTC) + timedelta(days=DEMO_TOKEN_DAYS)
    estate = Estate(
        code=code,
        name="翠湖花園",
        address="翠湖路 1 號",
        households=360,
        service_centre_email=f"service-{code.lower()}@{DEMO_DOMAIN}",
    )
    session.add(estate)
    session.flush()
    units: list[Unit] = []
    for b in range(1, 4):
        building = Building(estate_id=estate.id, name=f"{b}座")
        session.add(building)
        session.flush()
        for floor in range(1, 6):
            for flat in ("01", "02"):
                unit = Unit(estate_id=estate.id, building_id=building.id, number=f"{floor}{flat}")
                units.append(unit)
    session.add_all(units)
    session.flush()
    departments = {
        key: Department(estate_id=estate.id, code=key, name=name) for key, name in policy.departments.items()
    }
    session.add_all(departments.values())
    session.flush()

    people: list[tuple[str, str, Role, str | None, Locale, bool]] = [
        ("陳美玲", "reception", Role.RECEPTIONIST, "customer_service", Locale.ZH_HANT, True),
        ("李志強", "supervisor", Role.PROPERTY_SUPERVISOR, "management_office", Locale.ZH_HANT, True),
        ("王麗華", "manager", Role.SERVICE_CENTRE_MANAGER, "customer_service", Locale.ZH_HANT, True),
        ("张伟", "deputy-gm", Role.DEPUTY_GM, None, Locale.ZH_HANS, False),
        ("Grace Wong", "gm", Role.GM, None, Locale.EN, False),
    ]
    for key in policy.departments:
        people.append(
            (f"{policy.departments[key]}主管", f"head-{key}", Role.DEPARTMENT_HEAD, key, Locale.ZH_HANT, True)
        )
        people.append((f"{policy.departments[key]}師傅甲", f"{key}-1", Role.HANDLER, key, Locale.ZH_HANT, True))
        if key == "engineering":
            people.append(("Sam Lee", f"{key}-2", Role.HANDLER, key, Locale.EN, True))
            people.append(("刘师傅", f"{key}-3", Role.HANDLER, key, Locale.ZH_HANS, True))
    created: list[DemoStaff] = []
    for name, slug, role, dept, locale, local in people:
        token = secrets.token_urlsafe(24)
        email = f"{slug}-{code.lower()}@{DEMO_DOMAIN}" if local else f"{slug}@{DEMO_DOMAIN}"
        if not local and session.scalar(select(Staff.id).where(Staff.email == email)) is not None:
            continue  # company-wide leaders exist once, whatever the number of estates
        session.add(
            Staff(
                estate_id=estate.id if local else None,
                department_id=departments[dept].id if dept else None,
                name=name,
                email=email,
                phone=f"1380000{len(created):04d}",
                role=role,
                locale=locale,
                api_token_hash=hash_token(token),
                api_token_expires_at=token_expiry,
            )
        )
        created.append(DemoStaff(email, role, token))
    residents = [
        ("黃先生", Locale.ZH_HANT),
        ("周女士", Locale.ZH_HANS),
        ("Mr. Smith", Locale.EN),
        ("林太太", Locale.ZH_HANT),
    ]
    for i, unit in enumerate(units[:40]):
        name, locale = residents[i % len(residents)]
        session.add(
            Resident(
                estate_id=estate.id,
                unit_id=unit.id,
                name=name,
                phone=f"139{i:08d}",
                email=f"resident{i + 1}-{code.lower()}@{DEMO_DOMAIN}",
                locale=locale,
            )
        )
    session.flush()
    return created
