"""Query shapes that keep the reads fast at a province's size (docs/performance.md,
"Province scale"): the inbox merges one ordered range per pool, a whole dossier code is
matched exactly, a national ID through its index. Same answers as before, on both
databases."""
from __future__ import annotations

import re

from datetime import date, timedelta

import pytest

from sqlalchemy import text

from engine.runtime import Runtime
from engine.services import dossiers
from engine.services.dossiers import Applicant
from engine.services.identity import assign_role
from engine.views import dossiers as views
from tests.support import SYSTEM, build_world


def test_the_inbox_merges_mine_and_every_pool_in_due_order_page_by_page(db, clock) -> None:
    world = build_world(Runtime(db, clock))
    rt = world.rt
    # the officer also holds the clerk's role, in both communes: four pools and their own steps
    officer = world.actor("officer")
    for unit in ("TRIPHU", "NAHANG"):
        assign_role(rt, SYSTEM, user_id=officer.user_id, unit_code=unit, role="one_stop_clerk", valid_from=date(2020, 1, 1))
    assign_role(rt, SYSTEM, user_id=officer.user_id, unit_code="NAHANG", role="justice_officer", valid_from=date(2020, 1, 1))
    for i in range(14):
        unit, clerk = ("TRIPHU", "clerk") if i % 2 else ("NAHANG", "nh_clerk")
        receipt = dossiers.receive(rt, world.actor(clerk), unit_code=unit, procedure_code="9.000001",
                                   applicant=Applicant(f"Người {i}"))
        clock.advance(timedelta(minutes=7 * (i % 5)))
        if i % 3 == 0:  # handed to the officers' pool
            [task] = [t for t in views.inbox(rt, world.actor(clerk)) if t.dossier_id == receipt.dossier_id]
            dossiers.complete_task(rt, world.actor(clerk), task.id, {})
    with db.engine.begin() as conn:  # some steps wait on the citizen (no due instant), one is the officer's own
        conn.execute(text("UPDATE tasks SET assignee_id = NULL WHERE state = 'open' AND id % 2 = 0"))  # back to the pools
        conn.execute(text("UPDATE tasks SET due_at = NULL, clock = 'paused' WHERE id % 5 = 0 AND state = 'open'"))
        conn.execute(text("UPDATE tasks SET assignee_id = :u WHERE id = (SELECT max(id) FROM tasks WHERE state = 'open')"),
                     {"u": officer.user_id})
        conn.execute(text("UPDATE tasks SET due_at = (SELECT min(due_at) FROM tasks) WHERE id = 3"))  # a tie on due_at
        expected = [row.id for row in conn.execute(text(
            "SELECT id, due_at FROM tasks WHERE state = 'open' AND (assignee_id = :u OR assignee_id IS NULL) "
            "ORDER BY CASE WHEN due_at IS NULL THEN 1 ELSE 0 END, due_at, id"), {"u": officer.user_id})]
    assert len(expected) >= 9
    with db.engine.connect() as conn:  # every pool is represented: two roles in two communes
        assert conn.execute(text("SELECT count(DISTINCT org_unit_id || role) FROM tasks WHERE id IN ("
                                 + ",".join(map(str, expected)) + ")")).scalar_one() == 4
    assert [t.id for t in views.inbox(rt, officer)] == expected
    pages = [views.inbox(rt, officer, limit=4, offset=offset) for offset in range(0, len(expected) + 4, 4)]
    assert [t.id for page in pages for t in page] == expected
    assert [t.id for t in views.inbox(rt, officer, include_pool=False)] == [max(expected)]
    # the count: exact up to its limit, then "at least the limit", whatever the page
    n = len(expected)
    for count_limit, counted in ((n + 5, views.Counted(n, True)), (n, views.Counted(n, True)),
                                 (n - 1, views.Counted(n - 1, False)), (3, views.Counted(3, False))):
        page, got = views.inbox_page(rt, officer, limit=4, offset=4, count_limit=count_limit)
        assert ([t.id for t in page], got) == (expected[4:8], counted), count_limit
    assert views.inbox_page(rt, officer, include_pool=False)[1] == views.Counted(1, True)


@pytest.mark.postgres
def test_read_units_are_read_only_and_keep_the_inbox_prepared_but_no_other_read(db, clock) -> None:
    """The inbox's two statements are prepared, so PostgreSQL stops planning them (its
    generic plan is the right one); other reads are planned at every run as before; a
    read unit ends with COMMIT, which keeps them, and cannot write."""
    world = build_world(Runtime(db, clock))
    rt, clerk = world.rt, world.actor("clerk")
    dossiers.receive(rt, clerk, unit_code="TRIPHU", procedure_code="9.000001", applicant=Applicant("Lò Văn Pa"))
    with rt.read(clerk) as unit:
        for _ in range(8):
            assert views.inbox_page(unit, clerk)[1] == views.Counted(1, True)
            assert views.search_dossiers(unit, clerk, views.DossierFilter(applicant="pa"))[1] == 1
        raw = unit.connection.connection.dbapi_connection
    assert raw.read_only is None  # back to the pool as it came
    prepared = raw.execute("SELECT statement, generic_plans FROM pg_prepared_statements").fetchall()
    raw.rollback()
    assert len(prepared) == 2 and all("tasks.state = 'open'" in statement for statement, _ in prepared), prepared
    assert all(generic > 0 for _, generic in prepared)  # PostgreSQL chose the generic plan: no more planning
    with pytest.raises(Exception, match="read-only transaction"):
        with rt.read(clerk) as unit:
            unit.connection.execute(text("UPDATE dossiers SET applicant_phone = '1'"))


