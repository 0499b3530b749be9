"""Dossiers and their steps are partitioned by the local year of receipt on PostgreSQL
(migration 0019) and plain on SQLite; the code above the store sees the same tables."""
from __future__ import annotations

import re
from datetime import datetime

import pytest
from alembic import command
from sqlalchemy import event, text
from sqlalchemy.exc import IntegrityError

from engine.adapters.db.migrate import alembic_config, upgrade
from engine.adapters.db.models import Dossier
from engine.adapters.db.dossier_store import DossierStore
from engine.adapters.db.partitions import (
    code_block, code_year, ensure_year_partitions, ids_of_years, year_block, years_of_code_start,
)
from engine.audit import Actor
from engine.domain.calendar import VN_TZ
from engine.runtime import Runtime
from engine.scheduler.sweep import Sweeper
from engine.services import dossiers
from engine.services.dossiers import Applicant
from engine.views.dossiers import DossierFilter, dossier_page, dossier_view, search_dossiers
from tests.support import SYSTEM, build_world

BEFORE = "0018_webhook_revision"
# a dossier's columns after its id and code, to copy a row under another id
COLUMNS = ", ".join(c.name for c in list(Dossier.__table__.columns)[2:])


def _receive(rt, name: str) -> int:
    return dossiers.receive(rt, SYSTEM, unit_code="TRIPHU", procedure_code="9.000001",
                            applicant=Applicant(name)).dossier_id


def _sweep(rt) -> None:
    Sweeper(rt).run_once()


def _open_steps(db, dossier_id: int) -> list[int]:
    with db.engine.connect() as conn:
        return list(conn.execute(text("SELECT id FROM tasks WHERE dossier_id = :d AND state = 'open' ORDER BY id"),
                                 {"d": dossier_id}).scalars())


def _partition(db, table: str, row_id: int) -> str:
    with db.engine.connect() as conn:
        return conn.execute(text(f"SELECT tableoid::regclass::text FROM {table} WHERE id = :i"), {"i": row_id}).scalar_one()


def _schema(db) -> set[tuple[str, str]]:
    """Every index, constraint and trigger on dossiers and tasks and their partitions."""
    with db.engine.connect() as conn:
        return set(conn.execute(text(
            "SELECT 'index', indexrelid::regclass::text FROM pg_index WHERE indrelid IN (SELECT relid FROM "
            "pg_partition_tree('dossiers') UNION SELECT relid FROM pg_partition_tree('tasks')) "
            "UNION SELECT 'constraint', conrelid::regclass::text || '.' || conname FROM pg_constraint "
            "WHERE (conrelid IN (SELECT relid FROM pg_partition_tree('dossiers') UNION "
            "SELECT relid FROM pg_partition_tree('tasks')) OR confrelid IN ('dossiers'::regclass, 'tasks'::regclass)) "
            # PostgreSQL's own copies of a foreign key, one per partition it points at, named by number
            "AND confrelid NOT IN (SELECT inhrelid FROM pg_inherits) "
            "UNION SELECT 'trigger', tgrelid::regclass::text || '.' || tgname FROM pg_trigger "
            "WHERE tgrelid IN (SELECT relid FROM pg_partition_tree('dossiers')) AND NOT tgisinternal")).all())


def _snapshot(db, *, leaving_out: int = 0) -> dict[str, list[tuple]]:
    """Every row of the partitioned tables and of one that points at them, but a dossier's."""
    with db.engine.connect() as conn:
        return {table: [tuple(r) for r in conn.execute(text(
                    f"SELECT * FROM {table} WHERE {column} <> :left ORDER BY {order}"), {"left": leaving_out})]
                for table, column, order in (("dossiers", "id", "id"), ("tasks", "dossier_id", "id"),
                                             ("workflow_states", "dossier_id", "dossier_id"))}


