"""Monthly draw and summary at company scale, side by side with hand-written SQL (the limit).

``python -m bench.monthly [--quick] [--db sqlite|postgresql|both]``. Full scale: 1,000,000
work orders, 200,000 complaints (with their revisits and escalations) over 100 estates,
January to November 2026; October is already drawn, so November's draw takes the orders
completed after October's cutoff. Goal per operation: within 1.5x of the limit, under
10 s, under 500 MB peak memory.

- draw: ``sampling.draw_all`` for November, every estate, in one transaction (population
  marked with one ``UPDATE ... FROM sampling_draw ... RETURNING``, sample picked, items and
  revisits inserted, lists queued). Limit: the same data work in two hand-written
  statements on the raw driver connection: one aggregate counting each estate's
  population, one ``UPDATE`` marking it. Both find the population through the partial
  index of the orders in no draw yet (``ix_work_order_undrawn``).
- summary: ``monthly_report.build_report`` for November (company and every estate, as
  the pydantic model). Limit: the report's five aggregates as hand-written SQL text on
  the raw driver connection, rows fetched, nothing else.

Times are the median of ``--repeat`` runs (the draw is undone between runs, untimed; the
draw and its limit take turns, as do the summary and its limit, so both run on the same table state).
Peak memory is measured with tracemalloc in one extra run (Python allocations of the
operation, including the driver's result rows). Data is loaded with executemany on
SQLite and COPY on PostgreSQL. Rows are written to bench/results/monthly.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import create_engine, text

RESULTS = Path(__file__).parent / "results" / "monthly.json"
PG_ADMIN_URL = os.environ.get("ESTATECARE_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 1, 1, tzinfo=TZ).astimezone(UTC)
END = datetime(2026, 11, 30, 18, 0, tzinfo=TZ).astimezone(UTC)  # November's draw moment
OCT_CUTOFF = datetime(2026, 10, 30, 18, 0, tzinfo=TZ).astimezone(UTC)
NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
GOAL_RATIO, GOAL_SECONDS, GOAL_MB = 1.5, 10.0, 500.0

KINDS = ["repair"] * 55 + ["cleaning"] * 30 + ["urgent_repair"] * 8 + ["major_repair"] * 2 + ["renovation"] * 5
CATEGORIES = ["facility", "service", "environment", "safety", "other"]
AREAS = ["housing", "security", "vehicles", "cleaning", "landscaping", "repairs", "community", "convenience"]
ROUTING = {
    "facility": "engineering",
    "service": "customer_service",
    "environment": "cleaning",
    "safety": "security",
    "other": "management_office",
}
DEPARTMENTS = ["engineering", "security", "cleaning", "landscaping", "management_office", "customer_service"]


# ---------------------------------------------------------------------- data


class Loader:
    """Bulk insert through the raw driver: executemany on SQLite, COPY on PostgreSQL."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.sqlite = url.startswith("sqlite")
        self.engine = create_engine(url)

    def ts(self, value: datetime | None) -> Any:
        if value is None:
            return None
        return value.strftime("%Y-%m-%d %H:%M:%S.%f") if self.sqlite else value

    def load(self, table: str, columns: Sequence[str], rows: Iterator[tuple[Any, ...]]) -> int:
        raw = self.engine.raw_connection()
        count = 0
        try:
            cur = raw.cursor()
            if self.sqlite:
                sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
                batch: list[tuple[Any, ...]] = []
                for row in rows:
                    batch.append(row)
                    if len(batch) == 50_000:
                        cur.executemany(sql, batch)
                        count += len(batch)
                        batch.clear()
                if batch:
                    cur.executemany(sql, batch)
                    count += len(batch)
            else:
                with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                    for row in rows:
                        copy.write_row(row)
                        count += 1
            raw.commit()
        finally:
            raw.close()
        return count


def _spread(rng: random.Random, start: datetime, end: datetime) -> datetime:
    return start + timedelta(seconds=rng.uniform(0, (end - start).total_seconds()))


