"""Shared set-up for lifecycle tests: a seeded App, staff tokens, a settable clock."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from estatecare.app import App
from estatecare.demo import seed_demo
from estatecare.migrate import upgrade
from estatecare.services import lifecycle
from estatecare.services.records import in_transaction
from estatecare.settings import Settings
from models import Complaint, Notification

T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)  # a Monday, 09:00 in Asia/Shanghai


#: Demo staff addresses are ``who@DOMAIN`` (``head-engineering-ch@estatecare.localhost``).
DOMAIN = "estatecare.localhost"
#: The web app password the web tests give the staff they sign in as.
PASSWORD = "a long enough password"
#: The public complaint form, filled in as a resident would.
FORM = {
    "estate": "CH",
    "building": "1座",
    "unit": "101",
    "complainant_name": "黃先生",
    "contact_phone": "13900000001",
    "contact_email": "wong@example.test",
    "content": "廚房天花板漏水，已經滴了兩天",
}


@dataclass
class Clock:
    """Time that tests move by hand."""

    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@dataclass
class World:
    """A seeded demo estate and its staff's tokens (by email prefix, e.g. ``head-engineering``)."""

    core: App
    tokens: dict[str, str]
    clock: Clock = field(default_factory=Clock)

    def auth(self, who: str) -> dict[str, str]:
        """The Authorization header of a demo staff member."""
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def complaint(self, reference: str) -> Complaint:
        with self.core.sessions() as s:
            c = s.scalar(select(Complaint).where(Complaint.reference == reference))
            assert c is not None
            return c

    def mails(self, template: str | None = None, reference: str | None = None) -> list[Notification]:
        """Outbox rows, optionally of one template and one complaint."""
        with self.core.sessions() as s:
            q = select(Notification).order_by(Notification.id)
            if template:
                q = q.where(Notification.template == template)
            if reference:
                q = q.where(Notification.complaint_id == self.complaint(reference).id)
            return list(s.scalars(q))

    def run_intake(self, reference: str) -> None:
        """The intake steps, each in its own transaction, as the intake flow runs them."""
        cid = self.complaint(reference).id
        core, now = self.core, self.clock()
        in_transaction(core.sessions, lambda s: lifecycle.receive(core, s, cid))
        in_transaction(core.sessions, lambda s: lifecycle.auto_assess(core, s, cid, now))
        in_transaction(core.sessions, lambda s: lifecycle.auto_assign(core, s, cid, now))
        in_transaction(core.sessions, lambda s: lifecycle.mark_intake_done(s, cid))

    def after_revisit(self, reference: str) -> str:
        cid = self.complaint(reference).id
        return in_transaction(self.core.sessions, lambda s: lifecycle.after_revisit(self.core, s, cid, self.clock()))


def resolve_and_confirm(client: TestClient, world: World, reference: str) -> None:
    """The handler records the result and the department head confirms it (R-HD-6)."""
    steps = (
        ("resolution", "engineering-1", {"result": "修好"}),
        ("resolution/confirmation", "head-engineering", {"confirmed": True}),
    )
    for step, who, body in steps:
        r = client.post(f"/api/complaints/{reference}/{step}", json=body, headers=world.auth(who))
        assert r.status_code == 200, r.text


def make_world(db_url: str, var_dir: Path, **settings: Any) -> World:
    """Seed the demo estate into ``db_url`` and keep its staff tokens."""
    if db_url.startswith("sqlite:///") and not Path(db_url.removeprefix("sqlite:///")).exists():
        upgrade(db_url)
    # tests post many complaints from one address: the intake limits only where a test sets them
    settings = {"public_form_rate": "10000/minute", "public_total_rate": "10000/minute", **settings}
    config = Settings(database_url=db_url, var_dir=var_dir, base_url="http://estatecare.test", **settings)
    core = App.from_settings(config)
    with core.transaction() as s:
        staff = seed_demo(s, core.policy)
    tokens = {member.email.split("@")[0].removesuffix("-ch"): member.token for member in staff}
    return World(core, tokens)


SIGNATURE_PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
