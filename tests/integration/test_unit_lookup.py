"""One unit lookup for intake and work orders: an unknown unit, or a unit number found in several
buildings without the building named, is refused naming the field, and nothing is written."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from models import Building, Complaint, Unit, WorkOrder
from tests.lifecycle_support import World

#: The demo estate's buildings 1座 to 3座 all have a unit 101.
ORDER = {"estate": "CH", "unit": "101", "kind": "urgent_repair"}
COMPLAINT = {"estate": "CH", "unit": "101", "content": "走廊燈不亮"}


def _counts(world: World) -> tuple[int, int]:
    with world.core.sessions() as s:
        return s.scalar(select(func.count(WorkOrder.id))) or 0, s.scalar(select(func.count(Complaint.id))) or 0


def _order(client: TestClient, world: World, **fields: Any) -> Any:
    return client.post("/api/work-orders", json={**ORDER, **fields}, headers=world.auth("manager"))


def _refusal(response: Any) -> tuple[list[str], str]:
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    return error["loc"], error["msg"]


def test_a_work_order_for_a_unit_in_several_buildings_is_refused_naming_the_building(
    client: TestClient, world: World
) -> None:
    before = _counts(world)
    loc, msg = _refusal(_order(client, world))
    assert loc == ["body", "building"] and "name the building" in msg
    assert _counts(world) == before


def test_a_work_order_for_a_unit_with_its_building_is_for_that_buildings_unit(client: TestClient, world: World) -> None:
    r = _order(client, world, building="2座")
    assert r.status_code == 201, r.text
    with world.core.sessions() as s:
        building = s.scalar(
            select(Building.name)
            .join(Unit, Unit.building_id == Building.id)
            .join(WorkOrder, WorkOrder.unit_id == Unit.id)
            .where(WorkOrder.reference == r.json()["reference"])
        )
    assert building == "2座"


@pytest.mark.parametrize(
    ("fields", "field"),
    [({}, "building"), ({"unit": "9999"}, "unit"), ({"building": "99座"}, "unit")],
    ids=["ambiguous", "unknown unit", "unknown building"],
)
def test_intake_and_work_orders_refuse_the_same_units_alike(
    client: TestClient, world: World, fields: dict[str, str], field: str
) -> None:
    before = _counts(world)
    complaint = _refusal(client.post("/api/complaints", json={**COMPLAINT, **fields}))
    order = _refusal(_order(client, world, **fields))
    assert complaint == order and complaint[0] == ["body", field]
    assert _counts(world) == before