def test_a_whole_code_is_matched_exactly_in_any_case_and_a_part_by_its_start(db, clock) -> None:
    world = build_world(Runtime(db, clock))
    receipts = [dossiers.receive(world.rt, world.actor("clerk"), unit_code="TRIPHU", procedure_code="9.000001",
                                 applicant=Applicant(name, id_number=number))
                for name, number in (("Lò Văn Pa", "011099000001"), ("Hà Thị Mai", "011099000002"))]
    chair = world.actor("chair")
    first = receipts[0].code
    for typed in (first, first.lower(), f"  {first} "):
        page, total = views.search_dossiers(world.rt, chair, views.DossierFilter(code=typed))
        assert ([d.code for d in page], total) == ([first], 1), typed
    page, total = views.search_dossiers(world.rt, chair, views.DossierFilter(code=first.rsplit("-", 1)[0]))
    assert total == 2  # a part of the code: every dossier of that day
    page, total = views.search_dossiers(world.rt, chair, views.DossierFilter(id_number="011099000002"))
    assert ([d.code for d in page], total) == ([receipts[1].code], 1)
    assert views.search_dossiers(world.rt, chair, views.DossierFilter(id_number="011099"))[1] == 0  # whole numbers only


def _codes(rt, actor, typed: str) -> list[str]:
    page, total = views.search_dossiers(rt, actor, views.DossierFilter(code=typed, sort="code"), limit=100)
    assert total == len(page)
    return [d.code for d in page]


def test_a_code_is_found_by_its_start_with_or_without_the_commune(db, clock) -> None:
    world = build_world(Runtime(db, clock))
    rt = world.rt

    def receive(clerk: str, unit: str) -> str:
        return dossiers.receive(rt, world.actor(clerk), unit_code=unit, procedure_code="9.000001",
                                applicant=Applicant("Lò Văn Pa")).code

    march_3 = [receive("clerk", "TRIPHU") for _ in range(3)]
    clock.advance(timedelta(days=1))
    march_4 = [receive("clerk", "TRIPHU")]
    other_commune = [receive("nh_clerk", "NAHANG")]
    assert march_3[1] == "TRIPHU-260303-0002" and other_commune == ["NAHANG-260304-0001"]
    chair, admin = world.actor("chair"), world.actor("admin")
    triphu = march_3 + march_4
    for typed, expected in [
        ("TRIPHU-2603", triphu), ("triphu-260303", march_3), (" TriPhu-260303-000 ", march_3),
        ("260303", march_3), ("260303-0002", [march_3[1]]), ("2603", triphu), ("-", []),
        ("TRI", triphu),  # part of the commune's own code: all of its dossiers
        ("0002", []),  # not a start: a number alone is not searched inside codes
        ("NAHANG-26", []), ("%", []), ("_", []), ("2603%", []), ("26030_", []), ("Ω", []),
        ("\U0010ffff", []), ("2603\U0010ffff", []), ("\ud7ff", []),  # the last code points have no plain successor
    ]:
        assert _codes(rt, chair, typed) == sorted(expected), typed
    assert _codes(rt, admin, "2603") == sorted(triphu + other_commune)  # after each commune's code
    assert _codes(rt, admin, "nahang") == other_commune
    assert _codes(rt, admin, "260304-0001") == sorted([march_4[0], other_commune[0]])


@pytest.mark.postgres
def test_codes_compare_byte_by_byte_and_a_start_is_read_from_the_unique_index(db, clock) -> None:
    world = build_world(Runtime(db, clock))
    for _ in range(3):
        dossiers.receive(world.rt, world.actor("clerk"), unit_code="TRIPHU", procedure_code="9.000001",
                         applicant=Applicant("Lò Văn Pa"))
    with db.engine.begin() as conn:
        assert conn.execute(text(
            "SELECT collation_name FROM information_schema.columns WHERE table_name = 'dossiers' "
            "AND column_name = 'code'")).scalar_one() == "C"
        conn.execute(text("SET LOCAL enable_seqscan = off"))
        conn.execute(text("PREPARE by_start(text, text) AS SELECT id FROM dossiers WHERE code >= $1 AND code < $2"))
        conn.execute(text("SET LOCAL plan_cache_mode = force_generic_plan"))  # as after five prepared runs
        plan = "\n".join(conn.execute(text("EXPLAIN EXECUTE by_start('TRIPHU-2603', 'TRIPHU-2604')")).scalars())
        # the unique key, or on dossiers partitioned by year (0019) each partition's, never the table
        scans = re.findall(r"(\w+ Scan)(?: using (\w+))? on (\w+)", plan)
        assert scans and all(kind == "Index Scan" and index in ("uq_dossiers_code", f"{table}_code_key")
                             for kind, index, table in scans), plan
        assert conn.execute(text("EXECUTE by_start('TRIPHU-2603', 'TRIPHU-2604')")).rowcount == 3
