"""Fixtures shared by the API tests: a seeded world on each database and a client over it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from estatecare.server import create_app
from tests.lifecycle_support import World, make_world


@pytest.fixture
def world(db_url: str, tmp_path: Path) -> World:
    return make_world(db_url, tmp_path)


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    with TestClient(create_app(world.core, clock=world.clock)) as c:
        yield c
