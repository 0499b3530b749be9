"""Cost of the sweep's quality part (docs/iso.md) on PostgreSQL: opening nonconformities
for late dossiers and reminding corrective actions, as the dossier history grows.

    ISOFLOW_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/isoflow_quality \\
        .venv/bin/python bench/quality_bench.py [--sizes 10000,100000,1000000]

Seeds `size` dossiers (90% closed in the past, 2% of them late with their nonconformity
already open, 10% open and not due yet) with INSERT ... SELECT generate_series, plus a
backlog of 200 open overdue dossiers whose nonconformity is open. Measures the median
of the quality part of an idle sweep (nothing new to open or remind), then a sweep
that opens 1,000 new nonconformities. The database's `public` schema is dropped: point
it at a scratch database.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import median_ms, reset_database  # noqa: E402
from bench.scheduler_bench import seed_world  # noqa: E402
from engine.adapters.db.migrate import upgrade  # noqa: E402
from engine.adapters.db.session import Database  # noqa: E402
from engine.domain.clock import FixedClock  # noqa: E402
from engine.runtime import Runtime  # noqa: E402
from engine.services import quality_sweep  # noqa: E402

T0 = datetime(2026, 3, 3, 10, 0, tzinfo=ZoneInfo("Asia/Ho_Chi_Minh"))
BACKLOG = 200


def grow(db: Database, unit: int, version: int, have: int, want: int) -> None:
    """Dossiers have+1..want: every 10th open and due in 5 days, the rest closed long ago,
    every 50th of those late (with its nonconformity)."""
    params = {"unit": unit, "version": version, "t0": T0, "a": have + 1, "b": want}
    with db.engine.begin() as conn:
        conn.execute(text("""
            INSERT INTO dossiers (id, code, org_unit_id, procedure_version_id, applicant_name, applicant_id_number,
                applicant_address, applicant_phone, applicant_email, channel, status_code, state, received_at,
                due_at, original_due_at, finished_at, classification, pin_hash, supplement_count, data)
            SELECT g, 'Q-' || g, :unit, :version, 'Công dân', '', '', '', '', 1,
                CASE WHEN g % 10 = 0 THEN 4 ELSE 10 END, CASE WHEN g % 10 = 0 THEN 'open' ELSE 'closed' END,
                CAST(:t0 AS timestamptz) - (g % 700) * interval '1 day' - interval '30 days',
                CASE WHEN g % 10 = 0 THEN CAST(:t0 AS timestamptz) + interval '5 days'
                     ELSE CAST(:t0 AS timestamptz) - (g % 700) * interval '1 day' - interval '25 days' END,
                CAST(:t0 AS timestamptz) + interval '5 days',
                CASE WHEN g % 10 = 0 THEN NULL ELSE CAST(:t0 AS timestamptz) - (g % 700) * interval '1 day'
                    - interval '25 days' + CASE WHEN g % 50 = 1 THEN interval '1 day' ELSE -interval '1 day' END END,
                CASE WHEN g % 10 = 0 THEN NULL WHEN g % 50 = 1 THEN 'late' ELSE 'on_time' END,
                'x', 0, '{}'::jsonb
            FROM generate_series(CAST(:a AS integer), CAST(:b AS integer)) AS g"""), params)
        conn.execute(text("""
            INSERT INTO nonconformities (org_unit_id, source_kind, source_id, dossier_id, description, detected_at,
                opened_by, state)
            SELECT :unit, 'late_dossier', g, g, 'x', CAST(:t0 AS timestamptz) - interval '1 day', 'bench', 'open'
            FROM generate_series(CAST(:a AS integer), CAST(:b AS integer)) AS g WHERE g % 50 = 1"""), params)
        conn.execute(text("ANALYZE"))


def backlog(db: Database, unit: int, version: int) -> None:
    """Open dossiers overdue since yesterday, already with their nonconformity: read by
    every sweep (the index range of open overdue dossiers), inserted by none."""
    with db.engine.begin() as conn:
        conn.execute(text("""
            INSERT INTO dossiers (id, code, org_unit_id, procedure_version_id, applicant_name, applicant_id_number,
                applicant_address, applicant_phone, applicant_email, channel, status_code, state, received_at,
                due_at, original_due_at, pin_hash, supplement_count, data)
            SELECT 50000000 + g, 'OD-' || g, :unit, :version, 'Công dân', '', '', '', '', 1, 4, 'open',
                CAST(:t0 AS timestamptz) - interval '5 days', CAST(:t0 AS timestamptz) - interval '1 day',
                CAST(:t0 AS timestamptz) - interval '1 day', 'x', 0, '{}'::jsonb
            FROM generate_series(1, :n) AS g"""), {"unit": unit, "version": version, "t0": T0, "n": BACKLOG})
        conn.execute(text("""
            INSERT INTO nonconformities (org_unit_id, source_kind, source_id, dossier_id, description, detected_at,
                opened_by, state)
            SELECT :unit, 'late_dossier', 50000000 + g, 50000000 + g, 'x', CAST(:t0 AS timestamptz), 'bench', 'open'
            FROM generate_series(1, :n) AS g"""), {"unit": unit, "t0": T0, "n": BACKLOG})


def make_late(db: Database, n: int) -> None:
    """n open dossiers become overdue (no nonconformity yet)."""
    with db.engine.begin() as conn:
        conn.execute(text("""
            UPDATE dossiers SET due_at = CAST(:t0 AS timestamptz) - interval '1 hour'
            WHERE id IN (SELECT id FROM dossiers WHERE state = 'open' AND due_at > CAST(:t0 AS timestamptz)
                         ORDER BY id LIMIT :n)"""), {"t0": T0, "n": n})


def idle_sweep(rt: Runtime) -> None:
    assert quality_sweep.open_late_dossier_nonconformities(rt, T0) == []
    quality_sweep.remind_corrective_actions(rt, T0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--idle-runs", type=int, default=25)
    args = parser.parse_args()
    url = os.environ.get("ISOFLOW_BENCH_DATABASE_URL", "")
    if not url.startswith("postgresql") or url.rstrip("/").endswith("/test"):
        sys.exit("set ISOFLOW_BENCH_DATABASE_URL to a scratch PostgreSQL database (not `test`); it is wiped")
    sizes = [int(s) for s in args.sizes.split(",")]
    reset_database(url)
    upgrade(url)
    db = Database(url)
    rt = Runtime(db, FixedClock(T0))
    try:
        unit, version = seed_world(rt)
        backlog(db, unit, version)
        have = 0
        print(f"{'dossiers':>11} {'seed s':>7} {'idle ms (median)':>17} {'1000 late ms':>13}")
        for size in sizes:
            t0 = time.perf_counter()
            grow(db, unit, version, have, size)
            seed = time.perf_counter() - t0
            have = size
            idle = median_ms(lambda: idle_sweep(rt), args.idle_runs)
            make_late(db, 1000)
            t0 = time.perf_counter()
            opened = quality_sweep.open_late_dossier_nonconformities(rt, T0)
            late = (time.perf_counter() - t0) * 1000
            assert len(opened) == 1000, len(opened)
            print(f"{size:>11,} {seed:>7.1f} {idle:>17.2f} {late:>13.1f}")
    finally:
        db.dispose()
        reset_database(url)


if __name__ == "__main__":
    main()
