"""The keyword rules against the labelled corpus (tests/corpus): floors on precision and recall
per field value over the whole corpus, a little below what the shipped policy measures
(``python -m bench assessment`` prints the table). urgent+major sends a complaint to the
service-centre manager and leadership (R-AS-3, R-AS-4): its precision must stay >= 0.95."""

from __future__ import annotations

import pytest

from bench.assessment import CORPUS, Score, load_corpus, measure
from models.policy import Policy

#: field value -> (precision floor, recall floor) over the whole corpus
FLOORS: dict[str, tuple[float, float]] = {
    "category=facility": (0.75, 0.70),
    "category=service": (0.85, 0.45),
    "category=environment": (0.85, 0.75),
    "category=safety": (0.90, 0.70),
    "category=other": (0.70, 0.50),
    "service_area=housing": (0.90, 0.55),
    "service_area=security": (0.85, 0.80),
    "service_area=vehicles": (0.70, 0.65),
    "service_area=cleaning": (0.95, 0.85),
    "service_area=landscaping": (0.95, 0.80),
    "service_area=repairs": (0.85, 0.70),
    "service_area=community": (0.95, 0.60),
    "service_area=convenience": (0.80, 0.60),
    "urgent": (0.95, 0.65),
    "major": (0.95, 0.60),
    "invalid": (0.95, 0.75),
    "urgent+major": (0.95, 0.65),
}


@pytest.fixture(scope="module")
def scores(policy: Policy) -> dict[str, Score]:
    items = load_corpus(CORPUS)
    assert len(items) >= 240 and {i["split"] for i in items} == {"dev", "holdout"}
    return measure(items, policy)["all"]


@pytest.mark.parametrize("value", sorted(FLOORS))
def test_each_field_value_stays_above_its_floor(scores: dict[str, Score], value: str) -> None:
    floor_p, floor_r = FLOORS[value]
    s = scores[value]
    assert s.precision is not None and s.precision >= floor_p, f"{value}: precision measured {s.precision:.2f}"
    assert s.recall is not None and s.recall >= floor_r, f"{value}: recall measured {s.recall:.2f}"


def test_urgent_and_major_together_are_almost_never_suggested_wrongly(scores: dict[str, Score]) -> None:
    s = scores["urgent+major"]
    assert s.precision is not None and s.precision >= 0.95, f"urgent+major precision measured {s.precision}"
