"""The deadline sweep and live jobs, on SQLite and PostgreSQL: a job nobody reached by its on-site
deadline is recorded as overdue in its history and sent to its department head (with no head, to the
service centre manager) with a signed link to the job's page, once per job and deadline; a reopened
job's new deadline may be missed, and told, again."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from fastapi.testclient import TestClient
from sqlalchemy import select

from estatecare.links import read_token
from estatecare.services import lifecycle
from estatecare.services.records import in_transaction
from models import Notification, Staff, WorkOrder, WorkOrderEvent
from tests.integration.test_repairs import URGENT, email, finish, job, mine_id, request, revisit
from tests.lifecycle_support import T0, World


def sweep(world: World) -> list[int]:
    core = world.core
    return in_transaction(core.sessions, lambda s: lifecycle.sweep_deadlines(core, s, world.clock()))


def overdue_rows(world: World, ref: str) -> list[WorkOrderEvent]:
    with world.core.sessions() as s:
        order_id = s.scalar(select(WorkOrder.id).where(WorkOrder.reference == ref))
        return list(
            s.scalars(
                select(WorkOrderEvent)
                .where(WorkOrderEvent.work_order_id == order_id, WorkOrderEvent.action == "overdue")
                .order_by(WorkOrderEvent.seq)
            )
        )


def overdue_mails(world: World, ref: str) -> list[Notification]:
    return [m for m in world.mails("job_overdue") if m.context["reference"] == ref]


def test_a_job_nobody_reached_in_time_goes_to_the_department_head_once(client: TestClient, world: World) -> None:
    ref = request(client, URGENT)["reference"]
    world.clock.advance(minutes=29)
    assert sweep(world) == [] and overdue_rows(world, ref) == []  # still in time

    world.clock.advance(minutes=2)  # 31 minutes after the request, nobody on site
    assert sweep(world) == []  # no complaint escalated: the sweep's answer is the complaints'
    [row] = overdue_rows(world, ref)
    assert (row.from_status, row.to_status, row.actor_id) == ("dispatched", "dispatched", None)
    due = datetime.fromisoformat(job(client, world, ref, "manager")["on_site_due_at"])
    assert datetime.fromisoformat(row.data["on_site_due_at"]) == due == T0 + timedelta(minutes=30)

    [mail] = overdue_mails(world, ref)
    assert mail.recipient_email == email(world, "head-engineering")
    assert mail.context["technician_name"] and mail.context["urgency"] == "urgent"
    url = urlsplit(mail.context["action_url"])
    claim = read_token(world.core.settings, parse_qs(url.query)["t"][0], url.path, world.clock())
    assert url.path == f"/staff/work-orders/{ref}" and claim.staff_id == mine_id(world, "head-engineering")

    world.clock.advance(minutes=5)  # the next run finds it told already
    sweep(world)
    assert len(overdue_rows(world, ref)) == 1 and len(overdue_mails(world, ref)) == 1
    assert job(client, world, ref, "manager")["history"][-1]["action"] == "overdue"


def test_a_job_whose_technician_arrived_is_not_overdue(client: TestClient, world: World) -> None:
    ref = request(client, URGENT)["reference"]
    world.clock.advance(minutes=20)
    r = client.post(f"/api/work-orders/{ref}/arrival", json={}, headers=world.auth("engineering-1"))
    assert r.status_code == 200, r.text
    world.clock.advance(minutes=40)
    sweep(world)
    assert overdue_rows(world, ref) == [] and overdue_mails(world, ref) == []


def test_without_a_department_head_the_service_centre_manager_is_told(client: TestClient, world: World) -> None:
    with world.core.transaction() as s:
        for head in s.scalars(select(Staff).where(Staff.email == email(world, "head-engineering"))):
            head.active = False
    ref = request(client, URGENT)["reference"]
    world.clock.advance(minutes=31)
    sweep(world)
    [mail] = overdue_mails(world, ref)
    assert mail.recipient_email == email(world, "manager")


def test_a_reopened_job_is_told_again_on_its_new_deadline(client: TestClient, world: World) -> None:
    ref = request(client, URGENT)["reference"]
    world.clock.advance(minutes=31)
    sweep(world)
    assert len(overdue_rows(world, ref)) == 1

    done = finish(client, world, ref, "engineering-1")
    world.clock.advance(hours=3)
    revisit(client, world, done["revisit_id"], satisfied=False)  # reopened: on site within 30 minutes again
    sweep(world)
    assert len(overdue_rows(world, ref)) == 1  # the new deadline has not passed

    world.clock.advance(minutes=31)
    sweep(world)
    first, again = overdue_rows(world, ref)
    assert again.data["on_site_due_at"] != first.data["on_site_due_at"]
    assert [m.recipient_email for m in overdue_mails(world, ref)] == [email(world, "head-engineering")] * 2
    world.clock.advance(minutes=5)
    sweep(world)
    assert len(overdue_rows(world, ref)) == 2 and len(overdue_mails(world, ref)) == 2
