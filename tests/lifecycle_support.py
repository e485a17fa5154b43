"""Shared set-up for lifecycle tests: a seeded App, staff tokens, a settable clock."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from estatecare.app import App
from estatecare.demo import seed_demo
from estatecare.migrate import upgrade
from estatecare.services import lifecycle, tokens
from estatecare.services.records import in_transaction
from estatecare.services.schemas import AssessmentIn
from estatecare.settings import Settings
from models import Complaint, Notification
from models.assessment import suggest
from models.enums import Category
from models.policy import DEFAULT_POLICY_FILE

T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)  # a Monday, 09:00 in Asia/Shanghai


#: Demo staff addresses are ``who@DOMAIN`` (``head-engineering-ch@estatecare.localhost``).
DOMAIN = "estatecare.localhost"
#: The web app password the web tests give the staff they sign in as.
PASSWORD = "a long enough password"
#: The public complaint form, filled in as a resident would.
#: A resident's complaint as the REST API takes it.
LEAK = {
    "estate": "CH",
    "building": "1座",
    "unit": "101",
    "content": "廚房天花板漏水，已經滴了兩天",
    "complainant_name": "黃先生",
    "contact_phone": "13900000001",
    "contact_email": "wong@example.test",
}


def csrf_in(html: str) -> str:
    """The CSRF token of the form on a web page."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html[:500]
    return match.group(1)


def sign_in(client: TestClient, email: str) -> None:
    """Sign ``email`` in to the web app (its password is ``PASSWORD``)."""
    token = csrf_in(client.get("/staff/login").text)
    form = {"email": email, "password": PASSWORD, "next": "/staff", "csrf_token": token}
    r = client.post("/staff/login", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text


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

    def assess(self, reference: str, who: str = "supervisor", **fields: Any) -> None:
        """A person's assessment (R-AS-1..4): the keyword rules' suggestion confirmed, ``fields``
        corrected (category ``other`` when nothing is suggested), then the assignment that follows."""
        c = self.complaint(reference)
        s = suggest(c.content, self.core.policy)
        data = AssessmentIn.model_validate(
            {
                "valid": True,
                "category": s.category or Category.OTHER,
                "service_area": s.service_area,
                "urgency": s.urgency,
                "severity": s.severity,
                **fields,
            }
        )
        core, now, token = self.core, self.clock(), self.tokens[who]
        actor = in_transaction(core.sessions, lambda s: tokens.authenticate(s, token, now))
        in_transaction(core.sessions, lambda s: lifecycle.assess(core, s, reference, data, actor, now))
        in_transaction(core.sessions, lambda s: lifecycle.auto_assign(core, s, c.id, now))

    def intake(self, reference: str, who: str = "supervisor", **fields: Any) -> None:
        """The intake flow, then the supervisor's assessment and the assignment (``assess``)."""
        self.run_intake(reference)
        if self.complaint(reference).status == "received":
            self.assess(reference, who, **fields)

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


def assess_via_api(client: TestClient, world: World, reference: str, who: str = "supervisor", **fields: Any) -> None:
    """The supervisor confirms the keyword rules' suggestion through the API (R-AS-1..4), with
    ``fields`` corrected; what continues it (the assignment) is the caller's to run or await."""
    r = client.get(f"/api/complaints/{reference}", headers=world.auth(who))
    assert r.status_code == 200, r.text
    body: dict[str, Any] = {f["field"]: f["value"] for f in r.json()["suggestion"]["fields"] if f["value"]}
    body["valid"] = body.get("valid", "yes") == "yes"
    body.setdefault("category", "other")
    body.update(fields)
    r = client.post(f"/api/complaints/{reference}/assessment", json=body, headers=world.auth(who))
    assert r.status_code == 200, r.text


def trusting_policy(directory: Path) -> Path:
    """The shipped policy with every keyword rule trusted for every field (``apply_alone``): a
    complaint its rules cover without disagreement is assessed without a person (R-AS-1..3).
    For tests whose subject is a later, automatic step."""
    text = re.sub(r"^apply_alone = .*\n", "", DEFAULT_POLICY_FILE.read_text(encoding="utf-8"), flags=re.M)
    head, *rules = text.split("[[assessment.rules]]\n")
    out = [head]
    for block in rules:
        rule, _, rest = block.partition("\n\n")
        fields = [f for f in ("category", "service_area") if re.search(rf"^{f} = ", rule, re.M)]
        out.append(f"{rule}\napply_alone = {json.dumps([*fields, 'urgency', 'severity', 'valid'])}\n\n{rest}")
    path = directory / "trusting-policy.toml"
    path.write_text("[[assessment.rules]]\n".join(out), encoding="utf-8")
    return path
