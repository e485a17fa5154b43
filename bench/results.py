"""The result row every benchmark returns, its table and its JSON file.

Each benchmark module has ``main(argv: list[str] | None = None) -> list[dict]``: it
measures, prints its rows with :func:`print_table`, writes them with :func:`write_json`
(``bench/results/<module>.json``) and returns them. ``python -m bench`` collects the
rows of every module into ``bench/results/latest.json`` and ``latest.md``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypedDict

RESULTS_DIR = Path(__file__).parent / "results"
COLUMNS = ("id", "figure", "unit", "reference", "reference_figure", "ratio", "goal", "met")


class Row(TypedDict, total=False):
    """One figure beside its reference. ``met`` is None when the row has no goal (information)."""

    id: str
    figure: float | None
    unit: str
    reference: str
    reference_figure: float | None
    ratio: float | None
    goal: str
    met: bool | None
    detail: dict[str, Any]


def row(
    id: str,
    figure: float | None,
    unit: str,
    *,
    reference: str = "-",
    reference_figure: float | None = None,
    goal: str = "-",
    met: bool | None = None,
    ratio: float | None = None,
    digits: int = 2,
    detail: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A result row; ``ratio`` defaults to figure / reference_figure when both are known."""
    if ratio is None and figure is not None and reference_figure:
        ratio = figure / reference_figure
    out: dict[str, Any] = {
        "id": id,
        "figure": None if figure is None else round(figure, digits),
        "unit": unit,
        "reference": reference,
        "reference_figure": None if reference_figure is None else round(reference_figure, digits),
        "ratio": None if ratio is None else round(ratio, 2),
        "goal": goal,
        "met": met,
    }
    if detail:
        out["detail"] = dict(detail)
    return out


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if value is True:
        return "yes"
    if value is False:
        return "NO"
    return str(value)


def format_table(rows: Iterable[Mapping[str, Any]]) -> str:
    """The rows as aligned plain-text columns (what a benchmark prints)."""
    cells = [list(COLUMNS), *([_cell(r.get(c)) for c in COLUMNS] for r in rows)]
    widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS))]
    return "\n".join("  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip() for line in cells)


def print_table(rows: Iterable[Mapping[str, Any]]) -> None:
    """Print the rows as a table."""
    print(format_table(rows), flush=True)


def markdown_table(rows: Iterable[Mapping[str, Any]]) -> str:
    """The rows as a markdown table (``bench/results/latest.md``)."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for r in rows:
        lines.append("| " + " | ".join(_cell(r.get(c)).replace("|", "\\|") for c in COLUMNS) + " |")
    return "\n".join(lines) + "\n"


def write_json(rows: Sequence[Mapping[str, Any]], name: str) -> Path:
    """Write ``bench/results/<name>.json``; returns its path."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(list(rows), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path