def test_dossiers_and_steps_land_in_their_year_of_receipt(db, clock) -> None:
    rt = Runtime(db, clock)
    world = build_world(rt)
    _sweep(rt)  # the partitions of 2026, whenever the database was migrated
    early = _receive(rt, "Nguyễn Văn An")  # Tuesday 2026-03-03
    # 23:30 on New Year's Eve in Hanoi is 16:30 in UTC: the local year counts
    clock.set(datetime(2030, 12, 31, 23, 30, tzinfo=VN_TZ))
    _sweep(rt)
    late = _receive(rt, "Trần Thị Bình")
    clock.set(datetime(2031, 1, 2, 9, 0, tzinfo=VN_TZ))  # its next step is created in 2031
    desk = _open_steps(db, late)[0]
    dossiers.complete_task(rt, world.actor("clerk"), desk, {})
    steps = _open_steps(db, late)
    assert steps and steps[0] != desk
    if db.dialect != "postgresql":
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT type FROM sqlite_master WHERE name = 'dossiers'")).scalar_one() == "table"
        return
    assert _partition(db, "dossiers", early) == "dossiers_y2026"
    assert _partition(db, "dossiers", late) == "dossiers_y2030"
    assert {_partition(db, "tasks", s) for s in [desk, *steps]} == {"tasks_y2030"}
    with db.engine.connect() as conn:  # a lookup by id reads one partition
        plan = "\n".join(conn.execute(text(f"EXPLAIN SELECT * FROM dossiers WHERE id = {late}")).scalars())
        assert "dossiers_y2030" in plan and "dossiers_y2026" not in plan and "dossiers_legacy" not in plan, plan
        kinds = dict(conn.execute(text(
            "SELECT relname, relkind FROM pg_class WHERE relname IN ('dossiers', 'tasks')")).all())
    assert kinds == {"dossiers": "p", "tasks": "p"}
    # the code above the store reads the dossier as before
    assert dossier_view(rt, SYSTEM, late).code.endswith("-301231-0001")


@pytest.mark.postgres
def test_the_sweep_keeps_the_next_years_partitions_ahead_and_a_year_without_them_still_stores(db, clock) -> None:
    rt = Runtime(db, clock)
    build_world(rt)
    clock.set(datetime(2035, 6, 3, 9, 0, tzinfo=VN_TZ))
    early = _receive(rt, "Bùi Văn Khang")  # no partition for 2035 yet: stored with the legacy rows
    assert _partition(db, "dossiers", early) == "dossiers_legacy"
    sweeper = Sweeper(rt)
    report = sweeper.run_once()
    assert report.partitions == [2035, 2036] and report.errors == []
    assert sweeper.run_once().partitions == []  # once a day, and nothing to create anyway
    later = _receive(rt, "Bùi Thị Linh")
    assert _partition(db, "dossiers", later) == "dossiers_y2035" and later == 1_500_000_001
    assert {v.code[-4:] for v in (dossier_view(rt, SYSTEM, early), dossier_view(rt, SYSTEM, later))} == {"0001", "0002"}
    with pytest.raises(Exception, match="no partition for year 2041"), db.engine.begin() as conn:
        ensure_year_partitions(conn, [2041])


@pytest.mark.postgres
def test_the_last_years_sweep_reports_the_missing_block_once_a_day(db, clock) -> None:
    rt = Runtime(db, clock)
    build_world(rt)
    clock.set(datetime(2040, 6, 3, 9, 0, tzinfo=VN_TZ))
    sweeper = Sweeper(rt)
    report = sweeper.run_once()
    assert report.partitions == [2040]  # this year's are made although the next has no ids
    assert len(report.errors) == 1 and "no partition for year 2041" in report.errors[0], report.errors
    assert sweeper.run_once().errors == []  # tried again tomorrow, not at every sweep
    clock.set(datetime(2040, 6, 4, 9, 0, tzinfo=VN_TZ))
    assert len(sweeper.run_once().errors) == 1