def build(url: str, work_orders: int, complaints: int, estates: int) -> dict[str, int]:
    """Create the data set; returns row counts per table."""
    from estatecare.migrate import upgrade

    upgrade(url)
    ld = Loader(url)
    rng = random.Random(20261130)
    ts, b = ld.ts, (lambda v: (1 if v else 0) if ld.sqlite else v)
    counts: dict[str, int] = {}
    counts["estate"] = ld.load(
        "estate",
        ["id", "code", "name", "address", "households", "service_centre_email"],
        (
            (e, f"E{e:03d}", f"屋苑{e:03d}", "", rng.randint(300, 2000), f"centre{e}@bench.test")
            for e in range(1, estates + 1)
        ),
    )
    counts["department"] = ld.load(
        "department",
        ["id", "estate_id", "code", "name"],
        ((e * 10 + i, e, d, d) for e in range(1, estates + 1) for i, d in enumerate(DEPARTMENTS)),
    )
    staff = [
        (
            e,
            e,
            e * 10 + 5,
            f"經理{e}",
            f"manager{e}@bench.test",
            "",
            "service_centre_manager",
            "zh-Hant",
            b(True),
            ts(NOW),
        )
        for e in range(1, estates + 1)
    ] + [
        (estates + 1, None, None, "副總", "deputy@bench.test", "", "deputy_gm", "zh-Hans", b(True), ts(NOW)),
        (estates + 2, None, None, "GM", "gm@bench.test", "", "gm", "en", b(True), ts(NOW)),
    ]
    counts["staff"] = ld.load(
        "staff",
        ["id", "estate_id", "department_id", "name", "email", "phone", "role", "locale", "active", "created_at"],
        iter(staff),
    )
    counts["sampling_draw"] = ld.load(
        "sampling_draw",
        ["id", "estate_id", "month", "rule", "seed", "cutoff_at", "drawn_at", "population_count", "sample_size",
         "on_site_count", "revisits_due_at"],
        ((e, e, "2026-10", "tiered", e, ts(OCT_CUTOFF), ts(OCT_CUTOFF), 0, 0, 0, ts(OCT_CUTOFF + timedelta(days=5)))
         for e in range(1, estates + 1)),
    )  # fmt: skip

    def orders() -> Iterator[tuple[Any, ...]]:
        for i in range(1, work_orders + 1):
            e = rng.randint(1, estates)
            kind = rng.choice(KINDS)
            done = _spread(rng, START, END)
            drawn = e if kind in ("repair", "cleaning") and done <= OCT_CUTOFF else None
            yield (i, f"WO{i:09d}", e, kind, "", ts(done), ts(done), drawn)

    counts["work_order"] = ld.load(
        "work_order",
        ["id", "reference", "estate_id", "kind", "description", "created_at", "completed_at", "draw_id"],
        orders(),
    )

    revisits: list[tuple[Any, ...]] = []
    escalations: list[tuple[Any, ...]] = []

    def revisit(estate: int, kind: str, due: datetime, cid: int | None, wid: int | None) -> None:
        method = rng.choices(["on_site", "phone", "letter"], [50, 40, 10])[0]
        done = due - timedelta(hours=rng.uniform(0, 24)) if rng.random() < 0.95 else None
        signed = b"\x89PNG" if method == "on_site" and done is not None and rng.random() < 0.8 else None
        sat = rng.choices(["satisfied", "basically_satisfied", "unsatisfied"], [85, 12, 3])[0] if done else None
        revisits.append(
            (len(revisits) + 1, estate, cid, wid, kind, method, 1, ts(due), ts(due - timedelta(days=2)), ts(done),
             "{}", sat, signed, "", "", "", "")
        )  # fmt: skip

    def complaint_rows() -> Iterator[tuple[Any, ...]]:
        for i in range(1, complaints + 1):
            e = rng.randint(1, estates)
            cat = rng.choice(CATEGORIES)
            received = _spread(rng, START, END)
            valid = rng.choices([True, False, None], [80, 15, 5])[0]
            responded = received + timedelta(hours=rng.uniform(0, 36))
            resolution_due = received + timedelta(days=2) if valid else None
            resolved = received + timedelta(days=rng.uniform(0.2, 4)) if valid and rng.random() < 0.9 else None
            revisit_due = resolved + timedelta(days=2) if resolved else None
            closed = revisit_due + timedelta(hours=6) if revisit_due and revisit_due < END - timedelta(days=3) else None
            status = (
                "closed" if closed else ("invalid" if valid is False else ("revisit_due" if resolved else "assigned"))
            )
            dup = i - 1 if i > 1 and rng.random() < 0.03 else None
            if revisit_due is not None:
                revisit(e, "complaint", revisit_due, i, None)
            if rng.random() < 0.05:
                escalations.append(
                    (len(escalations) + 1, i, rng.choice(["transfer_sheet", "major", "deadline_missed"]), 1,
                     "service_centre_manager", ts(received + timedelta(hours=30)), "", "")
                )  # fmt: skip
            yield (
                i, f"C{i:09d}", e, "", "", "", "zh-Hant", "phone", "bench", ts(received), b(False), cat,
                rng.choice(AREAS), None if valid is None else b(valid), "general", "normal", status, 0, b(True), dup,
                e * 10 + DEPARTMENTS.index(ROUTING[cat]), ts(received + timedelta(hours=24)), ts(resolution_due),
                ts(revisit_due), ts(responded), ts(resolved), ts(closed), "", "", 1,
            )  # fmt: skip

    counts["complaint"] = ld.load(
        "complaint",
        ["id", "reference", "estate_id", "complainant_name", "contact_phone", "contact_email", "locale", "channel",
         "content", "received_at", "reply_only", "category", "service_area", "valid", "severity", "urgency", "status",
         "escalation_level", "intake_done", "duplicate_of_id", "department_id", "response_due_at",
         "resolution_due_at", "revisit_due_at", "first_response_at", "resolved_at", "closed_at", "resolution_text",
         "explanation_text", "version"],
        complaint_rows(),
    )  # fmt: skip
    for wid in range(1, work_orders + 1, 10):  # one in ten jobs revisited (repair / service revisits)
        revisit(rng.randint(1, estates), "service", _spread(rng, START, END), None, wid)
    counts["revisit"] = ld.load(
        "revisit",
        ["id", "estate_id", "complaint_id", "work_order_id", "kind", "method", "sequence", "due_at", "created_at",
         "done_at", "answers", "satisfaction", "signature_png", "refusal_note", "new_issue", "open_letter_ref",
         "supervisor_opinion"],
        iter(revisits),
    )  # fmt: skip
    counts["escalation"] = ld.load(
        "escalation",
        ["id", "complaint_id", "kind", "level", "to_role", "raised_at", "reason", "decision_note"],
        iter(escalations),
    )
    with ld.engine.begin() as conn:
        if not ld.sqlite:
            for table in ("estate", "department", "staff", "sampling_draw", "work_order", "complaint", "revisit",
                          "escalation"):  # fmt: skip
                conn.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
                )
        conn.execute(text("ANALYZE"))
    ld.engine.dispose()
    return counts


