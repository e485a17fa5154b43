"""The demo world's seed: three estates with a year of history, into an empty SQLite database.

``python -m bench.demo_history [--quick] [--repeat N]``. Times ``demo_history.seed_demo_world``
(estates, staff, a year of complaints with their history, work orders, twelve draws with their
revisits, last month's summary) in one transaction, from a freshly migrated database, ``--repeat``
times (``--quick``: once); the figure is the median wall time, with the process's CPU time beside
it (the wall time on a shared machine waits for other work). Goal: under 10 s. Rows are written
to bench/results/demo_history.json.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bench.results import print_table, row, write_json
from estatecare.app import App
from estatecare.demo.history import seed_demo_world
from estatecare.migrate import upgrade
from estatecare.settings import Settings
from models import Complaint, ComplaintEvent, Revisit, WorkOrder

NOW = datetime(2026, 11, 18, 3, 0, tzinfo=UTC)
GOAL_SECONDS = 10.0


def _seed_once(template: Path, directory: Path) -> tuple[float, float, dict[str, int]]:
    """Seed into a copy of the migrated ``template``: (wall seconds, CPU seconds, row counts)."""
    db = directory / "estatecare.db"
    shutil.copy(template, db)
    core = App.from_settings(Settings(database_url=f"sqlite:///{db}", var_dir=directory, base_url="http://bench"))
    wall, cpu = time.perf_counter(), time.process_time()
    with core.transaction() as session:
        seed_demo_world(session, core, NOW)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    with core.sessions() as session:
        counts = {
            m.__tablename__: session.scalar(select(func.count()).select_from(m)) or 0
            for m in (Complaint, ComplaintEvent, Revisit, WorkOrder)
        }
    core.engine.dispose()
    return wall, cpu, counts


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    """Measure, print the table, write ``bench/results/demo_history.json``."""
    parser = argparse.ArgumentParser(prog="python -m bench.demo_history", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one run")
    parser.add_argument("--repeat", type=int, default=3, help="runs to take the median of")
    args = parser.parse_args(argv)
    runs = 1 if args.quick else max(1, args.repeat)
    with tempfile.TemporaryDirectory(prefix="bench-demo-") as tmp:
        template = Path(tmp) / "template.db"
        upgrade(f"sqlite:///{template}")
        results = []
        for n in range(runs):
            directory = Path(tmp) / f"run{n}"
            directory.mkdir()
            results.append(_seed_once(template, directory))
    wall = statistics.median(r[0] for r in results)
    cpu = statistics.median(r[1] for r in results)
    rows = [
        row(
            "demo_history.seed.sqlite",
            wall,
            "s",
            reference="goal",
            reference_figure=GOAL_SECONDS,
            goal=f"< {GOAL_SECONDS:.0f} s",
            met=wall < GOAL_SECONDS,
            detail={"cpu_seconds": round(cpu, 2), "runs": runs, "rows": results[0][2], "now": NOW.isoformat()},
        )
    ]
    print_table(rows)
    write_json(rows, "demo_history")
    return rows


if __name__ == "__main__":
    main()