@pytest.mark.postgres
def test_every_foreign_key_still_holds_on_the_partitioned_tables(db, clock) -> None:
    rt = Runtime(db, clock)
    build_world(rt)
    _sweep(rt)
    dossier_id = _receive(rt, "Lê Văn Cường")
    with db.engine.connect() as conn:
        pointing = conn.execute(text(
            "SELECT conrelid::regclass::text || '.' || confrelid::regclass::text FROM pg_constraint "
            "WHERE contype = 'f' AND conparentid = 0 AND confrelid IN ('dossiers'::regclass, 'tasks'::regclass)")).scalars()
        assert len(list(pointing)) == 17
    for statement in (  # a row pointing at a dossier or a step that is not there is refused
            "INSERT INTO workflow_states (dossier_id, state_json, version, updated_at) VALUES (600999999, '{}', 1, now())",
            f"UPDATE tasks SET dossier_id = 600999999 WHERE dossier_id = {dossier_id}",
            "INSERT INTO dossier_pauses (dossier_id, kind, started_at, task_id, reason) "
            f"VALUES ({dossier_id}, 'supplementation', now(), 600999999, '')"):
        with pytest.raises(IntegrityError), db.engine.begin() as conn:
            conn.execute(text(statement))
    # a code is unique within its year's partition
    with pytest.raises(IntegrityError, match="dossiers_y2026_code_key"), db.engine.begin() as conn:
        conn.execute(text(f"INSERT INTO dossiers (id, code, {COLUMNS}) SELECT isoflow_next_id('dossiers', 2026), code, {COLUMNS} "
                          "FROM dossiers WHERE id = :d"), {"d": dossier_id})


@pytest.mark.postgres
def test_downgrade_and_upgrade_keep_every_row_and_id(db, clock, database_url) -> None:
    rt = Runtime(db, clock)
    world = build_world(rt)
    _sweep(rt)
    with db.engine.begin() as conn:  # an empty year, as another test may leave
        ensure_year_partitions(conn, [2038])
    first = _receive(rt, "Phạm Thị Dung")
    dossiers.complete_task(rt, world.actor("clerk"), _open_steps(db, first)[0], {})
    before, schema = _snapshot(db), _schema(db)
    db.dispose()
    command.downgrade(alembic_config(database_url), BEFORE)
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
                                 "WHERE c.relname IN ('dossiers', 'tasks')")).scalar_one() == 0
    assert _snapshot(db) == before
    with db.engine.begin() as conn:  # plain again: a new row takes an id of the sequence of before
        second = conn.execute(text(f"INSERT INTO dossiers (code, {COLUMNS}) SELECT code || '-B', {COLUMNS} "
                                   "FROM dossiers WHERE id = :d RETURNING id"), {"d": first}).scalar_one()
    assert second < 100_000_000
    db.dispose()
    upgrade(database_url)
    assert _snapshot(db, leaving_out=second) == before
    # every key, index and trigger rebuilt, on every partition; a year's partitions that
    # hold no rows (another test's) are not made again, as no row needs them
    after = _schema(db)
    gone = {name.split(".")[0] for kind, name in schema - after if kind == "constraint" and name.endswith("_pkey")}
    assert gone.isdisjoint({"dossiers_legacy", "tasks_legacy", "dossiers_y2026", "tasks_y2026"}), gone
    assert after == {(kind, name) for kind, name in schema
                     if not any(name.startswith(f"{p}.") or name.startswith(f"{p}_") for p in gone)}
    assert _partition(db, "dossiers", second) == "dossiers_legacy"
    third = _receive(rt, "Đỗ Thị Giang")
    assert _partition(db, "dossiers", third) == "dossiers_y2026" and third > first


@pytest.mark.postgres
def test_the_migration_refuses_a_legacy_sequence_already_in_the_year_blocks(db, clock, database_url) -> None:
    rt = Runtime(db, clock)
    build_world(rt)
    _sweep(rt)
    dossier_id = _receive(rt, "Vũ Văn Hùng")
    db.dispose()
    command.downgrade(alembic_config(database_url), BEFORE)
    with db.engine.begin() as conn:
        conn.execute(text("SELECT setval('dossiers_id_seq', 123456789)"))
    db.dispose()
    with pytest.raises(RuntimeError, match="dossiers_id_seq has reached 123456789, where the ids of 2021 start"):
        upgrade(database_url)
    with db.engine.connect() as conn:  # nothing half-done: still the plain tables at the old revision
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == BEFORE
        assert conn.execute(text("SELECT relkind FROM pg_class WHERE relname = 'dossiers'")).scalar_one() == "r"
    with db.engine.begin() as conn:
        conn.execute(text("SELECT setval('dossiers_id_seq', 1)"))
    upgrade(database_url)
    assert _partition(db, "dossiers", dossier_id) == "dossiers_y2026"
    assert _receive(rt, "Vũ Thị Lan") == dossier_id + 1  # the year's ids go on after its last