# ---------------------------------------------------------------------- the limit


def _limit_draw(engine: Any, sqlite: bool) -> Callable[[], int]:
    """Two hand-written statements: count each estate's population, then mark it."""
    p = "?" if sqlite else "%s"
    cutoff = END.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else END
    count_sql = (
        f"SELECT estate_id, count(*) FROM work_order WHERE draw_id IS NULL AND kind IN ('repair', 'cleaning') "
        f"AND completed_at IS NOT NULL AND completed_at <= {p} GROUP BY estate_id"
    )
    mark_sql = (
        "UPDATE work_order SET draw_id = (SELECT d.id FROM sampling_draw d WHERE d.estate_id = work_order.estate_id "
        f"AND d.month = '2026-11') WHERE draw_id IS NULL AND kind IN ('repair', 'cleaning') "
        f"AND completed_at IS NOT NULL AND completed_at <= {p}"
    )

    def run() -> int:
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            cur.execute(count_sql, (cutoff,))
            total = sum(n for _, n in cur.fetchall())
            cur.execute(mark_sql, (cutoff,))
            raw.commit()
            return total
        finally:
            raw.close()

    return run


def _limit_summary(engine: Any, sqlite: bool) -> Callable[[], int]:
    """The report's five aggregates as hand-written SQL on the raw driver connection."""
    p = "?" if sqlite else "%s"
    start = datetime(2026, 11, 1, tzinfo=TZ).astimezone(UTC)
    end = datetime(2026, 12, 1, tzinfo=TZ).astimezone(UTC)
    ystart = START

    def v(x: datetime) -> Any:
        return x.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else x

    queries = [
        (
            "SELECT estate_id, category, service_area, department_id, valid, count(*), "
            "sum(CASE WHEN duplicate_of_id IS NOT NULL THEN 1 ELSE 0 END), count(response_due_at), "
            "sum(CASE WHEN first_response_at <= response_due_at THEN 1 ELSE 0 END), count(resolution_due_at), "
            "sum(CASE WHEN resolved_at <= resolution_due_at THEN 1 ELSE 0 END) FROM complaint "
            f"WHERE received_at >= {p} AND received_at < {p} GROUP BY estate_id, category, service_area, "
            "department_id, valid",
            (v(start), v(end)),
        ),
        (
            "SELECT estate_id, count(*), count(done_at) FROM revisit WHERE kind IN ('complaint', 'survey') "
            f"AND due_at >= {p} AND due_at < {p} GROUP BY estate_id",
            (v(start), v(end)),
        ),
        (
            "SELECT estate_id, kind, method, CASE WHEN signature_png IS NOT NULL THEN 1 ELSE 0 END AS signed, "
            f"satisfaction, CASE WHEN done_at >= {p} THEN 1 ELSE 0 END AS in_month, count(*) FROM revisit "
            f"WHERE done_at >= {p} AND done_at < {p} GROUP BY estate_id, kind, method, signed, satisfaction, in_month",
            (v(start), v(ystart), v(end)),
        ),
        (
            "SELECT c.estate_id, e.kind, count(*) FROM escalation e JOIN complaint c ON c.id = e.complaint_id "
            f"WHERE e.raised_at >= {p} AND e.raised_at < {p} GROUP BY c.estate_id, e.kind",
            (v(start), v(end)),
        ),
        (
            "SELECT estate_id, count(*), sum(CASE WHEN "
            f"(response_due_at < {p} AND (first_response_at IS NULL OR first_response_at >= {p})) OR "
            f"(resolution_due_at < {p} AND (resolved_at IS NULL OR resolved_at >= {p})) OR "
            f"(revisit_due_at < {p} AND resolved_at < {p}) THEN 1 ELSE 0 END) FROM complaint "
            f"WHERE received_at < {p} AND (status NOT IN ('closed', 'invalid') "
            f"OR (status = 'closed' AND closed_at >= {p})) "
            "GROUP BY estate_id",
            (v(end),) * 8,
        ),
    ]

    def run() -> int:
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            rows = 0
            for sql, params in queries:
                cur.execute(sql, params)
                rows += len(cur.fetchall())
            return rows
        finally:
            raw.close()

    return run


