"""bench/consistency.py: the load test's check that every dossier is consistent finds
what it is meant to find (status vs open steps, pauses, due instants, the log)."""
from __future__ import annotations

from sqlalchemy import text

from bench.consistency import check
from engine.runtime import Runtime
from engine.services import dossiers
from engine.services.dossiers import Applicant
from engine.views import dossiers as views
from tests.support import build_world


def _broken(db) -> dict[str, list[int]]:
    return {rule: ids for rule, ids in check(db).items() if ids}


def test_a_consistent_database_passes_and_each_kind_of_damage_is_found(db, clock) -> None:
    world = build_world(Runtime(db, clock))
    receipts = [dossiers.receive(world.rt, world.actor("clerk"), unit_code="TRIPHU", procedure_code="9.000001",
                                 applicant=Applicant(name)) for name in ("Nguyễn Văn An", "Trần Thị Bình", "Lê Thị Cúc")]
    [task] = [t for t in views.inbox(world.rt, world.actor("clerk")) if t.dossier_id == receipts[0].dossier_id]
    dossiers.complete_task(world.rt, world.actor("clerk"), task.id, {"note": "đủ"})
    assert _broken(db) == {}

    first, second, third = (r.dossier_id for r in receipts)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE dossiers SET state = 'closed' WHERE id = :d"), {"d": second})  # an open step left
        conn.execute(text("DELETE FROM workflow_states WHERE dossier_id = :d"), {"d": third})
        conn.execute(text("UPDATE tasks SET due_at = NULL WHERE dossier_id = :d AND state = 'open'"), {"d": first})
        conn.execute(text("DELETE FROM events WHERE kind = 'task.completed'"))
        undated = conn.execute(text("SELECT id FROM tasks WHERE dossier_id = :d AND state = 'open'"),
                               {"d": first}).scalar_one()
    broken = _broken(db)
    assert broken == {
        "every dossier has its workflow state": [third],
        "a closed or ended dossier has no open step": [second],
        # closed by hand, its full instance left: the store would have compacted it
        "a closed dossier keeps the compact workflow record, an open one its instance": [second],
        "an open running step has a due instant after it was handed over": [undated],
        "every completed step is in the log once": [task.id],
    }
