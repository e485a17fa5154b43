"""Demo data: estates with buildings, units, departments, staff and residents.

``seed_demo`` creates one estate with nobody's complaints yet; ``estatecare.demo.history``
seeds three of them with a year of history.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

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


@dataclass(frozen=True)
class DemoEstate:
    """What a demo estate looks like: name, buildings and units (``floor`` + ``flat``), residents
    (their names and languages taken in turn) and, by slug, the names of its own staff."""

    name: str
    address: str
    households: int
    buildings: tuple[str, ...]
    floors: int
    flats: tuple[str, ...]
    residents: tuple[tuple[str, Locale], ...]
    resident_units: int  # the first this many units have a resident
    resident_phone: str = "139{i:08d}"
    staff_locale: Locale = Locale.ZH_HANT  # the language of the estate's own staff
    staff: Mapping[str, tuple[str, Locale]] = field(default_factory=dict)  # slug -> (name, language)


#: The estate ``seed_demo`` creates, whatever its code, unless told otherwise.
CUIHU = DemoEstate(
    name="翠湖花園",
    address="翠湖路 1 號",
    households=360,
    buildings=("1座", "2座", "3座"),
    floors=5,
    flats=("01", "02"),
    residents=(
        ("黃先生", Locale.ZH_HANT),
        ("周女士", Locale.ZH_HANS),
        ("Mr. Smith", Locale.EN),
        ("林太太", Locale.ZH_HANT),
    ),
    resident_units=40,
)


def database_is_empty(session: Session) -> bool:
    """True when no estate exists yet."""
    return session.scalar(select(func.count()).select_from(Estate)) == 0


DEMO_TOKEN_DAYS = 365

_Person = tuple[str, str, Role, str | None, Locale, bool]  # name, slug, role, department, language, own estate


def _people(policy: Policy, spec: DemoEstate) -> list[_Person]:
    """Every demo staff member of an estate, company-wide leaders included."""
    own = spec.staff_locale
    people: list[_Person] = [
        ("陳美玲", "reception", Role.RECEPTIONIST, "customer_service", own, True),
        ("李志強", "supervisor", Role.PROPERTY_SUPERVISOR, "management_office", own, True),
        ("王麗華", "manager", Role.SERVICE_CENTRE_MANAGER, "customer_service", own, True),
        ("张伟", "deputy-gm", Role.DEPUTY_GM, None, Locale.ZH_HANS, False),
        ("Grace Wong", "gm", Role.GM, None, Locale.EN, False),
    ]
    for key in policy.departments:
        people.append((f"{policy.departments[key]}主管", f"head-{key}", Role.DEPARTMENT_HEAD, key, own, True))
        people.append((f"{policy.departments[key]}師傅甲", f"{key}-1", Role.HANDLER, key, own, True))
        if key == "engineering":
            people.append(("Sam Lee", f"{key}-2", Role.HANDLER, key, Locale.EN, True))
            people.append(("刘师傅", f"{key}-3", Role.HANDLER, key, Locale.ZH_HANS, True))
    renamed: list[_Person] = []
    for name, slug, role, dept, locale, local in people:
        name, locale = spec.staff.get(slug, (name, locale))
        renamed.append((name, slug, role, dept, locale, local))
    return renamed


def seed_demo(session: Session, policy: Policy, code: str = "CH", estate: DemoEstate = CUIHU) -> list[DemoStaff]:
    """Create the demo estate ``code``; returns the staff with their API tokens (valid for a year)."""
    token_expiry = datetime.now(UTC) + timedelta(days=DEMO_TOKEN_DAYS)
    spec = estate
    row = Estate(
        code=code,
        name=spec.name,
        address=spec.address,
        households=spec.households,
        service_centre_email=f"service-{code.lower()}@{DEMO_DOMAIN}",
    )
    session.add(row)
    session.flush()
    units: list[Unit] = []
    for name in spec.buildings:
        building = Building(estate_id=row.id, name=name)
        session.add(building)
        session.flush()
        for floor in range(1, spec.floors + 1):
            for flat in spec.flats:
                units.append(Unit(estate_id=row.id, building_id=building.id, number=f"{floor}{flat}"))
    session.add_all(units)
    session.flush()
    departments = {key: Department(estate_id=row.id, code=key, name=name) for key, name in policy.departments.items()}
    session.add_all(departments.values())
    session.flush()
    created: list[DemoStaff] = []
    for name, slug, role, dept, locale, local in _people(policy, spec):
        token = secrets.token_urlsafe(24)
        email = f"{slug}-{code.lower()}@{DEMO_DOMAIN}" if local else f"{slug}@{DEMO_DOMAIN}"
        if not local and session.scalar(select(Staff.id).where(Staff.email == email)) is not None:
            continue  # company-wide leaders exist once, whatever the number of estates
        session.add(
            Staff(
                estate_id=row.id if local else None,
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
    for i, unit in enumerate(units[: spec.resident_units]):
        name, locale = spec.residents[i % len(spec.residents)]
        session.add(
            Resident(
                estate_id=row.id,
                unit_id=unit.id,
                name=name,
                phone=spec.resident_phone.format(i=i),
                email=f"resident{i + 1}-{code.lower()}@{DEMO_DOMAIN}",
                locale=locale,
            )
        )
    session.flush()
    return created


def write_demo_tokens(var_dir: Path, code: str, staff: list[DemoStaff]) -> Path:
    """List the demo staff's API tokens in ``var/demo-tokens-<code>.txt`` (mode 600)."""
    path = Path(var_dir) / f"demo-tokens-{code}.txt"
    path.write_text("".join(f"{s.email}\t{s.role.value}\t{s.token}\n" for s in staff), encoding="utf-8")
    path.chmod(0o600)
    return path