# ---------------------------------------------------------------------- ours


def _core(url: str, var_dir: Path) -> Any:
    from estatecare.app import App
    from estatecare.settings import Settings

    return App.from_settings(Settings(database_url=url, var_dir=var_dir))


def _undo_draw(engine: Any) -> None:
    """Put November back as it was before the draw (not timed; no foreign-key checks meanwhile,
    as work_order.draw_id has no index of its own)."""
    nov = "SELECT id FROM sampling_draw WHERE month = '2026-11'"
    statements = [
        "DELETE FROM notification_attachment",
        "DELETE FROM notification",
        f"DELETE FROM revisit WHERE sample_item_id IN (SELECT id FROM sample_item WHERE draw_id IN ({nov}))",
        f"DELETE FROM sample_item WHERE draw_id IN ({nov})",
        f"UPDATE work_order SET draw_id = NULL WHERE draw_id IN ({nov})",
        "DELETE FROM sampling_draw WHERE month = '2026-11'",
    ]
    sqlite = engine.dialect.name == "sqlite"
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        if sqlite:
            raw.commit()
            cur.execute("PRAGMA foreign_keys = OFF")  # outside a transaction, or it is ignored
        else:
            cur.execute("SET LOCAL session_replication_role = replica")
        for sql in statements:
            cur.execute(sql)
        raw.commit()
        if sqlite:
            cur.execute("PRAGMA foreign_keys = ON")
    finally:
        raw.close()


