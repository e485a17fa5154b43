"""The OpenAPI schema tells the truth: schemathesis runs every operation with all its checks
(the CLI's ``--checks all``: no server error, every status code and content type documented,
responses matching their schemas, invalid requests refused, valid ones accepted), against the
ASGI app on SQLite and PostgreSQL, once anonymously and once with a staff token.

The figures (operations, examples, failures) are printed at the end of the module.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.errors import FailureGroup

from estatecare.app import App
from estatecare.db import make_engine
from estatecare.server import create_app
from estatecare.settings import Settings
from models.policy import load_policy
from tests.lifecycle_support import World, make_world

MAX_EXAMPLES = 25


class _Target:
    """The ASGI app the generated requests go to: each test points it at its own database."""

    def __init__(self) -> None:
        settings = Settings(var_dir=Path(tempfile.gettempdir()), database_url="sqlite://")
        # reading the schema needs no database: an in-memory one serves until a test sets its own
        self.app: Any = create_app(App(settings=settings, policy=load_policy(), engine=make_engine("sqlite://")))

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


TARGET = _Target()
schema = schemathesis.openapi.from_asgi("/openapi.json", TARGET)
schema.config.generation.update(max_examples=MAX_EXAMPLES, deterministic=True, database="none")
# A well-formed value that a rule refuses (an unknown estate, an assessment without its category)
# is answered 422 naming the field, as documented: schema-valid data may get 422 as well.
schema.config.checks.positive_data_acceptance.expected_statuses = [
    *schema.config.checks.positive_data_acceptance.expected_statuses,
    "422",
]
#: Operations whose 5xx is an answer: /api/health is 503 while a part is down (no Prefect server runs here).
SERVER_ERROR_IS_AN_ANSWER = {"GET /api/health"}


@dataclass
class Tally:
    """What one way of calling (anonymous, staff) went through."""

    operations: set[str] = field(default_factory=set)
    examples: int = 0
    failures: list[str] = field(default_factory=list)


#: By who calls and on which database.
TALLIES: dict[str, Tally] = defaultdict(Tally)


@pytest.fixture(scope="module", autouse=True)
def figures(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    lines = []
    for who, tally in sorted(TALLIES.items()):
        lines.append(
            f"schemathesis ({who}, checks: all, max_examples {MAX_EXAMPLES}): "
            f"{len(tally.operations)} operations, {tally.examples} examples, {len(tally.failures)} failures"
        )
        lines.extend("  " + failure for failure in tally.failures)
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture is not None else contextlib.nullcontext():
        print("\n" + "\n".join(lines))


@pytest.fixture
def fuzz_world(db_url: str, tmp_path: Path) -> Iterator[World]:
    world = make_world(db_url, tmp_path, attachments_dir=tmp_path / "store", attachments_min_free_mb=0)
    previous, TARGET.app = TARGET.app, create_app(world.core, clock=world.clock)
    yield world
    TARGET.app = previous


def _run(case: Any, world: World, who: str, headers: dict[str, str] | None) -> None:
    tally = TALLIES[f"{who}, {world.core.engine.dialect.name}"]
    tally.operations.add(case.operation.label)
    tally.examples += 1
    try:
        excluded = [not_a_server_error] if case.operation.label in SERVER_ERROR_IS_AN_ANSWER else []
        case.call_and_validate(headers=headers, excluded_checks=excluded)
    except FailureGroup as exc:
        for failure in exc.exceptions:
            tally.failures.append(f"{case.operation.label}: {failure.title} ({getattr(failure, 'message', '')!s:.160})")
        raise


FUZZ = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.generate],  # no shrinking: report the first failing example as it came
)


@schema.parametrize()
@FUZZ
def test_every_operation_keeps_to_its_schema_anonymously(case: Any, fuzz_world: World) -> None:
    _run(case, fuzz_world, "anonymous", None)


@schema.parametrize()
@FUZZ
def test_every_operation_keeps_to_its_schema_with_a_staff_token(case: Any, fuzz_world: World) -> None:
    _run(case, fuzz_world, "staff", {"Authorization": f"Bearer {fuzz_world.tokens['manager']}"})
