"""A province on PostgreSQL: 10,000,000 dossiers, the reads people wait for.

    .venv/bin/python bench/province_bench.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/isoflow_province \\
        [--seed 10000000] [--repeat 200] [--no-http]

With --seed N the database is wiped and seeded (bench/province.py: 120 communes,
five years, 85 % closed, four steps per dossier; set-based SQL); without it the
database seeded by an earlier run is measured as it is. Point it at a scratch
database, never at one holding data.

Measured (issue 18 goals in brackets):
- bytes per dossier: every table and index, the workflow state, and what keeping
  closed dossiers' full workflow state would add;
- a user's inbox page (50): in-process [p95 <= 10 ms] and over HTTP [<= 15 ms];
- a dossier page (the dossier view and its process control sheet) [<= 15 ms];
- search by code, by applicant name (Vietnamese, accent-insensitive) and by national
  ID [<= 20 ms], as a commune chair and as the province;
- a month's statistics for one commune [<= 300 ms] and the whole province [<= 2 s];
- the scheduler sweep: nothing due [<= 20 ms], 1000 due [<= 1 s].
HTTP: `isoflow serve` (gunicorn, one worker, no scheduler) on 127.0.0.1, keep-alive,
bearer token. Percentiles are nearest-rank over `--repeat` calls after one warm call.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from engine.adapters.db.session import Database  # noqa: E402
from engine.adapters.spiff import CLOSED_STATE_JSON  # noqa: E402
from engine.audit import Actor  # noqa: E402
from engine.domain.clock import FixedClock  # noqa: E402
from engine.runtime import Runtime  # noqa: E402
from engine.views import dossiers as views  # noqa: E402
from engine.views.statistics import compute_statistics  # noqa: E402
from bench.province import T0, seed_province  # noqa: E402

TABLES = ("dossiers", "tasks", "workflow_states", "dossier_pauses", "events", "escalations", "notifications",
          "users", "role_assignments", "org_units")


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)

    def rank(p: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, int(round(p * len(ordered))) - 1))] * 1000

    return f"p50 {rank(0.5):8.2f}  p95 {rank(0.95):8.2f}  p99 {rank(0.99):8.2f}  max {ordered[-1] * 1000:8.2f} ms"


CPU: dict[int, list[float]] = {}  # id(samples) -> this process's CPU seconds per call


HTTP_WARMUP = 10


def timed(fn, repeat: int, args_for=None, *, warmup: int = 1) -> list[float]:
    """Wall seconds per call after `warmup` calls; the process's own CPU seconds per call
    go to CPU (on a shared machine the wall time includes waiting for a core)."""
    for i in range(warmup):
        fn(*(args_for(i) if args_for else ()))
    samples, cpu = [], []
    for i in range(repeat):
        args = args_for(i) if args_for else ()
        start, start_cpu = time.perf_counter(), time.process_time()
        fn(*args)
        samples.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    CPU[id(samples)] = cpu
    return samples


def due_sweep(db: Database, sweeper, n: int) -> float:
    """One sweep that must fire n fresh `overdue` escalations: n open steps whose level was
    seeded without an escalation row become due yesterday and never escalated."""
    with db.engine.begin() as conn:
        conn.execute(text("""
            UPDATE tasks SET due_at = CAST(:t0 AS timestamptz) - interval '1 day', escalation_level = NULL,
                   next_escalation_at = CAST(:t0 AS timestamptz) - interval '1 day'
            WHERE id IN (SELECT t.id FROM tasks t WHERE t.state = 'open' AND t.escalation_level = 'overdue'
                         AND NOT EXISTS (SELECT 1 FROM escalations e WHERE e.entity_type = 'task' AND e.entity_id = t.id)
                         ORDER BY t.id DESC LIMIT :n)"""), {"t0": T0, "n": n})
    start = time.perf_counter()
    report = sweeper.run_once()
    elapsed = time.perf_counter() - start
    fired = [f for f in report.fired if getattr(f, "level", "overdue") == "overdue"]
    assert len(fired) >= n, (n, len(report.fired))
    return elapsed


def sizes(db: Database) -> None:
    with db.engine.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM dossiers")).scalar_one()
        n_open = conn.execute(text("SELECT count(*) FROM dossiers WHERE state = 'open'")).scalar_one()
        print(f"\nsizes ({n:,} dossiers, {n_open:,} open); bytes per dossier over all dossiers")
        print(f"  {'table':<18} {'heap+toast MB':>14} {'indexes MB':>11} {'bytes/dossier':>14}")
        total = 0
        for table in TABLES:
            heap, index = conn.execute(text(  # over the partitions where the table is partitioned
                "SELECT sum(pg_table_size(c.oid)), sum(pg_indexes_size(c.oid)) FROM pg_class c "
                "WHERE (c.oid = CAST(:t AS regclass) AND c.relkind = 'r') "
                "OR c.oid IN (SELECT relid FROM pg_partition_tree(CAST(:t AS regclass)) WHERE isleaf)"), {"t": table}).one()
            total += heap + index
            print(f"  {table:<18} {heap / 2**20:>14,.0f} {index / 2**20:>11,.0f} {(heap + index) / n:>14,.0f}")
        print(f"  {'all of the above':<18} {'':>14} {'':>11} {total / n:>14,.0f}   "
              f"({total / 2**30:.1f} GiB; database {conn.execute(text('SELECT pg_database_size(current_database())')).scalar_one() / 2**30:.1f} GiB)")
        for name, size in conn.execute(text(  # a partition's copy of an index counted with its siblings
                "SELECT regexp_replace(i.indexrelid::regclass::text, '^tasks_(legacy|y[0-9]+)_', 'tasks_<year>_'), "
                "sum(pg_relation_size(i.indexrelid)) FROM pg_partition_tree('tasks') t "
                "JOIN pg_index i ON i.indrelid = t.relid WHERE t.isleaf GROUP BY 1 ORDER BY 1")).all():
            print(f"    index {name:<42} {size / 2**20:>9,.0f} MB")
        # What the workflow state would weigh if closed dossiers kept their full instance:
        # measured on 20,000 copies of a real open instance in a scratch table.
        open_state = conn.execute(text("SELECT state_json FROM workflow_states WHERE state_json <> :c LIMIT 1"),
                                  {"c": CLOSED_STATE_JSON}).scalar()
        if open_state is not None:
            conn.execute(text("CREATE TEMP TABLE state_probe (LIKE workflow_states INCLUDING ALL)"))
            for label, state in (("full", open_state), ("compact", CLOSED_STATE_JSON)):
                conn.execute(text("TRUNCATE state_probe"))
                conn.execute(text(
                    "INSERT INTO state_probe (dossier_id, state_json, version, updated_at) "
                    "SELECT g, :s, 1, now() FROM generate_series(1, 20000) g"), {"s": state})
                per_row = conn.execute(text("SELECT pg_total_relation_size('state_probe')")).scalar_one() / 20000
                print(f"  workflow state row, {label:<8}: {per_row:7.0f} bytes with its index "
                      f"({len(state):,} characters of JSON before compression)")
                if label == "full":
                    full_row = per_row
            compact_row = per_row
            closed = n - n_open
            print(f"  closed dossiers' full state would add {closed * (full_row - compact_row) / 2**30:.1f} GiB "
                  f"({(full_row - compact_row) * closed / n:.0f} bytes per dossier)")
            conn.rollback()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("ISOFLOW_BENCH_DATABASE_URL", ""))
    parser.add_argument("--seed", type=int, default=0, help="wipe and seed this many dossiers first")
    parser.add_argument("--communes", type=int, default=120)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--no-http", action="store_true")
    parser.add_argument("--no-sizes", action="store_true")
    parser.add_argument("--stats-repeat", type=int, default=0,
                        help="calls per statistics read (default: 5 for a commune, 2 for the province)")
    parser.add_argument("--only", action="append", default=[], metavar="WORD",
                        help="measure only the reads whose label contains WORD (repeatable; e.g. "
                             "--only statistics --only 'dossier')")
    args = parser.parse_args()
    url = args.database_url
    if not url.startswith("postgresql") or url.rstrip("/").rsplit("/", 1)[-1].startswith("test"):
        sys.exit("--database-url: a scratch PostgreSQL database (not `test` nor a test_* database)")
    if args.seed:
        started = time.perf_counter()
        summary = seed_province(url, dossiers=args.seed, communes=args.communes, log=print)
        print(f"seeded {summary.dossiers:,} dossiers, {summary.tasks:,} steps ({summary.open_tasks:,} open), "
              f"{summary.users} users in {time.perf_counter() - started:.0f} s: "
              + ", ".join(f"{k} {v:.0f} s" for k, v in summary.seconds.items()))
    db = Database(url, pool_size=2)
    rt = Runtime(db, FixedClock(T0))
    with db.engine.connect() as conn:
        print(f"load average {os.getloadavg()[0]:.1f} {os.getloadavg()[1]:.1f} {os.getloadavg()[2]:.1f} on "
              f"{os.cpu_count()} CPUs; {conn.execute(text('SELECT version()')).scalar_one().split(' on ')[0]}; "
              f"shared_buffers {conn.execute(text('SHOW shared_buffers')).scalar_one()}")
        users = dict(conn.execute(text("SELECT username, id FROM users")).all())
        big = conn.execute(text("SELECT id FROM org_units WHERE code = 'X001'")).scalar_one()
        per_unit = conn.execute(text(
            "SELECT count(*), count(*) FILTER (WHERE state = 'open') FROM dossiers WHERE org_unit_id = :u"),
            {"u": big}).one()
        pool = conn.execute(text(
            "SELECT count(*) FROM tasks WHERE state = 'open' AND org_unit_id = :u AND role = 'one_stop_clerk'"),
            {"u": big}).scalar_one()
        sample_ids = [r for r, in conn.execute(text(
            "SELECT id FROM dossiers WHERE org_unit_id = :u ORDER BY random() LIMIT 500"), {"u": big})]
        codes = [c for c, in conn.execute(text("SELECT code FROM dossiers WHERE id = ANY(:ids)"), {"ids": sample_ids})]
        id_numbers = [c for c, in conn.execute(text(
            "SELECT applicant_id_number FROM dossiers WHERE id = ANY(:ids)"), {"ids": sample_ids})]
    actor = {name: Actor(users[name], name) for name in ("x001_clerk", "x001_justice", "x001_chair", "province")}
    print(f"commune X001 (the largest): {per_unit[0]:,} dossiers, {per_unit[1]:,} open; "
          f"{pool:,} open desk steps in its pool")
    rng = random.Random(18)
    results: list[tuple[str, list[float], float | None]] = []

    def wanted(label: str) -> bool:
        return not args.only or any(word.lower() in label.lower() for word in args.only)

    def record(label: str, samples, goal_ms: float | None) -> None:
        if not wanted(label):
            return
        samples = samples()
        results.append((label, samples, goal_ms))
        cpu = CPU.get(id(samples))
        print(f"  {label:<52} {percentiles(samples)}"
              + (f"  cpu p50 {statistics.median(cpu) * 1000:6.2f}" if cpu else ""), flush=True)

    print("\nin-process (engine views), milliseconds")
    for who in ("x001_clerk", "x001_justice"):
        record(f"inbox page of 50, {who}", lambda who=who: timed(lambda a=actor[who]: views.inbox(rt, a, limit=50), args.repeat), 10)

    def dossier_page(ref: int) -> None:  # what the web page reads: one unit, one load
        views.dossier_page(rt, actor["x001_chair"], ref)

    def dossier_and_timeline(ref: int) -> None:  # what the two API routes read, one unit each
        views.dossier_view(rt, actor["x001_chair"], ref)
        views.timeline(rt, actor["x001_chair"], ref)

    record("dossier page (view + control sheet), chair", lambda: timed(
        dossier_page, args.repeat, lambda i: (sample_ids[i % len(sample_ids)],)), 15)
    record("dossier view and control sheet apart (2 units), chair", lambda: timed(
        dossier_and_timeline, args.repeat, lambda i: (sample_ids[i % len(sample_ids)],)), None)

    def search(who: str, **filters) -> None:
        views.search_dossiers(rt, actor[who], views.DossierFilter(**filters))

    record("search: whole code, chair", lambda: timed(
        lambda code: search("x001_chair", code=code), args.repeat, lambda i: (codes[i % len(codes)],)), 20)
    record("search: whole code, province", lambda: timed(
        lambda code: search("province", code=code), args.repeat, lambda i: (codes[i % len(codes)],)), 20)
    record("search: code part 'X001-2610', chair", lambda: timed(
        lambda: search("x001_chair", code="X001-2610"), max(20, args.repeat // 10)), 20)
    record("search: name 'ánh dương' (accents), chair", lambda: timed(
        lambda: search("x001_chair", applicant="ánh dương"), max(20, args.repeat // 10)), 20)
    record("search: name 'đặng thị thu hà', province", lambda: timed(
        lambda: search("province", applicant="Đặng Thị Thu Hà"), max(20, args.repeat // 10)), 20)
    record("search: national ID, province", lambda: timed(
        lambda n: search("province", id_number=n), args.repeat, lambda i: (id_numbers[i % len(id_numbers)],)), 20)
    # 2025-10: an ordinary month, all of it closed since; 2026-10: inside the open backlog
    for period in ("2025-10", "2026-10"):
        record(f"statistics {period}, commune X001, chair", lambda: timed(
            lambda p=period: compute_statistics(rt, actor["x001_chair"], period=p, group_by="commune",
                                                unit_code="X001"), args.stats_repeat or 5), 300)
        record(f"statistics {period}, whole province by commune", lambda: timed(
            lambda p=period: compute_statistics(rt, actor["province"], period=p, group_by="commune"), args.stats_repeat or 2), 2000)

    from engine.adapters.channels import ChannelSettings
    from engine.scheduler.sweep import Sweeper
    sweeper = Sweeper(rt, channel_settings=ChannelSettings())  # in-app notices only: no network in a bench
    record("scheduler sweep, nothing due", lambda: timed(sweeper.run_once, 25), 20)
    record("scheduler sweep, 1000 due", lambda: [due_sweep(db, sweeper, 1000) for _ in range(3)], 1000)

    if not args.no_http:
        from bench.api_bench import Server, timed_request
        from engine.services.auth import issue_token

        print("\nover HTTP (isoflow serve, 1 gunicorn worker, loopback), milliseconds")
        tokens = {who: issue_token(rt, actor[who], name="bench", lifetime=timedelta(days=1)).token
                  for who in actor}
        server = Server(url)
        try:
            conn = server.connection()

            def get(path: str, who: str) -> None:
                _, status = timed_request(conn, "GET", path, tokens[who])
                assert status == 200, (path, status)

            # A fresh server's first requests are not its steady state: psycopg prepares a
            # statement at its sixth run, and PostgreSQL plans it five times before it may
            # keep a plan. Each read is run ten times before it is measured.
            for who in ("x001_clerk", "x001_justice"):
                record(f"GET /api/tasks/inbox?limit=50, {who}", lambda: timed(
                    lambda w=who: get("/api/tasks/inbox?limit=50", w), args.repeat, warmup=HTTP_WARMUP), 15)
            record("GET /api/dossiers/{id} + /timeline, chair", lambda: timed(
                lambda ref: (get(f"/api/dossiers/{ref}", "x001_chair"), get(f"/api/dossiers/{ref}/timeline", "x001_chair")),
                args.repeat, lambda i: (sample_ids[i % len(sample_ids)],), warmup=HTTP_WARMUP), 15)
            record("GET /api/dossiers?id_number=..., province", lambda: timed(
                lambda n: get(f"/api/dossiers?id_number={n}", "province"), args.repeat,
                lambda i: (id_numbers[i % len(id_numbers)],), warmup=HTTP_WARMUP), 20)
            conn.close()
        finally:
            server.stop()

    if not args.no_sizes:
        sizes(db)
    print("\ngoals (p95 against the goal; statistics and sweeps: the slowest run)")
    for label, samples, goal in results:
        if goal is None:
            continue
        ordered = sorted(samples)
        p95 = ordered[min(len(ordered) - 1, max(0, int(round(0.95 * len(ordered))) - 1))] * 1000
        print(f"  {'holds ' if p95 <= goal else 'MISSED'} {label:<52} {p95:9.2f} ms <= {goal} ms")
    db.dispose()


if __name__ == "__main__":
    main()