def _take_turns(
    ours: Callable[[], Any],
    limit: Callable[[], Any],
    repeat: int,
    before_ours: Callable[[], None] | None = None,
    before_limit: Callable[[], None] | None = None,
) -> tuple[float, Any, float, Any]:
    """Run ours and the limit in turn ``repeat`` times (each after its untimed ``before``); the
    median time and the last result of each."""
    times: dict[str, list[float]] = {"ours": [], "limit": []}
    results: dict[str, Any] = {}
    for _ in range(repeat):
        for side, fn, before in (("ours", ours, before_ours), ("limit", limit, before_limit)):
            if before is not None:
                before()
            t0 = time.perf_counter()
            results[side] = fn()
            times[side].append(time.perf_counter() - t0)
    return statistics.median(times["ours"]), results["ours"], statistics.median(times["limit"]), results["limit"]


def _peak_mb(fn: Callable[[], Any], before: Callable[[], None] | None = None) -> float:
    if before is not None:
        before()
    tracemalloc.start()
    try:
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 1e6


def measure(url: str, label: str, repeat: int, var_dir: Path) -> list[dict[str, Any]]:
    """Time the draw and the summary against their limits on one database."""
    from estatecare.services import monthly_report, sampling

    core = _core(url, var_dir)
    sqlite = url.startswith("sqlite")
    engine = core.engine

    def ours_draw() -> int:
        return sum(r.size for r in sampling.draw_all(core, 2026, 11, NOW))

    def ours_summary() -> Any:
        with core.sessions() as s:
            return monthly_report.build_report(core, s, 2026, 11, generated_at=NOW)

    def undo_limit() -> None:
        _undo_draw(engine)
        with engine.begin() as conn:  # the limit marks rows with a draw row per estate, as ours would create
            conn.execute(text(
                "INSERT INTO sampling_draw (estate_id, month, rule, seed, cutoff_at, drawn_at, population_count, "
                "sample_size, on_site_count, revisits_due_at) SELECT id, '2026-11', 'tiered', 1, :t, :t, 0, 0, 0, :t "
                "FROM estate"
            ), {"t": END.strftime("%Y-%m-%d %H:%M:%S.%f") if sqlite else END})  # fmt: skip

    # Ours and the limit take turns: each run changes the table (dead row versions, hint bits,
    # where the undone rows land), and on a freshly loaded PostgreSQL table whichever side ran
    # all its runs first was the slower one, the limit too. Taking turns gives both the same state.
    ours_draw_s, sampled, limit_draw_s, population = _take_turns(
        ours_draw, _limit_draw(engine, sqlite), repeat, lambda: _undo_draw(engine), undo_limit
    )
    draw_peak = _peak_mb(ours_draw, lambda: _undo_draw(engine))
    _undo_draw(engine)
    ours_draw()  # leave November drawn: the summary reads the new revisits too
    # The summary takes turns too: the first reads after the draw set hint bits on the rows it
    # wrote, a cost that fell on whichever side read first.
    ours_sum_s, report, limit_sum_s, groups = _take_turns(ours_summary, _limit_summary(engine, sqlite), repeat)
    sum_peak = _peak_mb(ours_summary)
    assert report.company is not None
    rows = []
    for op, ours_s, limit_s, peak, detail in (
        ("draw", ours_draw_s, limit_draw_s, draw_peak, {"population": population, "sampled": sampled}),
        ("summary", ours_sum_s, limit_sum_s, sum_peak,
         {"complaints_in_month": report.company.counts["complaints"], "limit_result_rows": groups}),
    ):  # fmt: skip
        ratio = ours_s / limit_s if limit_s > 0 else float("inf")
        rows.append(
            {
                "id": f"monthly.{op}.{label}",
                "figure": round(ours_s, 3),
                "unit": "s",
                "reference": f"hand-written SQL ({label})",
                "reference_figure": round(limit_s, 3),
                "ratio": round(ratio, 2),
                "goal": f"<= {GOAL_RATIO}x limit, < {GOAL_SECONDS:g} s, < {GOAL_MB:g} MB",
                "met": ratio <= GOAL_RATIO and ours_s < GOAL_SECONDS and peak < GOAL_MB,
                "detail": {**detail, "peak_mb": round(peak, 1), "repeat": repeat},
            }
        )
    engine.dispose()
    return rows


