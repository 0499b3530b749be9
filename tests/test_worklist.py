"""Read models behind the screens: step forms, allowed actions, workload by role."""
from __future__ import annotations

from datetime import datetime

import pytest

from engine.domain.calendar import VN_TZ
from engine.errors import NotFound
from engine.runtime import Runtime
from engine.services import dossiers
from engine.views import dossiers as views, worklist
from engine.services.dossiers import Applicant
from tests.support import build_world


@pytest.fixture
def world(db, clock):
    return build_world(Runtime(db, clock))


def receive(world, name="An"):
    return dossiers.receive(world.rt, world.actor("clerk"), unit_code="TRIPHU", procedure_code="9.000001",
                            applicant=Applicant(name))


def step(world, user, receipt, data=None):
    [task] = [t for t in views.inbox(world.rt, world.actor(user)) if t.dossier_id == receipt.dossier_id]
    dossiers.complete_task(world.rt, world.actor(user), task.id, data or {})
    return task


def test_task_detail_gives_the_form_and_who_may_act(world):
    r = receive(world)
    desk = step(world, "clerk", r)
    [appraise] = views.inbox(world.rt, world.actor("officer"))
    detail = worklist.task_detail(world.rt, world.actor("officer"), appraise.id)
    assert detail.schema["title"] == "Thẩm định hồ sơ" and detail.may_perform and detail.offers_supplement
    assert detail.data is None
    assert not worklist.task_detail(world.rt, world.actor("clerk"), appraise.id).may_perform
    done = worklist.task_detail(world.rt, world.actor("clerk"), desk.id)
    assert done.task.state == "completed" and done.data == {} and not done.offers_supplement
    with pytest.raises(NotFound):
        worklist.task_detail(world.rt, world.actor("nh_clerk"), appraise.id)
    with pytest.raises(NotFound):
        worklist.task_detail(world.rt, world.actor("clerk"), 99999)


def test_dossier_actions_follow_roles_and_state(world):
    r = receive(world)
    assert worklist.dossier_actions(world.rt, world.actor("clerk"), r.code) == {
        "dossier.withdraw", "dossier.apology"}
    assert worklist.dossier_actions(world.rt, world.actor("chair"), r.code) == {
        "dossier.refuse", "dossier.stop", "dossier.apology"}
    assert worklist.dossier_actions(world.rt, world.actor("officer"), r.code) == set()
    step(world, "clerk", r)
    step(world, "officer", r, {"outcome": "supplement", "reason": "Thiếu giấy tờ"})
    assert "dossier.supplement" in worklist.dossier_actions(world.rt, world.actor("clerk"), r.code)
    assert worklist.waiting_step(world.rt, world.actor("clerk"), r.code).task.bpmn_id == "citizen_supplement"
    assert worklist.ready_step(world.rt, world.actor("clerk"), r.code) is None
    dossiers.refuse(world.rt, world.actor("chair"), r.code, "Không đủ điều kiện")
    assert worklist.dossier_actions(world.rt, world.actor("clerk"), r.code) == {"dossier.return_result",
                                                                                "dossier.withdraw"}
    with pytest.raises(NotFound):
        worklist.dossier_actions(world.rt, world.actor("nh_chair"), r.code)


def test_queue_summary_counts_per_role(world):
    a = receive(world, "A")
    receive(world, "B")
    step(world, "clerk", a)
    world.rt.clock.set(datetime(2026, 3, 4, 9, 0, tzinfo=VN_TZ))  # B's desk step was due Tue 12:00
    loads = {l.role: l for l in worklist.queue_summary(world.rt, world.actor("chair"), "TRIPHU")}
    assert set(loads) == {"one_stop_clerk", "justice_officer"}
    assert (loads["one_stop_clerk"].open, loads["one_stop_clerk"].overdue, loads["one_stop_clerk"].unclaimed) == (1, 1, 0)
    assert (loads["justice_officer"].open, loads["justice_officer"].due_today, loads["justice_officer"].unclaimed) == (1, 1, 1)
    with pytest.raises(NotFound):
        worklist.queue_summary(world.rt, world.actor("nh_chair"), "TRIPHU")


def test_role_holders_units_and_receivable_procedures(world):
    holders = worklist.role_holders(world.rt, world.actor("chair"), "TRIPHU", "one_stop_clerk")
    assert [h.username for h in holders] == ["clerk", "clerk2"]
    assert [u.code for u in worklist.units_where(world.rt, world.actor("clerk"), "dossier.receive")] == ["TRIPHU"]
    assert {u.code for u in worklist.units_where(world.rt, world.actor("admin"), "dossier.view")} == {"TRIPHU", "NAHANG"}
    assert worklist.units_where(world.rt, world.actor("consultant"), "dossier.receive") == []
    assert [p.code for p in worklist.receivable_procedures(world.rt)] == ["9.000001"]
    assert worklist.receivable_procedures(world.rt, on=datetime(2019, 1, 1).date()) == []
    assert worklist.may_reassign(world.rt, world.actor("vice"), "TRIPHU")
    assert not worklist.may_reassign(world.rt, world.actor("clerk"), "TRIPHU")
    assert worklist.library_rights(world.rt, world.actor("consultant")) == {"procedure.view", "procedure.author"}
    assert "procedure.approve" in worklist.library_rights(world.rt, world.actor("chair"))
