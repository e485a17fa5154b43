"""The front desk's repair requests on real SQLite and PostgreSQL: staff register a resident's call or
walk-in (R-IN-1) from the page and the CLI; the job is dispatched at once to its trade's least busy
technician (R-HD-2) and the desk is told the reference, the technician and the on-site deadline."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from babel.dates import format_datetime
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from typer.testing import CliRunner

from estatecare.cli import app as cli
from estatecare.server import create_app
from estatecare.webapp.accounts import set_password
from models import Staff, WorkOrder
from models.enums import Channel, Locale, WorkOrderStatus
from notifications.i18n import BABEL_LOCALES
from tests.lifecycle_support import DOMAIN, PASSWORD, T0, World, csrf_in, make_world, sign_in

CALL = {
    "channel": "phone",
    "building": "1座",
    "unit": "101",
    "contact_name": "黃先生",
    "contact_phone": "13900000001",
    "contact_email": "",
    "locale": "zh-Hant",
    "trade": "water",
    "urgency": "urgent",
    "preferred_at": "",
    "description": "廚房水喉爆裂，水流不停",
}


@pytest.fixture
def world(db_url: str, tmp_path: Path) -> World:
    w = make_world(db_url, tmp_path)
    with w.core.transaction() as s:
        for who in ("reception", "engineering-1"):
            set_password(s, f"{who}-ch@{DOMAIN}", PASSWORD)
    return w


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    with TestClient(create_app(world.core, clock=world.clock), raise_server_exceptions=False) as c:
        yield c


def register(client: TestClient, **fields: str) -> Any:
    page = client.get("/staff/front-desk/repairs")
    assert page.status_code == 200, page.text
    data = {**CALL, **fields, "csrf_token": csrf_in(page.text)}
    return client.post("/staff/front-desk/repairs", data=data, follow_redirects=False)


def jobs(world: World) -> int:
    with world.core.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(WorkOrder)) or 0)


def job(world: World, reference: str) -> WorkOrder:
    with world.core.sessions() as s:
        order = s.scalar(select(WorkOrder).where(WorkOrder.reference == reference))
        assert order is not None
        return order


def staff_name(world: World, staff_id: int | None) -> str:
    with world.core.sessions() as s:
        person = s.get(Staff, staff_id)
        assert person is not None
        return person.name


def test_a_phone_request_is_dispatched_and_the_desk_is_told_who_comes_by_when(client: TestClient, world: World) -> None:
    sign_in(client, f"reception-ch@{DOMAIN}")
    assert 'href="/staff/front-desk/repairs"' in client.get("/").text
    assert 'href="/staff/front-desk/repairs"' in client.get("/staff/front-desk").text
    r = register(client)
    assert r.status_code == 303, r.text
    location = r.headers["location"]
    assert location.startswith("/staff/front-desk/repairs/registered/")
    reference = location.rsplit("/", 1)[-1]
    order = job(world, reference)
    assert (order.status, order.channel) == (WorkOrderStatus.DISPATCHED, Channel.PHONE)
    assert order.handler_id is not None and order.on_site_due_at == T0 + timedelta(minutes=30)
    done = client.get(location)
    assert done.status_code == 200
    technician = staff_name(world, order.handler_id)
    assert re.search(rf'id="technician">\s*{re.escape(technician)}', done.text)
    due = order.on_site_due_at.astimezone(world.core.policy.tz)
    deadline = format_datetime(due, "short", locale=BABEL_LOCALES[Locale.ZH_HANT])
    assert f'id="on-site-by">{deadline}<' in done.text
    assert f'href="/staff/work-orders/{reference}"' in done.text and "報修已登記" in done.text
    # A walk-in with a booked time: that time, read in the estate's timezone, is the deadline.
    walk_in = register(client, channel="front_desk", urgency="normal", preferred_at="2026-11-03 14:30")
    assert walk_in.status_code == 303, walk_in.text
    booked = job(world, walk_in.headers["location"].rsplit("/", 1)[-1])
    assert booked.channel is Channel.FRONT_DESK
    assert booked.preferred_at == booked.on_site_due_at == T0.replace(day=3, hour=6, minute=30)


def test_bad_input_gives_the_form_back_translated_with_everything_typed(client: TestClient, world: World) -> None:
    sign_in(client, f"reception-ch@{DOMAIN}")
    unknown = register(client, unit="999", contact_name="林太太", description="浴室去水位淤塞")
    assert unknown.status_code == 422
    assert "本小區沒有這個單元" in unknown.text and "no unit" not in unknown.text
    assert 'value="999"' in unknown.text and 'value="林太太"' in unknown.text and "浴室去水位淤塞" in unknown.text
    assert 'value="water" selected' in unknown.text
    assert re.search(r'id="urgency-urgent"[^>]* checked', unknown.text)
    unreachable = register(client, contact_phone="", contact_email="", preferred_at="明天下午")
    assert unreachable.status_code == 422
    assert "請填寫住戶的電話或電郵" in unreachable.text and 'value="明天下午"' in unreachable.text
    assert 'aria-describedby="preferred_at-error"' in unreachable.text
    past = register(client, preferred_at="2026-11-01 10:00")
    assert past.status_code == 422 and 'aria-describedby="preferred_at-error"' in past.text
    assert jobs(world) == 0


def test_only_the_front_desk_and_supervisors_register_requests(client: TestClient, world: World) -> None:
    sign_in(client, f"engineering-1-ch@{DOMAIN}")
    assert client.get("/staff/front-desk/repairs").status_code == 403
    token = csrf_in(client.get("/staff").text)
    assert client.post("/staff/front-desk/repairs", data={**CALL, "csrf_token": token}).status_code == 403
    assert jobs(world) == 0


def test_the_cli_registers_a_request_and_refuses_a_bad_trade(world: World, db_url: str) -> None:
    env = {"ESTATECARE_DATABASE_URL": db_url, "ESTATECARE_VAR_DIR": str(world.core.settings.var_dir)}
    args = ["repair", "request", "--estate", "CH", "--building", "1座", "--unit", "101", "--urgency", "urgent"]
    args += ["--phone", "13900000001", "--name", "黃先生", "--text", "廚房水喉爆裂", "--channel", "walk_in"]
    result = CliRunner().invoke(cli, [*args, "--trade", "water", "--received-by", f"reception-ch@{DOMAIN}"], env=env)
    assert result.exit_code == 0, result.output
    reference, technician, deadline = result.stdout.splitlines()
    order = job(world, reference.strip())
    assert order.status is WorkOrderStatus.DISPATCHED and order.channel is Channel.FRONT_DESK
    assert technician == f"technician {staff_name(world, order.handler_id)}"
    assert order.on_site_due_at is not None
    assert deadline == f"on site by {order.on_site_due_at.astimezone(world.core.policy.tz):%Y-%m-%d %H:%M}"
    bad = CliRunner().invoke(cli, [*args, "--trade", "plumbing", "--received-by", f"reception-ch@{DOMAIN}"], env=env)
    assert bad.exit_code == 2 and "trade" in bad.output
    nobody = CliRunner().invoke(cli, [*args, "--trade", "water", "--received-by", "nobody@example.test"], env=env)
    assert nobody.exit_code == 2 and "no active staff member" in nobody.output
    assert jobs(world) == 1