def test_a_code_and_a_years_ids_say_which_partitions_hold_a_row() -> None:
    assert year_block(2026) == (600_000_000, 700_000_000) and year_block(2041) == (0, 0) == year_block(2020)
    assert code_year("TRIPHU-261231-0042") == 2026 and code_year("TRIPHU-261231-0042-B") is None
    assert code_block("X001-210101-0001") == (100_000_000, 200_000_000)
    assert code_block("not a code") == (0, 2_100_000_000)  # every block: the code does not say
    assert years_of_code_start("2610") == range(2026, 2027) and years_of_code_start("2") == range(2020, 2030)
    assert years_of_code_start("") is None and years_of_code_start("x") is None

    def sql(years) -> str:
        from sqlalchemy.dialects import postgresql
        condition = ids_of_years(Dossier.id, years, "postgresql")
        return str(condition.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))

    # the legacy partition always, adjacent years as one range, a year without a block adds nothing
    assert sql([2026]) == "dossiers.id < 100000000 OR dossiers.id >= 600000000 AND dossiers.id < 700000000"
    assert sql(range(2020, 2030)) == "dossiers.id < 1000000000"
    assert sql([2030, 2026, 2027, 2045]) == ("dossiers.id < 100000000 OR dossiers.id >= 600000000 AND dossiers.id "
                                             "< 800000000 OR dossiers.id >= 1000000000 AND dossiers.id < 1100000000")
    assert str(ids_of_years(Dossier.id, [2026], "sqlite")) == "true"  # nothing is partitioned there


@pytest.mark.postgres
def test_the_year_blocks_are_those_the_database_hands_out(db, clock) -> None:
    rt = Runtime(db, clock)
    build_world(rt)
    _sweep(rt)
    first, end = year_block(2026)
    assert first < _receive(rt, "Ngô Văn Tài") < end
    with db.engine.begin() as conn:
        ensure_year_partitions(conn, [2039])
        lowest, highest = conn.execute(text(
            "SELECT min(x), max(x) FROM (SELECT isoflow_next_id('tasks', 2039) AS x FROM generate_series(1, 3)) s")).one()
        bounds = conn.execute(text("SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE relname = 'tasks_y2039'"))
        assert bounds.scalar_one() == "FOR VALUES FROM (%d) TO (%d)" % year_block(2039)
    assert year_block(2039)[0] <= lowest <= highest < year_block(2039)[1]


@pytest.mark.postgres
def test_reads_that_know_the_year_read_only_its_partitions_and_the_legacy_ones(db, clock) -> None:
    rt = Runtime(db, clock)
    world = build_world(rt)
    _sweep(rt)
    with db.engine.begin() as conn:  # another year's partitions, which none of these reads needs
        ensure_year_partitions(conn, [2030])
    received = dossiers.receive(rt, world.actor("clerk"), unit_code="TRIPHU", procedure_code="9.000001",
                                applicant=Applicant("Lò Văn Pa"))
    statements: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, parameters, context, executemany) -> None:
        if re.search(r"\b(dossiers|tasks)\b", statement):
            statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        chair = world.actor("chair")
        for ref in (received.code, received.dossier_id):  # the dossier's page, with its steps
            assert dossier_page(rt, chair, ref)[1]
        for typed in (received.code, "TRIPHU-2603", "260303"):
            assert search_dossiers(rt, chair, DossierFilter(code=typed))[1] == 1, typed
        with db.engine.begin() as conn:  # a use case's load by code, steps included
            assert len(DossierStore(conn).lock(code=received.code).tasks) == 1
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    with db.engine.connect() as conn:
        plans = "\n".join("\n".join(conn.exec_driver_sql("EXPLAIN " + statement, parameters).scalars())
                          for statement, parameters in statements)
    read = set(re.findall(r"\b((?:dossiers|tasks)_(?:y\d{4}|legacy))\b", plans))
    assert {"dossiers_y2026", "tasks_y2026"} <= read, plans
    assert read <= {"dossiers_y2026", "tasks_y2026", "dossiers_legacy", "tasks_legacy"}, plans
