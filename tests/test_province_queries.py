"""Query shapes that keep the reads fast at a province's size (docs/performance.md,
"Province scale"): the inbox merges one ordered range per pool, a whole dossier code is
matched exactly, a national ID through its index. Same answers as before, on both
databases."""
from __future__ import annotations

from datetime import date, timedelta

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


def test_a_whole_code_is_matched_exactly_in_any_case_and_a_part_as_a_substring(db, clock) -> None:
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
