"""assessment: precision and recall of the keyword rules' suggestions on the labelled corpus.

``python -m bench.assessment [--policy FILE]`` (``--quick`` is accepted and changes nothing:
the corpus is small). Each complaint of ``tests/corpus/complaints.jsonl`` is run through
``models.assessment.suggest`` with the policy (default: the shipped one); per field value
(each category, each service area, urgent, major, invalid, and urgent+major together) the
table gives precision (of the complaints the rules suggest it for, the share labelled so) and
recall (of those labelled so, the share the rules suggest it for) on the ``dev`` split (the
rules are tuned on it), the ``holdout`` split and all. Goal: urgent+major precision >= 0.95
on all, since that pair sends a complaint to the service-centre manager and leadership.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.results import print_table, row, write_json
from models.assessment import Suggestion, suggest
from models.enums import Category, ServiceArea
from models.policy import Policy, load_policy

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "corpus" / "complaints.jsonl"
SPLITS = ("dev", "holdout", "all")
URGENT_MAJOR_GOAL = 0.95

Item = dict[str, Any]
Test = Callable[[dict[str, Any]], bool]


def load_corpus(path: Path = CORPUS) -> list[Item]:
    """The labelled complaints, one JSON object a line."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _labels(s: Suggestion) -> dict[str, Any]:
    """A suggestion in the corpus's terms."""
    return {
        "category": s.category.value if s.category else None,
        "service_area": s.service_area.value if s.service_area else None,
        "urgency": s.urgency.value,
        "severity": s.severity.value,
        "valid": s.valid,
    }


def _value_tests() -> dict[str, Test]:
    """Each field value measured, as a test on labels (the corpus's or the suggestion's)."""
    tests: dict[str, Test] = {}
    for c in Category:
        tests[f"category={c.value}"] = lambda x, v=c.value: x["category"] == v
    for a in ServiceArea:
        tests[f"service_area={a.value}"] = lambda x, v=a.value: x["service_area"] == v
    tests["urgent"] = lambda x: x["urgency"] == "urgent"
    tests["major"] = lambda x: x["severity"] == "major"
    tests["invalid"] = lambda x: x["valid"] is False
    tests["urgent+major"] = lambda x: x["urgency"] == "urgent" and x["severity"] == "major"
    return tests


@dataclass(frozen=True)
class Score:
    """How one field value fared on a set of complaints."""

    true_positive: int
    predicted: int
    labelled: int

    @property
    def precision(self) -> float | None:
        return self.true_positive / self.predicted if self.predicted else None

    @property
    def recall(self) -> float | None:
        return self.true_positive / self.labelled if self.labelled else None


def measure(items: Iterable[Item], policy: Policy) -> dict[str, dict[str, Score]]:
    """Per split (dev, holdout, all), per field value: true positives, predicted, labelled."""
    pairs = [(item, _labels(suggest(item["text"], policy))) for item in items]
    out: dict[str, dict[str, Score]] = {}
    for split in SPLITS:
        chosen = [(gold, got) for gold, got in pairs if split == "all" or gold["split"] == split]
        out[split] = {
            name: Score(
                sum(1 for gold, got in chosen if test(gold) and test(got)),
                sum(1 for _, got in chosen if test(got)),
                sum(1 for gold, _ in chosen if test(gold)),
            )
            for name, test in _value_tests().items()
        }
    return out


def mistakes(items: Iterable[Item], policy: Policy, split: str = "dev") -> list[str]:
    """The complaints of a split whose suggestion differs from the label in some field (for tuning)."""
    lines = []
    for item in items:
        if split != "all" and item["split"] != split:
            continue
        got = _labels(suggest(item["text"], policy))
        wrong = {k: (item[k], v) for k, v in got.items() if item[k] != v}
        if wrong:
            lines.append(f"{item['id']} {item['text'][:60]} {wrong}")
    return lines


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def format_scores(scores: dict[str, dict[str, Score]]) -> str:
    """Precision, recall and the number labelled, per field value and split."""
    header = ["field value"] + [f"{split} {col}" for split in SPLITS for col in ("P", "R", "n")]
    lines = [header]
    for name in scores["all"]:
        cells = [name]
        for split in SPLITS:
            s = scores[split][name]
            cells += [_fmt(s.precision), _fmt(s.recall), str(s.labelled)]
        lines.append(cells)
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in lines)


def _rows(scores: dict[str, dict[str, Score]]) -> list[dict[str, Any]]:
    rows = []
    for split in SPLITS:
        for name, s in scores[split].items():
            goal = split == "all" and name == "urgent+major"
            detail = {"true_positive": s.true_positive, "predicted": s.predicted, "labelled": s.labelled}
            rows.append(
                row(
                    f"assessment.{split}.{name}.precision",
                    s.precision,
                    "precision",
                    goal=f">= {URGENT_MAJOR_GOAL}" if goal else "-",
                    met=(s.precision is not None and s.precision >= URGENT_MAJOR_GOAL) if goal else None,
                    detail=detail,
                )
            )
            rows.append(row(f"assessment.{split}.{name}.recall", s.recall, "recall", detail=detail))
    return rows


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    """Measure, print the table and the rows, write ``bench/results/assessment.json``."""
    parser = argparse.ArgumentParser(prog="python -m bench.assessment", description=__doc__)
    parser.add_argument("--policy", type=Path, default=None, help="a policy file (default: the shipped one)")
    parser.add_argument("--quick", action="store_true", help="accepted; the corpus is small")
    parser.add_argument("--mistakes", choices=[*SPLITS, "none"], default="none", help="list the misses of a split")
    args = parser.parse_args(argv)
    policy = load_policy(args.policy)
    items = load_corpus()
    scores = measure(items, policy)
    counts = {split: sum(1 for i in items if split == "all" or i["split"] == split) for split in SPLITS}
    print(f"corpus: {CORPUS} ({', '.join(f'{k} {v}' for k, v in counts.items())})", flush=True)
    print(format_scores(scores), flush=True)
    if args.mistakes != "none":
        print("\n".join(mistakes(items, policy, args.mistakes)), flush=True)
    rows = _rows(scores)
    print_table([r for r in rows if r["id"].startswith("assessment.all.")])
    write_json(rows, "assessment")
    return rows


if __name__ == "__main__":
    main()
