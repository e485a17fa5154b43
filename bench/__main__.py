"""``python -m bench [MODULE ...] [--quick]``: run the benchmarks, collect every row.

Every module of this package with a ``main(argv)`` is a benchmark (``results`` is the
shared helper, not a benchmark). Each runs in turn, in a process of its own; its rows are printed as it finishes
and all of them are written to ``bench/results/latest.json`` and ``latest.md``. A module
that fails is reported as a row that did not meet its goal, and the others still run.
``--quick`` is passed on to each module (a small scale for smoke runs); ``--quick-for MODULE``
to one only (e.g. a full run with the monthly benchmark at its small scale).
"""

from __future__ import annotations

import argparse
import json
import pkgutil
import sys
from datetime import UTC, datetime
from typing import Any

import bench
from bench._runner import run_isolated
from bench.results import RESULTS_DIR, format_table, markdown_table

NOT_BENCHMARKS = {"results"}


def discover() -> list[str]:
    """Names of the benchmark modules, sorted."""
    names = []
    for info in pkgutil.iter_modules(bench.__path__):
        if info.name.startswith("_") or info.name in NOT_BENCHMARKS:
            continue
        names.append(info.name)
    return sorted(names)


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    """Run the named benchmark modules (default: all) and write latest.json and latest.md."""
    available = discover()
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("modules", nargs="*", metavar="MODULE", help=f"any of: {', '.join(available)} (default: all)")
    parser.add_argument("--quick", action="store_true", help="a small scale for smoke runs")
    parser.add_argument(
        "--quick-for", action="append", default=[], metavar="MODULE", help="a small scale for this module only"
    )
    args = parser.parse_args(argv)
    unknown = [m for m in [*args.modules, *args.quick_for] if m not in available]
    if unknown:
        parser.error(f"no benchmark module {', '.join(unknown)}; available: {', '.join(available)}")
    rows: list[dict[str, Any]] = []
    for name in args.modules or available:
        quick = args.quick or name in args.quick_for
        print(f"== bench.{name}{' (quick)' if quick else ''}", flush=True)
        rows.extend(run_isolated(name, quick))
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "latest.json").write_text(json.dumps(rows, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    command = " ".join(["python -m bench", *(argv if argv is not None else sys.argv[1:])])
    header = f"# Benchmark results\n\n`{command}`, {stamp}.\n\n"
    (RESULTS_DIR / "latest.md").write_text(header + markdown_table(rows), encoding="utf-8")
    print("\n== all benchmarks", flush=True)
    print(format_table(rows), flush=True)
    print(f"written: {RESULTS_DIR / 'latest.json'}, {RESULTS_DIR / 'latest.md'}", flush=True)
    return rows


if __name__ == "__main__":
    # a goal not met is a result (the table says which); a benchmark that crashed is an error
    sys.exit(1 if any(str(r.get("id", "")).endswith(".error") for r in main(sys.argv[1:])) else 0)
