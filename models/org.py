"""Organisation: estates, buildings, units, residents, departments, staff."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, utcnow
from models.enums import Locale, Role


class Estate(Base):
    """One managed property with its own service centre (小區 / 管理處)."""

    __tablename__ = "estate"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(400), default="")
    households: Mapped[int] = mapped_column(default=0)
    service_centre_email: Mapped[str] = mapped_column(String(320), default="")

    buildings: Mapped[list[Building]] = relationship(back_populates="estate")


class Building(Base):
    """A building (棟 / 座) of an estate."""

    __tablename__ = "building"
    __table_args__ = (UniqueConstraint("estate_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estate.id"))
    name: Mapped[str] = mapped_column(String(100))

    estate: Mapped[Estate] = relationship(back_populates="buildings")
    units: Mapped[list[Unit]] = relationship(back_populates="building")


class Unit(Base):
    """An apartment or office (單元 / 房號)."""

    __tablename__ = "unit"
    __table_args__ = (UniqueConstraint("building_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estate.id"), index=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("building.id"))
    number: Mapped[str] = mapped_column(String(50))

    building: Mapped[Building] = relationship(back_populates="units")

    @property
    def label(self) -> str:
        """Building and unit, as written on forms (e.g. "1座 1203")."""
        return f"{self.building.name} {self.number}"


class Resident(Base):
    """An owner or tenant (業主 / 住戶). Contact data is confidential (R-IN-6)."""

    __tablename__ = "resident"

    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estate.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(40), default="")
    email: Mapped[str] = mapped_column(String(320), default="")
    locale: Mapped[Locale] = mapped_column(default=Locale.ZH_HANT)


class Department(Base):
    """A responsible department of an estate (工程部, 保安部, 清潔部...)."""

    __tablename__ = "department"
    __table_args__ = (UniqueConstraint("estate_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int] = mapped_column(ForeignKey("estate.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))


class Staff(Base):
    """A staff member. Leaders (deputy GM, GM) have no estate: they see all."""

    __tablename__ = "staff"
    __table_args__ = (Index("ix_staff_estate_role", "estate_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    estate_id: Mapped[int | None] = mapped_column(ForeignKey("estate.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    phone: Mapped[str] = mapped_column(String(40), default="")
    role: Mapped[Role] = mapped_column()
    locale: Mapped[Locale] = mapped_column(default=Locale.ZH_HANT)
    active: Mapped[bool] = mapped_column(default=True)
    api_token_hash: Mapped[str | None] = mapped_column(String(128), unique=True)
    # A token without an expiry is refused; `estatecare staff issue-token` sets both.
    api_token_expires_at: Mapped[datetime | None] = mapped_column()
    password_hash: Mapped[str | None] = mapped_column(String(256))
    # Web sessions carry this number; sign-out and a password change raise it, which ends
    # every session signed in before.
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    # Failed sign-ins in a row, and until when the account refuses sign-in (lockout with backoff).
    failed_logins: Mapped[int] = mapped_column(default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    department: Mapped[Department | None] = relationship()
