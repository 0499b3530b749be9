"""Scheduler sweep cost with up to 1,000,000 open tasks on PostgreSQL.

    ISOFLOW_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/isoflow_scheduler \\
        .venv/bin/python bench/scheduler_bench.py [--sizes 10000,100000,1000000]

The database's `public` schema is dropped and recreated (migrated), seeded with
INSERT ... SELECT generate_series, measured, and emptied again at the end: point it at
a scratch database, never at one holding data. Prints medians and ratios; goals from
issue 6: a sweep with nothing due <= 20 ms, with 1,000 due <= 1 s at 1M open tasks.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.domain.clock import FixedClock  # noqa: E402
from engine.adapters.db.migrate import upgrade  # noqa: E402
from engine.adapters.db.session import Database  # noqa: E402
from engine.runtime import Runtime  # noqa: E402
from engine.adapters.channels import ChannelSettings  # noqa: E402
from engine.scheduler.sweep import Sweeper  # noqa: E402
from bench.common import reset_database  # noqa: E402

T0 = datetime(2026, 3, 3, 10, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))  # a Tuesday morning
TASKS_PER_DOSSIER = 4


def seed_world(rt: Runtime) -> tuple[int, int]:
    from engine.audit import Actor
    from engine.services.identity import assign_role, create_org_unit, create_user
    from engine.services.procedures import publish_file

    system = Actor.system("bench")
    create_org_unit(rt, system, code="TQ", name="Tỉnh Tuyên Quang", kind="province")
    create_org_unit(rt, system, code="TRIPHU", name="Xã Tri Phú", kind="commune", parent_code="TQ")
    for username, role in (("clerk", "one_stop_clerk"), ("officer", "justice_officer"), ("chair", "chair")):
        uid = create_user(rt, system, username=username, full_name=username, home_unit_code="TRIPHU")
        assign_role(rt, system, user_id=uid, unit_code="TRIPHU", role=role, valid_from=date(2020, 1, 1))
    model = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "simple-procedure.bpmn"
    publish_file(rt, system, model, effective_from=date(2020, 1, 1))
    with rt.db.engine.connect() as conn:
        unit = conn.execute(text("SELECT id FROM org_units WHERE code = 'TRIPHU'")).scalar_one()
        version = conn.execute(text("SELECT id FROM procedure_versions")).scalar_one()
    return unit, version


def grow(db: Database, unit: int, version: int, have: int, want: int) -> None:
    """Open tasks have[+1]..want, 4 per dossier, none due before T0 + 1 day."""
    d_from, d_to = have // TASKS_PER_DOSSIER + 1, want // TASKS_PER_DOSSIER
    params = {"unit": unit, "version": version, "t0": T0, "a": d_from, "b": d_to}
    with db.engine.begin() as conn:
        conn.execute(text("""
            INSERT INTO dossiers (id, code, org_unit_id, procedure_version_id, applicant_name, applicant_id_number,
                applicant_address, applicant_phone, applicant_email, channel, status_code, state, received_at,
                due_at, original_due_at, pin_hash, supplement_count, data, next_escalation_at)
            SELECT g, 'BENCH-' || g, :unit, :version, 'Công dân ' || g, '', '', '', '', 1, 4, 'open',
                CAST(:t0 AS timestamptz) - interval '1 hour', CAST(:t0 AS timestamptz) + interval '5 days', CAST(:t0 AS timestamptz) + interval '5 days', 'x', 0, '{}'::jsonb,
                CAST(:t0 AS timestamptz) + interval '2 days' + (g % 5000) * interval '1 minute'
            FROM generate_series(CAST(:a AS integer), CAST(:b AS integer)) AS g"""), params)
        conn.execute(text("""
            INSERT INTO tasks (dossier_id, workflow_task_id, bpmn_id, name, role, org_unit_id, state, clock,
                status_code, duration_seconds, created_at, due_at, next_escalation_at)
            SELECT g, 'bench-' || g || '-' || k, 'appraise', 'Thẩm định hồ sơ', 'justice_officer', :unit, 'open',
                'running', 4, 28800, CAST(:t0 AS timestamptz) - interval '1 hour', CAST(:t0 AS timestamptz) + interval '3 days',
                CAST(:t0 AS timestamptz) + interval '1 day' + ((g * 4 + k) % 10000) * interval '1 minute'
            FROM generate_series(CAST(:a AS integer), CAST(:b AS integer)) AS g, generate_series(1, 4) AS k"""), params)
        conn.execute(text("SELECT setval(pg_get_serial_sequence('dossiers', 'id'), (SELECT max(id) FROM dossiers))"))
        conn.execute(text("ANALYZE dossiers; ANALYZE tasks"))


def make_due(db: Database, n: int) -> None:
    """n never-escalated tasks whose step was due yesterday: each sweep must fire them."""
    with db.engine.begin() as conn:
        conn.execute(text("""
            UPDATE tasks SET created_at = CAST(:t0 AS timestamptz) - interval '3 days', due_at = CAST(:t0 AS timestamptz) - interval '1 day',
                   next_escalation_at = CAST(:t0 AS timestamptz) - interval '1 day'
            WHERE id IN (SELECT id FROM tasks WHERE escalation_level IS NULL AND next_escalation_at > :t0
                         ORDER BY id DESC LIMIT :n)"""), {"t0": T0, "n": n})


def due_sweep(db: Database, sweeper: Sweeper, n: int) -> float:
    """Time one sweep that must fire exactly n fresh escalations."""
    make_due(db, n)
    reports = []
    elapsed = timed(lambda: reports.append(sweeper.run_once()))
    assert len(reports[0].fired) == n, (n, len(reports[0].fired))
    return elapsed


def explain_idle(db: Database) -> str:
    with db.engine.connect() as conn:
        plan = conn.execute(text(
            "EXPLAIN SELECT tasks.id FROM tasks JOIN dossiers ON tasks.dossier_id = dossiers.id "
            "WHERE tasks.next_escalation_at <= CAST(:t0 AS timestamptz) "
            "ORDER BY tasks.next_escalation_at, tasks.id LIMIT 500 FOR UPDATE OF tasks SKIP LOCKED"), {"t0": T0})
        return "\n".join("    " + line for (line,) in plan)


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--idle-runs", type=int, default=25)
    parser.add_argument("--due-runs", type=int, default=3)
    args = parser.parse_args()
    url = os.environ.get("ISOFLOW_BENCH_DATABASE_URL", "")
    if not url.startswith("postgresql") or url.rstrip("/").endswith("/test"):
        sys.exit("set ISOFLOW_BENCH_DATABASE_URL to a scratch PostgreSQL database (not `test`); it is wiped")
    sizes = [int(s) for s in args.sizes.split(",")]
    reset_database(url)
    upgrade(url)
    db = Database(url)
    rt = Runtime(db, FixedClock(T0))
    sweeper = Sweeper(rt, channel_settings=ChannelSettings())  # in-app notices only: no network in a bench
    try:
        unit, version = seed_world(rt)
        have, rows = 0, []
        print(f"{'open tasks':>11} {'seed s':>7} {'idle ms (median)':>17} {'100 due ms':>11} {'1000 due ms':>12} "
              f"{'per due ms':>10}")
        for size in sizes:
            seed = timed(lambda: grow(db, unit, version, have, size))
            have = size
            sweeper.run_once()  # warm: model, calendar, connections
            idle = statistics.median(timed(sweeper.run_once) for _ in range(args.idle_runs))
            due = {n: statistics.median(due_sweep(db, sweeper, n) for _ in range(args.due_runs)) for n in (100, 1000)}
            rows.append((size, idle, due))
            print(f"{size:>11,} {seed:>7.1f} {idle * 1000:>17.2f} {due[100] * 1000:>11.1f} {due[1000] * 1000:>12.1f} "
                  f"{due[1000] / 1000 * 1000:>10.2f}")
        big = statistics.median(due_sweep(db, sweeper, 5000) for _ in range(args.due_runs))
        print(f"\nat {sizes[-1]:,} open tasks, 5000 due: {big * 1000:.0f} ms ({big / 5000 * 1000:.2f} ms per due)")
        print(f"plan of the due-task query at {sizes[-1]:,} open tasks:\n{explain_idle(db)}")
        first, last = rows[0], rows[-1]
        print(f"\nopen tasks x{last[0] / first[0]:,.0f}: idle sweep x{last[1] / first[1]:.2f}, "
              f"1000-due sweep x{last[2][1000] / first[2][1000]:.2f}")
        print(f"at {last[0]:,}: 1000 due / 100 due = x{last[2][1000] / last[2][100]:.2f}, "
              f"5000 due / 1000 due = x{big / last[2][1000]:.2f} (cost grows with what is due, not with what is open)")
        print(f"goals at {last[0]:,}: idle {last[1] * 1000:.1f} ms (<= 20 ms), 1000 due {last[2][1000] * 1000:.0f} ms (<= 1000 ms)")
    finally:
        db.dispose()
        reset_database(url)  # leave the scratch database empty


if __name__ == "__main__":
    main()
