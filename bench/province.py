"""A province's five years of dossiers, seeded set-based on PostgreSQL.

    from bench.province import seed_province
    summary = seed_province(url, dossiers=10_000_000)

Shape (issue 18): one province, `communes` communes of different sizes (a town
commune receives about 7x what a small mountain commune does), five years of
receipts on working days (Monday-Friday) before T0, the demo's procedure library
with a realistic mix (certified copies and signatures dominate, as at a real desk),
four steps per dossier taken from each procedure's own model (role, name, step id),
Vietnamese names with diacritics and their folded search key, 12-digit national ID
numbers, a clerk, officers, a vice chair and a chair in every commune with their role
assignments. 85 % of dossiers are closed (result returned, all four steps completed);
the open 15 % are the most recent receipts, with one to three steps done and one open
(assigned to a named officer or waiting in the commune's pool), none due for an
escalation before T0 (the scheduler sweep finds nothing due).

The database is dropped, migrated, and the reference data (province, procedures)
goes through the real services; the bulk rows are written by a few INSERT ... SELECT
over generate_series with foreign-key triggers off (`session_replication_role =
replica`: the rows are consistent by construction) and the secondary indexes built
after the load, which is how a restore or a migration of this size would run.
Workflow state: open dossiers carry a real serialized instance (taken from a dossier
received through the service); closed ones the engine's compact record
(`engine.adapters.spiff.CLOSED_STATE_JSON`, what the store writes when a dossier closes).
The event log is not bulk-seeded (its rows are hash-chained one after another);
its size per dossier is measured by `bench/load_bench.py` on real traffic.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import text

from engine.adapters.db.migrate import upgrade
from engine.adapters.db.partitions import ensure_year_partitions
from engine.adapters.db.models import QualityMark, folded_name
from engine.adapters.db.session import Database
from engine.adapters.spiff import CLOSED_STATE_JSON
from engine.services.quality_sweep import MARK as QUALITY_MARK
from engine.audit import Actor
from engine.domain.clock import FixedClock
from engine.domain.text import fold
from engine.runtime import Runtime
from engine.security import hash_password, hash_pin

ROOT = Path(__file__).resolve().parent.parent
VN = ZoneInfo("Asia/Ho_Chi_Minh")
T0 = datetime(2026, 11, 27, 10, 0, tzinfo=VN)  # a Friday morning
YEARS = 5
OPEN_SHARE = 0.15
STEPS_PER_DOSSIER = 4
PASSWORD = "bench-password"
SYSTEM = Actor.system("province-seed")

# Share of receipts per procedure code (the rest share what is left equally).
MIX = {"2.000815": 30, "2.000884": 14, "1.001193": 12, "2.000635": 8, "1.004873": 8, "1.000656": 5,
       "1.000894": 4, "2.001035": 4}
STAFF = [  # username suffix, full name, roles (every commune has these seven people)
    ("clerk", "Nguyễn Thị Lan", ["one_stop_clerk"]),
    ("justice", "Trần Văn Hùng", ["justice_officer"]),
    ("land", "Lê Minh Tuấn", ["land_officer"]),
    ("culture", "Phạm Thị Hoa", ["culture_social_officer"]),
    ("office", "Hoàng Văn Nam", ["office_officer", "finance_officer"]),
    ("vicechair", "Đỗ Thị Mai", ["vice_chair"]),
    ("chair", "Nông Văn Quang", ["chair"]),
]
FAMILY = ["Nguyễn"] * 8 + ["Trần"] * 3 + ["Lê"] * 2 + [
    "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý", "Nông",
    "Triệu", "Ma", "Hà", "Lương", "Quan", "Đàm"]
MIDDLE = ["Văn", "Thị", "Hữu", "Đức", "Minh", "Thanh", "Ngọc", "Quang", "Xuân", "Thu", "Thị Thu", "Văn Đức",
          "Kim", "Bảo", "Thế"]
GIVEN = ["An", "Bình", "Cường", "Dũng", "Giang", "Hà", "Hải", "Hạnh", "Hoa", "Hùng", "Hương", "Khánh", "Lan",
         "Linh", "Long", "Mai", "Nam", "Nga", "Ngọc", "Phúc", "Phương", "Quân", "Sơn", "Tâm", "Thảo", "Thắng",
         "Thủy", "Trang", "Trung", "Tuấn", "Vân", "Việt", "Yến", "Ánh", "Dương", "Đức", "Hiếu", "Hòa", "Huy",
         "Khoa", "Lộc", "Minh", "Nhung", "Oanh", "Quyên", "Tài", "Thành", "Tiến", "Vinh", "Xuân", "Ánh Dương",
         "Gia Bảo", "Khôi", "Đạt"]


@dataclass
class ProvinceSummary:
    dossiers: int
    tasks: int
    open_tasks: int
    communes: int
    users: int
    seconds: dict[str, float]


def _sql_array(values: list[str]) -> str:
    return "ARRAY[" + ",".join("'" + v.replace("'", "''") + "'" for v in values) + "]::text[]"


def seed_province(url: str, *, dossiers: int, communes: int = 120, log=print) -> ProvinceSummary:
    from bench.common import reset_database
    from engine.services.identity import assign_role, create_org_unit, create_user
    from engine.services.procedures import publish_file

    seconds: dict[str, float] = {}
    t = time.perf_counter()
    reset_database(url)
    upgrade(url)
    db = Database(url)
    rt = Runtime(db, FixedClock(datetime(2021, 1, 4, 9, 0, tzinfo=VN)))
    create_org_unit(rt, SYSTEM, code="TQ", name="Tỉnh Tuyên Quang", kind="province")
    consultant = create_user(rt, SYSTEM, username="consultant", full_name="Vũ Thị Ngọc", home_unit_code="TQ",
                             password=PASSWORD)
    admin = create_user(rt, SYSTEM, username="province", full_name="Bùi Đức Anh", home_unit_code="TQ",
                        password=PASSWORD)
    assign_role(rt, SYSTEM, user_id=consultant, unit_code="TQ", role="iso_consultant", valid_from=date(2020, 1, 1))
    assign_role(rt, SYSTEM, user_id=admin, unit_code="TQ", role="province_admin", valid_from=date(2020, 1, 1))
    actors = {"consultant": Actor(user_id=consultant, name="consultant"), "province": Actor(user_id=admin, name="province")}
    for path in sorted((ROOT / "bpmn").glob("*.bpmn")):
        publish_file(rt, actors["consultant"], path, effective_from=date(2020, 1, 1), approver=actors["province"])
    seconds["reference data"] = time.perf_counter() - t

    with db.engine.begin() as conn:
        versions = conn.execute(text(
            "SELECT v.id, p.code FROM procedure_versions v JOIN procedures p ON p.id = v.procedure_id "
            "WHERE v.status = 'approved' ORDER BY p.code")).all()
        source = {vid: conn.execute(text("SELECT source, forms FROM procedure_versions WHERE id = :v"),
                                    {"v": vid}).one() for vid, _ in versions}
    steps: list[tuple[int, int, str, str, str, int, str | None]] = []
    limits: dict[int, float] = {}
    for vid, _code in versions:
        model = rt.models.get(source[vid][0], source[vid][1])
        ordered = model.steps_in_order()
        chosen = [s for s in ordered if not s.pauses_clock][:STEPS_PER_DOSSIER] or ordered[:STEPS_PER_DOSSIER]
        while len(chosen) < STEPS_PER_DOSSIER:  # short models: the last step again (a second signature)
            chosen.append(chosen[-1])
        for no, step in enumerate(chosen, start=1):
            steps.append((vid, no, step.bpmn_id, step.name, step.role, int(step.duration.total_seconds()), step.form))
        limits[vid] = max(1.0, model.longest_duration.total_seconds() / 28800)  # working days
    # the mix as 100 slots of version ids
    weights = {vid: MIX.get(code, 0) for vid, code in versions}
    rest = [vid for vid, w in weights.items() if w == 0]
    left = 100 - sum(weights.values())
    for i, vid in enumerate(rest):
        weights[vid] = left // len(rest) + (1 if i < left % len(rest) else 0)
    slots = [vid for vid, w in weights.items() for _ in range(w)]
    assert len(slots) == 100, len(slots)

    t = time.perf_counter()
    pin = hash_pin("000000")
    password = hash_password(PASSWORD)
    working_days = []
    day = (T0 - timedelta(days=365 * YEARS)).date()
    while day < T0.date():
        if day.weekday() < 5:
            working_days.append(day)
        day += timedelta(days=1)
    unit_weights = [0.4 + 2.6 * (1 - i / communes) ** 2 for i in range(communes)]
    per_day_total = dossiers / len(working_days)
    rates = [per_day_total * w / sum(unit_weights) for w in unit_weights]
    open_from = working_days[int(len(working_days) * (1 - OPEN_SHARE))]
    with db.engine.begin() as conn:
        province_id = conn.execute(text("SELECT id FROM org_units WHERE code = 'TQ'")).scalar_one()
        conn.execute(text(
            "INSERT INTO org_units (code, name, kind, parent_id, category, address, active) "
            "SELECT 'X' || lpad(i::text, 3, '0'), 'Xã số ' || i, 'commune', :p, "
            "CASE WHEN i % 5 = 0 THEN 'mountainous' ELSE 'normal' END, '', true FROM generate_series(1, :n) i"),
            {"p": province_id, "n": communes})
        conn.execute(text("CREATE UNLOGGED TABLE bench_units (id int, code text, name text, base int, frac float8)"))
        conn.execute(text(
            "INSERT INTO bench_units SELECT o.id, o.code, o.name, floor(r.rate)::int, r.rate - floor(r.rate) "
            "FROM org_units o JOIN unnest(CAST(:rates AS float8[])) WITH ORDINALITY r(rate, i) "
            "ON o.code = 'X' || lpad(r.i::text, 3, '0')"), {"rates": rates})
        conn.execute(text("CREATE UNLOGGED TABLE bench_days (day date, ord int)"))
        conn.execute(text("INSERT INTO bench_days SELECT d, i FROM unnest(CAST(:days AS date[])) WITH ORDINALITY t(d, i)"),
                     {"days": working_days})
        for suffix, full_name, _roles in STAFF:
            conn.execute(text(
                "INSERT INTO users (username, full_name, password_hash, active, home_org_unit_id, created_at) "
                "SELECT lower(code) || '_' || :s, :fn, :pw, true, id, :at FROM bench_units"),
                {"s": suffix, "fn": full_name, "pw": password, "at": datetime(2020, 1, 1, tzinfo=VN)})
        conn.execute(text("CREATE UNLOGGED TABLE bench_staff (org_unit_id int, role text, user_id int)"))
        for suffix, _full_name, roles in STAFF:
            for role in roles:
                conn.execute(text(
                    "INSERT INTO bench_staff SELECT b.id, :r, u.id FROM bench_units b "
                    "JOIN users u ON u.username = lower(b.code) || '_' || :s"), {"r": role, "s": suffix})
        conn.execute(text(
            "INSERT INTO role_assignments (user_id, org_unit_id, role, valid_from, created_at) "
            "SELECT user_id, org_unit_id, role, DATE '2020-01-01', :at FROM bench_staff"),
            {"at": datetime(2020, 1, 1, tzinfo=VN)})
        conn.execute(text(
            "CREATE UNLOGGED TABLE bench_steps (version_id int, step_no int, bpmn_id text, name text, role text, "
            "duration_seconds int, form text)"))
        conn.execute(text("INSERT INTO bench_steps VALUES (:v, :n, :b, :name, :r, :d, :f)"),
                     [dict(v=v, n=n, b=b, name=name, r=r, d=d, f=f) for v, n, b, name, r, d, f in steps])
        # a clerk/officer for roles no commune person holds in STAFF (none expected; kept safe)
        conn.execute(text(
            "INSERT INTO bench_staff SELECT DISTINCT b.id, s.role, c.user_id FROM bench_units b CROSS JOIN "
            "bench_steps s JOIN bench_staff c ON c.org_unit_id = b.id AND c.role = 'one_stop_clerk' "
            "WHERE NOT EXISTS (SELECT 1 FROM bench_staff x WHERE x.org_unit_id = b.id AND x.role = s.role)"))
    seconds["communes, users, roles"] = time.perf_counter() - t

    # one real open instance, from a dossier received through the service
    from engine.services import dossiers as service
    from engine.services.dossiers import Applicant

    rt.clock = FixedClock(T0)
    with db.engine.connect() as conn:
        clerk = conn.execute(text("SELECT id FROM users WHERE username = 'x001_clerk'")).scalar_one()
    received = service.receive(rt, Actor(user_id=clerk, name="clerk"), unit_code="X001", procedure_code="1.001193",
                               applicant=Applicant(name="Nguyễn Văn Mẫu"))
    with db.engine.begin() as conn:
        sample_id = received.dossier_id
        open_state = conn.execute(text("SELECT state_json FROM workflow_states WHERE dossier_id = :d"),
                                  {"d": sample_id}).scalar_one()
        for table in ("events", "tasks", "workflow_states", "dossiers"):
            column = "id" if table == "dossiers" else "dossier_id"
            if table == "events":
                continue  # the chain keeps its first rows; they are a few events
            conn.execute(text(f"DELETE FROM {table} WHERE {column} = :d"), {"d": sample_id})

    t = time.perf_counter()
    with db.engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text("SET LOCAL synchronous_commit = off"))
        # the partitions of the seeded years and the next (the sweep would have made them),
        # before their keys are listed to be built after the load
        ensure_year_partitions(conn, list(range(T0.year - YEARS, T0.year + 2)))
        # a partitioned table's index is defined ON ONLY the parent: built ON it, it
        # builds every partition's copy too
        secondary = [(name, definition.replace(" ON ONLY ", " ON ")) for name, definition in conn.execute(text(
            "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.tablename IN ('dossiers', 'tasks', "
            "'workflow_states') AND i.schemaname = 'public' AND NOT EXISTS (SELECT 1 FROM pg_constraint c "
            "WHERE c.conname = i.indexname)"))]
        for name, _definition in secondary:
            conn.execute(text(f"DROP INDEX {name}"))
        # unique keys on random-looking values (codes, workflow task ids) are far cheaper
        # to build sorted once than to grow row by row
        # (per partition where the tables are partitioned by year)
        uniques = conn.execute(text(
            "SELECT c.conname, c.conrelid::regclass::text, pg_get_constraintdef(c.oid) FROM pg_constraint c "
            "WHERE c.contype = 'u' AND (c.conrelid::regclass::text IN ('dossiers', 'tasks') OR c.conrelid IN "
            "(SELECT inhrelid FROM pg_inherits WHERE inhparent IN ('dossiers'::regclass, 'tasks'::regclass)))")).all()
        for name, table, _definition in uniques:
            conn.execute(text(f"ALTER TABLE {table} DROP CONSTRAINT {name}"))
        conn.execute(text("SELECT setseed(0.18)"))
        names = {"fam": FAMILY, "mid": MIDDLE, "giv": GIVEN}
        arrays = {k: _sql_array(v) for k, v in names.items()}
        folded = {k: _sql_array([fold(x) for x in v]) for k, v in names.items()}
        slot_array = "ARRAY[" + ",".join(str(v) for v in slots) + "]::int[]"
        limit_array = "ARRAY[" + ",".join(f"{limits.get(v, 5.0):.3f}" for v in range(1, max(limits) + 1)) + "]::float8[]"
        conn.execute(text(f"""
            INSERT INTO dossiers (id, code, org_unit_id, procedure_version_id, applicant_name, applicant_name_folded,
                applicant_id_number, applicant_address, applicant_phone, applicant_email, channel, status_code, state,
                received_at, received_by_id, due_at, original_due_at, finished_at, returned_at, classification,
                result, pin_hash, supplement_count, data, next_escalation_at, escalation_level)
            SELECT isoflow_next_id('dossiers', year), code, uid, vid, name, name_folded, id_number, address, phone, '',
                channel,
                CASE WHEN is_open THEN 4 ELSE 10 END, CASE WHEN is_open THEN 'open' ELSE 'closed' END,
                received_at, clerk, due_at, due_at,
                CASE WHEN is_open THEN NULL ELSE received_at + (due_at - received_at) * spent END,
                CASE WHEN is_open THEN NULL ELSE received_at + (due_at - received_at) * spent + interval '1 day' END,
                CASE WHEN is_open THEN NULL WHEN spent > 1 THEN 'late' WHEN spent > 0.9 THEN 'on_time' ELSE 'early' END,
                CASE WHEN is_open THEN NULL WHEN r4 < 0.03 THEN 'refused' ELSE 'granted' END,
                :pin, 0, '{{}}',
                CASE WHEN is_open AND due_at > :t0 + interval '1 day' THEN due_at - interval '1 day' END,
                CASE WHEN is_open AND due_at < :t0 THEN 'overdue' END
            FROM (
                SELECT u.code || '-' || to_char(d.day, 'YYMMDD') || '-' || lpad(n::text, 4, '0') AS code,
                    -- the year of receipt owns the id (partitions by year, migration 0019)
                    extract(year FROM d.day)::int AS year,
                    u.id AS uid, v.vid, u.name AS commune,
                    (d.day + time '07:30') AT TIME ZONE 'Asia/Ho_Chi_Minh' + random() * interval '9 hours' AS received_at,
                    d.day >= :open_from AS is_open,
                    (f.a)[1 + floor(r1 * {len(FAMILY)})::int] || ' ' || (f.b)[1 + floor(r2 * {len(MIDDLE)})::int] || ' '
                        || (f.c)[1 + floor(r3 * {len(GIVEN)})::int] AS name,
                    (f.fa)[1 + floor(r1 * {len(FAMILY)})::int] || ' ' || (f.fb)[1 + floor(r2 * {len(MIDDLE)})::int] || ' '
                        || (f.fc)[1 + floor(r3 * {len(GIVEN)})::int] AS name_folded,
                    '0' || lpad((8 + (u.id % 90))::text, 2, '0') || (floor(r1 * 2)::int) || lpad(floor(random() * 1e8)::bigint::text, 8, '0')
                        AS id_number,
                    'Thôn ' || (1 + floor(r4 * 12)::int) || ', ' || u.name AS address,
                    '09' || lpad(floor(random() * 1e8)::bigint::text, 8, '0') AS phone,
                    CASE WHEN r5 < 0.7 THEN 1 WHEN r5 < 0.97 THEN 2 ELSE 3 END AS channel,
                    c.user_id AS clerk, r4,
                    (d.day + time '07:30') AT TIME ZONE 'Asia/Ho_Chi_Minh'
                        + ({limit_array})[v.vid] * 1.4 * interval '1 day' AS due_at,
                    CASE WHEN r6 < 0.07 THEN 1.0 + r6 * 4 WHEN r6 < 0.4 THEN 0.9 + r6 * 0.2 ELSE 0.3 + r6 * 0.6 END
                        AS spent
                FROM bench_days d CROSS JOIN bench_units u
                -- a unit's fractional daily rate, spread evenly over the days (golden-ratio sequence)
                CROSS JOIN LATERAL generate_series(1, u.base + (mod((d.ord * 0.6180339887 + u.id * 0.7548776662)
                                                                    ::numeric, 1) < u.frac)::int) n
                -- referencing n makes the planner draw new numbers for every row
                CROSS JOIN LATERAL (SELECT random() + 0 * n r1, random() + 0 * n r2, random() + 0 * n r3,
                                           random() + 0 * n r4, random() + 0 * n r5, random() + 0 * n r6,
                                           random() + 0 * n r7) r
                CROSS JOIN LATERAL (SELECT ({slot_array})[1 + floor(r.r7 * 100)::int] AS vid) v
                CROSS JOIN (SELECT {arrays['fam']} a, {arrays['mid']} b, {arrays['giv']} c,
                                   {folded['fam']} fa, {folded['mid']} fb, {folded['giv']} fc) f
                JOIN bench_staff c ON c.org_unit_id = u.id AND c.role = 'one_stop_clerk'
            ) g
        """), {"pin": pin, "t0": T0, "open_from": open_from})
        # the load runs with triggers off: the words of the names (migration 0017) in one pass
        conn.execute(text("INSERT INTO name_words (word) SELECT DISTINCT w FROM unnest("
                          f"{folded['fam']} || {folded['mid']} || {folded['giv']}) AS part, "
                          "unnest(string_to_array(part, ' ')) AS w WHERE w <> '' ON CONFLICT DO NOTHING"))
        seconds["dossiers"] = time.perf_counter() - t
        log(f"  dossiers inserted in {seconds['dossiers']:.0f} s")
        t = time.perf_counter()
        conn.execute(text("""
            INSERT INTO tasks (id, dossier_id, workflow_task_id, bpmn_id, name, role, org_unit_id, assignee_id, state,
                clock, status_code, form, duration_seconds, created_at, due_at, completed_at, completed_by_id,
                outcome, classification, next_escalation_at, escalation_level, handed_over_by_id)
            SELECT isoflow_next_id('tasks', extract(year FROM d.received_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::int),
                d.id, md5(d.id::text || ':' || s.step_no)::uuid::text, s.bpmn_id, s.name, s.role, d.org_unit_id,
                CASE WHEN NOT t.done AND d.id % 2 = 0 THEN NULL ELSE p.user_id END,
                CASE WHEN t.done THEN 'completed' ELSE 'open' END, 'running', 4, s.form, s.duration_seconds,
                t.created_at, t.created_at + s.duration_seconds * 3 * interval '1 second',
                CASE WHEN t.done THEN t.created_at + t.span END, CASE WHEN t.done THEN p.user_id END,
                CASE WHEN t.done THEN 'approve' END,
                CASE WHEN t.done THEN CASE WHEN d.classification = 'late' AND s.step_no = 4 THEN 'late'
                                           ELSE 'on_time' END END,
                CASE WHEN NOT t.done AND d.next_escalation_at IS NOT NULL THEN d.next_escalation_at END,
                CASE WHEN NOT t.done THEN d.escalation_level END,
                CASE WHEN s.step_no > 1 THEN d.received_by_id END
            FROM dossiers d
            JOIN bench_steps s ON s.version_id = d.procedure_version_id
                AND s.step_no <= CASE WHEN d.state = 'open' THEN 1 + d.id % 4 ELSE 4 END
            JOIN bench_staff p ON p.org_unit_id = d.org_unit_id AND p.role = s.role
            CROSS JOIN LATERAL (SELECT
                d.state <> 'open' OR s.step_no < 1 + d.id % 4 AS done,
                (coalesce(d.finished_at, least(d.due_at, :t0)) - d.received_at) / 4 AS span) q
            CROSS JOIN LATERAL (SELECT q.done, q.span, d.received_at + (s.step_no - 1) * q.span AS created_at) t
        """), {"t0": T0})
        seconds["tasks"] = time.perf_counter() - t
        log(f"  tasks inserted in {seconds['tasks']:.0f} s")
        t = time.perf_counter()
        conn.execute(text(
            "INSERT INTO workflow_states (dossier_id, state_json, version, next_timer_at, updated_at) "
            "SELECT id, CASE WHEN state = 'open' THEN :open_state ELSE :closed_state END, 1, NULL, "
            "coalesce(returned_at, received_at) FROM dossiers"),
            {"open_state": open_state, "closed_state": CLOSED_STATE_JSON})
        seconds["workflow states"] = time.perf_counter() - t
        log(f"  workflow states inserted in {seconds['workflow states']:.0f} s")
        # A province in its steady state: the sweep's quality pass has looked up to T0, as
        # it would have every few minutes. The late dossiers' nonconformities themselves
        # are not seeded; without the mark the first sweep would read the whole backlog.
        conn.execute(QualityMark.__table__.insert().values(name=QUALITY_MARK, at=T0))
        for table in ("bench_units", "bench_days", "bench_staff", "bench_steps"):
            conn.execute(text(f"DROP TABLE {table}"))
    t = time.perf_counter()
    with db.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.execute(text("SET maintenance_work_mem = '1GB'"))
        for name, table, definition in uniques:
            t1 = time.perf_counter()
            conn.execute(text(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}"))
            log(f"  {name}: {time.perf_counter() - t1:.0f} s")
        for name, definition in secondary:
            t1 = time.perf_counter()
            conn.execute(text(definition))
            log(f"  {name}: {time.perf_counter() - t1:.0f} s")
        for table in ("dossiers", "tasks", "workflow_states", "users", "role_assignments", "org_units"):
            conn.execute(text(f"VACUUM ANALYZE {table}"))
    seconds["indexes + analyze"] = time.perf_counter() - t
    with db.engine.connect() as conn:
        counts = conn.execute(text(
            "SELECT (SELECT count(*) FROM dossiers), (SELECT count(*) FROM tasks), "
            "(SELECT count(*) FROM tasks WHERE state = 'open'), (SELECT count(*) FROM users)")).one()
        # the folded key must be what the write path computes
        sample = conn.execute(text("SELECT applicant_name, applicant_name_folded FROM dossiers "
                                   "TABLESAMPLE SYSTEM (0.1) LIMIT 2000")).all()
    bad = [name for name, key in sample if folded_name(name) != key]
    assert not bad, f"folded names differ from engine.domain.text.fold: {bad[:3]}"
    db.dispose()
    return ProvinceSummary(counts[0], counts[1], counts[2], communes, counts[3], seconds)