def _print(rows: list[dict[str, Any]]) -> None:
    head = f"{'id':<32} {'ours':>9} {'limit':>9} {'ratio':>6} {'peak MB':>8}  met   detail"
    print(head)
    print("-" * len(head))
    for r in rows:
        d = dict(r["detail"])
        peak = d.pop("peak_mb")
        print(
            f"{r['id']:<32} {r['figure']:>8.3f}s {r['reference_figure']:>8.3f}s {r['ratio']:>5.2f}x {peak:>8.1f}  "
            f"{'yes' if r['met'] else 'NO ':<5} {d}"
        )


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    """Build the data set on each database, run the measurements, print and save the rows."""
    parser = argparse.ArgumentParser(prog="python -m bench.monthly")
    parser.add_argument("--quick", action="store_true", help="20,000 orders, 4,000 complaints, 10 estates")
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    scale = (20_000, 4_000, 10) if args.quick else (1_000_000, 200_000, 100)
    print(f"scale: {scale[0]:,} work orders, {scale[1]:,} complaints, {scale[2]} estates", flush=True)
    rows: list[dict[str, Any]] = []
    if args.db in ("sqlite", "both"):
        with tempfile.TemporaryDirectory(prefix="bench-monthly-") as tmp:
            url = f"sqlite:///{tmp}/bench.db"
            t0 = time.perf_counter()
            counts = build(url, *scale)
            print(f"sqlite: loaded {counts} in {time.perf_counter() - t0:.1f} s", flush=True)
            rows += measure(url, "sqlite", args.repeat, Path(tmp))
    if args.db in ("postgresql", "both"):
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        name = f"estatecare_bench_{uuid.uuid4().hex[:8]}"
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        except Exception as exc:
            print(f"postgresql: skipped, not reachable at {PG_ADMIN_URL}: {exc}")
        else:
            url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
            try:
                t0 = time.perf_counter()
                counts = build(url, *scale)
                print(f"postgresql: loaded {counts} in {time.perf_counter() - t0:.1f} s", flush=True)
                with tempfile.TemporaryDirectory(prefix="bench-monthly-") as tmp:
                    rows += measure(url, "postgresql", args.repeat, Path(tmp))
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    _print(rows)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(
        json.dumps({"scale": "quick" if args.quick else "full", "rows": rows}, ensure_ascii=False, indent=2) + "\n"
    )
    return rows


if __name__ == "__main__":
    main()
