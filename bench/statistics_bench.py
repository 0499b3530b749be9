"""Time of one statistics report (engine.views.statistics) over 100,000 dossiers.

Run (from the repository root):
  .venv/bin/python bench/statistics_bench.py                       # SQLite file in a temp dir
  .venv/bin/python bench/statistics_bench.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/isoflow_stats --reset

Seeding: communes and procedure models go through the services (create_org_unit,
publish_file); users, dossiers, their steps and pauses are bulk-inserted rows shaped like
the runtime's (due instants, pauses and classifications computed with the calendar), so
100,000 dossiers take seconds instead of hours. Dossiers are received over Jan-Nov 2026;
the clock stands at Tue 2026-12-15 10:00. Prints the median of `--repeat` runs per
period and grouping (wall and this process's CPU time), and the wall-time ratio to the
month report.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, insert, inspect, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine.audit import Actor  # noqa: E402
from engine.domain.calendar import VN_TZ, WORKING_DAY, Pause, WorkingCalendar, WorkingTimeLimit  # noqa: E402
from engine.domain.clock import FixedClock  # noqa: E402
from engine.adapters.db.migrate import upgrade  # noqa: E402
from engine.adapters.db.models import Dossier, DossierPause, Procedure, ProcedureVersion, Task, User  # noqa: E402
from engine.adapters.db.session import Database  # noqa: E402
from engine.runtime import Runtime  # noqa: E402
from engine.services.identity import create_org_unit  # noqa: E402
from engine.services.procedures import publish_file  # noqa: E402
from engine.views.statistics import GROUPINGS, compute_statistics  # noqa: E402
from bench.common import reset_database  # noqa: E402

SYSTEM = Actor.system("bench")
MODEL = ROOT / "tests" / "fixtures" / "simple-procedure.bpmn"
# code, field, limit in working days
PROCEDURES = [("9.100001", "civil_status", 2), ("9.100002", "civil_status", 3), ("9.100003", "certification", 2),
              ("9.100004", "certification", 2), ("9.100005", "land", 5), ("9.100006", "social_protection", 5),
              ("9.100007", "household_business", 3), ("9.100008", "culture", 4)]
PERIODS = ["2026-03", "2026-Q3", "2026-9M", "2026"]
NOW = datetime(2026, 12, 15, 10, 0, tzinfo=VN_TZ)
HOUR = timedelta(hours=1)
CHUNK = 50_000  # dossiers generated and inserted per batch


def publish_models(rt: Runtime, directory: Path) -> None:
    (directory / "forms").mkdir(exist_ok=True)
    for form in (MODEL.parent / "forms").iterdir():
        (directory / "forms" / form.name).write_bytes(form.read_bytes())
    source = MODEL.read_text(encoding="utf-8")
    for code, field, days in PROCEDURES:
        text_ = (source.replace('value="9.000001"', f'value="{code}"')
                 .replace('value="civil_status"', f'value="{field}"')
                 .replace('name="time_limit" value="P3D"', f'name="time_limit" value="P{days}D"')
                 .replace('name="time_limit.mountainous" value="P5D"', f'name="time_limit.mountainous" value="P{days + 2}D"')
                 .replace('name="Thủ tục thử nghiệm"', f'name="Thủ tục {code}"'))
        path = directory / f"{code}.bpmn"
        path.write_text(text_, encoding="utf-8")
        publish_file(rt, SYSTEM, path, effective_from=date(2020, 1, 1))


def seed(rt: Runtime, n: int, communes: int, seed_value: int) -> dict[str, int]:
    rng = random.Random(seed_value)
    cal = WorkingCalendar()
    create_org_unit(rt, SYSTEM, code="BENCH", name="Tỉnh Bench", kind="province")
    for i in range(communes):
        create_org_unit(rt, SYSTEM, code=f"X{i:03d}", name=f"Xã số {i}", kind="commune", parent_code="BENCH",
                        category="mountainous" if i % 5 == 4 else "normal")
    with tempfile.TemporaryDirectory() as tmp:
        publish_models(rt, Path(tmp))
    with rt.db.engine.begin() as conn:
        units = dict(conn.execute(text("SELECT code, id FROM org_units WHERE kind = 'commune'")).all())
        versions = {code: vid for code, vid in conn.execute(
            select(Procedure.code, ProcedureVersion.id).join(ProcedureVersion, ProcedureVersion.procedure_id == Procedure.id))}
        user_rows = [{"username": f"{code.lower()}_{role}", "full_name": f"{role.title()} {code}", "active": True,
                      "home_org_unit_id": uid, "created_at": NOW}
                     for code, uid in units.items() for role in ("clerk", "officer", "chair")]
        conn.execute(insert(User), user_rows)
        users = dict(conn.execute(select(User.username, User.id)).all())
    unit_list = sorted(units.items())
    year_start = datetime(2026, 1, 1, tzinfo=VN_TZ)
    span_minutes = int((datetime(2026, 12, 1, tzinfo=VN_TZ) - year_start).total_seconds() // 60)
    dossiers, tasks, pauses = [], [], []
    spent_by_finished: list[timedelta] = []  # what indicator 2.2 must find, known by construction
    sequence: dict[tuple[str, date], int] = {}
    # dossiers are inserted in the order they were received, as the runtime does: ids and
    # table blocks follow time, so a period's dossiers lie together (a random order would
    # scatter every month over the whole table, which no office produces)
    receipt_rng = random.Random(seed_value + 1)
    receipt_minutes = sorted(receipt_rng.randrange(span_minutes) for _ in range(n))
    counts = {"dossiers": 0, "tasks": 0, "pauses": 0}
    insert_seconds = 0.0
    for i in range(n):
        if dossiers and i % CHUNK == 0:  # a million dossiers do not fit in memory as dicts at once
            insert_seconds += _insert(rt, dossiers, pauses, tasks, counts)
        code, unit_id = unit_list[i % len(unit_list)]
        proc_code, _, days = PROCEDURES[rng.randrange(len(PROCEDURES))]
        if int(code[1:]) % 5 == 4:
            days += 2
        received = cal.next_working_instant(year_start + timedelta(minutes=receipt_minutes[i]))
        limit = WorkingTimeLimit(days * WORKING_DAY)
        day = received.date()
        sequence[(code, day)] = sequence.get((code, day), 0) + 1
        fate = rng.random()
        paused = None
        spend = limit.amount * rng.uniform(0.2, 1.4)  # working time the back office takes
        if rng.random() < 0.1:  # supplementation during appraisal: 1-3 working days with the citizen
            p_start = cal.add_working_time(received, spend * 0.3)
            p_end = cal.add_working_time(p_start, WORKING_DAY * rng.randint(1, 3))
            paused = (p_start, p_end)
        due = cal.due(received, limit, [Pause(*paused)] if paused else [])
        extra = cal.working_time_between(*paused) if paused else timedelta(0)
        finished = cal.add_working_time(received, spend + extra)
        row = {"id": i + 1, "code": f"{code}-{day:%y%m%d}-{sequence[(code, day)]:05d}", "org_unit_id": unit_id,
               "procedure_version_id": versions[proc_code], "applicant_name": f"Công dân {i}", "channel": rng.choice((1, 1, 2, 2, 2, 3)),
               "received_at": received, "due_at": due, "original_due_at": due, "pin_hash": "bench-seed",
               "supplement_count": 1 if paused else 0, "data": {}}
        still_open = finished > NOW or fate < 0.03
        if fate < 0.05 and not still_open:  # withdrawn or stopped
            row.update(state="closed", status_code=7, result="withdrawn", finished_at=finished, returned_at=None,
                       classification=None)
        elif still_open:
            row.update(state="open", status_code=5 if paused and paused[1] > NOW else 4, result=None,
                       finished_at=None, returned_at=None, classification=None)
        else:
            row.update(state="closed", status_code=10, result="granted", finished_at=finished, returned_at=finished,
                       classification=cal.classify_finished(due, finished))
            spent_by_finished.append(spend)
        dossiers.append(row)
        if paused:
            pauses.append({"dossier_id": i + 1, "kind": "supplementation", "started_at": paused[0],
                           "ended_at": paused[1] if paused[1] <= NOW else None, "reason": "Thiếu giấy tờ"})
        # steps: receive (2 h), appraise (the rest), sign (4 h), each classified with the calendar
        marks = [received, cal.add_working_time(received, spend * 0.1), finished - (finished - received) * 0.1, finished]
        stuck_at = 1 if fate < 0.03 else None  # a few dossiers stay in appraisal and become overdue
        for index, ((bpmn_id, role, duration), created, done) in enumerate(zip(
                (("receive", "clerk", 2 * HOUR), ("appraise", "officer", days * WORKING_DAY - 6 * HOUR),
                 ("sign", "chair", 4 * HOUR)), marks, marks[1:])):
            if created > NOW or (row["result"] == "withdrawn" and index > 0):
                break
            step_due = cal.add_working_time(created, duration)
            officer = users[f"{code.lower()}_{role}"]
            if row["state"] == "open" and (done > NOW or index == stuck_at):
                tasks.append(_task(i + 1, unit_id, bpmn_id, role, created, step_due, None,
                                   officer if rng.random() < 0.8 else None, None))
                break
            tasks.append(_task(i + 1, unit_id, bpmn_id, role, created, step_due, done, officer,
                               cal.classify_finished(step_due, done)))
    insert_seconds += _insert(rt, dossiers, pauses, tasks, counts)
    with rt.db.engine.begin() as conn:
        if rt.db.dialect == "postgresql":
            conn.execute(text("SELECT setval(pg_get_serial_sequence('dossiers', 'id'), (SELECT max(id) FROM dossiers))"))
        conn.execute(text("ANALYZE"))
    return {**counts, "users": len(user_rows), "insert_seconds": round(insert_seconds, 1),
            "expected_2_2_days": round(sum(spent_by_finished, timedelta(0)) / len(spent_by_finished) / WORKING_DAY, 2)}


def _insert(rt: Runtime, dossiers: list, pauses: list, tasks: list, counts: dict[str, int]) -> float:
    """Insert the rows gathered so far and empty the lists; returns the seconds spent."""
    t0 = time.perf_counter()
    with rt.db.engine.begin() as conn:
        for table, name, rows in ((Dossier, "dossiers", dossiers), (DossierPause, "pauses", pauses), (Task, "tasks", tasks)):
            for k in range(0, len(rows), 20000):
                conn.execute(insert(table), rows[k:k + 20000])
            counts[name] += len(rows)
            rows.clear()
    return time.perf_counter() - t0


def _task(dossier_id, unit_id, bpmn_id, role, created, due, completed, user_id, classification) -> dict:
    return {"dossier_id": dossier_id, "workflow_task_id": str(uuid.uuid4()), "bpmn_id": bpmn_id, "name": bpmn_id,
            "role": {"clerk": "one_stop_clerk", "officer": "justice_officer", "chair": "chair"}[role],
            "org_unit_id": unit_id, "assignee_id": user_id, "state": "completed" if completed else "open",
            "clock": "running", "status_code": 4, "duration_seconds": 0, "created_at": created, "due_at": due,
            "completed_at": completed, "completed_by_id": user_id if completed else None,
            "classification": classification}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", help="default: a new SQLite file in a temporary directory")
    parser.add_argument("--reset", action="store_true", help="drop everything in the database first (PostgreSQL)")
    parser.add_argument("--dossiers", type=int, default=100_000)
    parser.add_argument("--communes", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--reuse", action="store_true",
                        help="time the dossiers a previous run seeded (same --dossiers) instead of seeding again")
    parser.add_argument("--periods", default=",".join(PERIODS), help=f"comma-separated (default {','.join(PERIODS)})")
    parser.add_argument("--groupings", default=",".join(GROUPINGS), help="comma-separated (default: all)")
    opts = parser.parse_args()
    tmp = None
    url = opts.database_url
    if url is None:
        tmp = tempfile.TemporaryDirectory()
        url = f"sqlite:///{Path(tmp.name) / 'bench.db'}"
    if opts.reset:
        reset_database(url)
    db = Database(url)
    held = 0
    if "dossiers" in inspect(db.engine).get_table_names():
        with db.engine.connect() as conn:
            held = conn.scalar(select(func.count()).select_from(Dossier))
        if held and not (opts.reuse and held == opts.dossiers):
            sys.exit(f"{url} already holds {held} dossiers; pass --reset to start from an empty database, "
                     f"or --reuse with --dossiers {held} to time them again")
    upgrade(url)
    rt = Runtime(db, FixedClock(NOW))
    if held:
        with db.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
        print(f"database: {db.dialect}; reusing {held} seeded dossiers")
    else:
        t0 = time.perf_counter()
        sizes = seed(rt, opts.dossiers, opts.communes, opts.seed)
        print(f"database: {db.dialect}; seeded in {time.perf_counter() - t0:.1f} s: {sizes}")
    compute_statistics(rt, SYSTEM, period="2026-03", group_by="commune")  # warm caches (holidays, models)
    if hasattr(os, "getloadavg"):
        print("load average before timing: " + " ".join(f"{x:.1f}" for x in os.getloadavg())
              + f" on {os.cpu_count()} CPUs")
    # wall: what a user waits for; cpu: this process only (with SQLite that is all the work,
    # with PostgreSQL the server's share is missing), steadier on a busy machine
    print(f"{'period':<8} {'grouping':<10} {'rows':>5} {'finished':>8} {'wall ms':>8} {'cpu ms':>7} {'x month':>8}")
    month: dict[str, float] = {}
    for period in opts.periods.split(","):
        for group_by in opts.groupings.split(","):
            walls, cpus = [], []
            for _ in range(opts.repeat):
                t, c = time.perf_counter(), time.process_time()
                report = compute_statistics(rt, SYSTEM, period=period, group_by=group_by)
                walls.append(time.perf_counter() - t)
                cpus.append(time.process_time() - c)
            ms = statistics.median(walls) * 1000
            month.setdefault(group_by, ms)
            print(f"{period:<8} {group_by:<10} {len(report.rows):>5} {report.total.finished_total:>8} "
                  f"{ms:>8.0f} {statistics.median(cpus) * 1000:>7.0f} {ms / month[group_by]:>8.1f}")
    year = compute_statistics(rt, SYSTEM, period="2026", group_by="commune").total
    print(f"year totals (same on every database for the same seed): finished {year.finished_total}, "
          f"pending {year.pending_within_limit}+{year.pending_overdue}, 2.1 = {year.indicator_2_1} %, "
          f"2.2 = {year.indicator_2_2_days} working days")
    db.dispose()
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
