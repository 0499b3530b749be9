"""The dossier runtime end to end on the real database (SQLite, or PostgreSQL in CI)."""
from __future__ import annotations

import threading
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select

from engine.domain.calendar import VN_TZ
from engine.adapters.db.models import Dossier, DossierPause, Event, Task, WorkflowState
from engine.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from engine.runtime import Runtime
from engine.services import dossiers
from engine.services.dossiers import Applicant
from engine.services.procedures import publish_file
from tests.support import FIXTURES, SIMPLE_MODEL, SYSTEM, build_world


def at(*args) -> datetime:
    return datetime(*args, tzinfo=VN_TZ)


@pytest.fixture
def world(db, clock):
    return build_world(Runtime(db, clock))


def open_tasks(rt, dossier_id):
    with rt.db.session_factory() as s:
        return s.scalars(select(Task).where(Task.dossier_id == dossier_id, Task.state == "open").order_by(Task.id)).all()


def load(rt, dossier_id) -> Dossier:
    with rt.db.session_factory() as s:
        d = s.get(Dossier, dossier_id)
        d.pauses, d.tasks  # load while the session is open
        return d


def receive(world, unit="TRIPHU", clerk="clerk"):
    return dossiers.receive(world.rt, world.actor(clerk), unit_code=unit, procedure_code="9.000001",
                            applicant=Applicant("Nguyễn Văn An", id_number="008090001234"), channel=1)


def the_task(rt, dossier_id, bpmn_id) -> Task:
    tasks = [t for t in open_tasks(rt, dossier_id) if t.bpmn_id == bpmn_id]
    assert tasks, f"{bpmn_id} is not open; open: {[t.bpmn_id for t in open_tasks(rt, dossier_id)]}"
    return tasks[0]


def test_receipt_computes_code_appointment_and_first_step(world):
    receipt = receive(world)
    assert receipt.code == "TRIPHU-260303-0001"
    assert receipt.due_at == at(2026, 3, 6, 10, 0)  # 3 working days from Tue 10:00
    assert len(receipt.pin) == 6
    second = receive(world)
    assert second.code == "TRIPHU-260303-0002"
    [task] = open_tasks(world.rt, receipt.dossier_id)
    assert (task.bpmn_id, task.role, task.assignee_id) == ("receive", "one_stop_clerk", world.actor("clerk").user_id)
    assert task.due_at == at(2026, 3, 3, 12, 0 + 0) + timedelta(hours=2)  # 10:00 + 2 working hours crosses lunch
    d = load(world.rt, receipt.dossier_id)
    assert (d.status_code, d.state) == (2, "open")


def test_mountainous_commune_gets_its_longer_limit(world):
    receipt = receive(world, unit="NAHANG", clerk="nh_clerk")
    assert receipt.due_at == at(2026, 3, 10, 10, 0)  # P5D


def test_happy_path_to_returned_result(world):
    rt, clock = world.rt, world.rt.clock
    r = receive(world)
    dossiers.complete_task(rt, world.actor("clerk"), the_task(rt, r.dossier_id, "receive").id, {"note": "đủ"})
    assert load(rt, r.dossier_id).status_code == 4
    clock.advance(timedelta(hours=3))
    out = dossiers.complete_task(rt, world.actor("officer"), the_task(rt, r.dossier_id, "appraise").id,
                                 {"outcome": "approve", "opinion": "Hồ sơ hợp lệ"})
    assert [t.bpmn_id for t in open_tasks(rt, r.dossier_id)] == ["sign"]
    assert out.status_code == 4
    dossiers.complete_task(rt, world.actor("chair"), the_task(rt, r.dossier_id, "sign").id, {"outcome": "approve"})
    d = load(rt, r.dossier_id)
    assert (d.status_code, d.result, d.classification) == (9, "granted", "early")
    with pytest.raises(Conflict) as err:  # a processed result is not refused afterwards
        dossiers.refuse(rt, world.actor("chair"), r.dossier_id, "Đổi ý")
    assert err.value.code == "already_processed"
    out = dossiers.return_result(rt, world.actor("clerk"), r.code, {"receiver": "Nguyễn Văn An"})
    d = load(rt, r.dossier_id)
    assert (out.status_code, d.status_code, d.state) == (10, 10, "closed")
    assert d.returned_at == clock.now()
    with rt.db.session_factory() as s:
        done = s.scalars(select(Task).where(Task.dossier_id == r.dossier_id).order_by(Task.id)).all()
        assert [(t.bpmn_id, t.state) for t in done] == [
            ("receive", "completed"), ("appraise", "completed"), ("sign", "completed"), ("return_result", "completed")]
        assert all(t.classification in ("early", "on_time") for t in done)


def test_supplementation_pauses_the_clock_and_moves_the_appointment(world):
    rt, clock = world.rt, world.rt.clock
    r = receive(world)
    dossiers.complete_task(rt, world.actor("clerk"), the_task(rt, r.dossier_id, "receive").id)
    clock.set(at(2026, 3, 3, 15, 0))
    dossiers.request_supplementation(rt, world.actor("officer"), the_task(rt, r.dossier_id, "appraise").id,
                                     "Thiếu giấy chứng sinh")
    d = load(rt, r.dossier_id)
    assert d.status_code == 5 and d.supplement_count == 1
    [pause] = d.pauses
    assert pause.ended_at is None and pause.kind == "supplementation"
    [waiting] = open_tasks(rt, r.dossier_id)
    assert (waiting.bpmn_id, waiting.due_at) == ("citizen_supplement", None)
    # The citizen comes back two working days later (Thu 15:00): 16 working hours paused.
    clock.set(at(2026, 3, 5, 15, 0))
    dossiers.supplement(rt, world.actor("clerk"), r.dossier_id, {"documents": "Giấy chứng sinh"})
    d = load(rt, r.dossier_id)
    assert d.status_code == 4
    assert d.due_at == at(2026, 3, 10, 10, 0)  # Fri 6 10:00 moved by 2 working days
    assert d.original_due_at == at(2026, 3, 6, 10, 0)
    assert [t.bpmn_id for t in open_tasks(rt, r.dossier_id)] == ["appraise"]
    with pytest.raises(Conflict) as err:
        dossiers.request_supplementation(rt, world.actor("officer"), the_task(rt, r.dossier_id, "appraise").id,
                                         "Thiếu thêm giấy tờ")
    assert err.value.code == "supplementation_limit"
    assert load(rt, r.dossier_id).supplement_count == 1


def test_refusal_in_the_model_returns_a_refusal_letter(world):
    rt = world.rt
    r = receive(world)
    dossiers.complete_task(rt, world.actor("clerk"), the_task(rt, r.dossier_id, "receive").id)
    dossiers.complete_task(rt, world.actor("officer"), the_task(rt, r.dossier_id, "appraise").id,
                           {"outcome": "refuse", "reason": "Không thuộc thẩm quyền"})
    assert [t.bpmn_id for t in open_tasks(rt, r.dossier_id)] == ["return_refusal"]
    d = load(rt, r.dossier_id)
    assert (d.status_code, d.result) == (9, "refused")
    dossiers.return_result(rt, world.actor("clerk"), r.dossier_id)
    assert load(rt, r.dossier_id).status_code == 10


def test_chair_refuses_withdraw_and_stop(world):
    rt = world.rt
    r1, r2, r3 = receive(world), receive(world), receive(world)
    with pytest.raises(PermissionDenied):
        dossiers.refuse(rt, world.actor("clerk"), r1.dossier_id, "Không đủ điều kiện")
    with pytest.raises(InvalidInput):
        dossiers.refuse(rt, world.actor("chair"), r1.dossier_id, "  ")
    dossiers.refuse(rt, world.actor("chair"), r1.dossier_id, "Không đủ điều kiện")
    d = load(rt, r1.dossier_id)
    assert (d.status_code, d.result, d.state) == (9, "refused", "open")
    assert open_tasks(rt, r1.dossier_id) == []
    # the refusal letter is handed over with the return-refusal form (bpmn/forms/common_return_refusal)
    with pytest.raises(InvalidInput) as err:
        dossiers.return_result(rt, world.actor("clerk"), r1.dossier_id)
    assert {p.field for p in err.value.problems} == {"reason", "delivery"}
    dossiers.return_result(rt, world.actor("clerk"), r1.dossier_id,
                           {"reason": "Không đủ điều kiện", "delivery": "in_person"})
    assert load(rt, r1.dossier_id).status_code == 10
    dossiers.withdraw(rt, world.actor("clerk"), r2.code, "Công dân xin rút hồ sơ")
    dossiers.stop(rt, world.actor("vice"), r3.dossier_id, "Cơ quan có thẩm quyền yêu cầu dừng")
    assert (load(rt, r2.dossier_id).status_code, load(rt, r3.dossier_id).status_code) == (7, 8)
    with pytest.raises(Conflict):
        dossiers.withdraw(rt, world.actor("clerk"), r2.code, "again")


def test_permissions_roles_and_other_communes(world):
    rt = world.rt
    with pytest.raises(PermissionDenied):
        receive(world, clerk="officer")
    with pytest.raises(NotFound):  # another commune's unit does not even exist for this clerk
        receive(world, unit="NAHANG", clerk="clerk")
    r = receive(world)
    task = the_task(rt, r.dossier_id, "receive")
    with pytest.raises(NotFound):
        dossiers.complete_task(rt, world.actor("nh_clerk"), task.id)
    with pytest.raises(PermissionDenied):
        dossiers.complete_task(rt, world.actor("officer"), task.id)
    with pytest.raises(Conflict):  # claimed by the receiving clerk
        dossiers.complete_task(rt, world.actor("clerk2"), task.id)
    dossiers.reassign(rt, world.actor("chair"), task.id, world.actor("clerk2").user_id, "nghỉ phép")
    dossiers.complete_task(rt, world.actor("clerk2"), task.id)
    with pytest.raises(NotFound):
        dossiers.get_dossier(rt, world.actor("nh_chair"), r.dossier_id)
    assert dossiers.get_dossier(rt, world.actor("admin"), r.dossier_id).code == r.code


def test_bad_form_data_is_reported_and_changes_nothing(world):
    rt = world.rt
    r = receive(world)
    dossiers.complete_task(rt, world.actor("clerk"), the_task(rt, r.dossier_id, "receive").id)
    task = the_task(rt, r.dossier_id, "appraise")
    with pytest.raises(InvalidInput) as err:
        dossiers.complete_task(rt, world.actor("officer"), task.id, {"outcome": "maybe", "extra": 1})
    fields = {p.field for p in err.value.problems}
    assert "outcome" in fields and any("extra" in (p.message_en + (p.field or "")) for p in err.value.problems)
    with pytest.raises(InvalidInput):
        dossiers.complete_task(rt, world.actor("officer"), task.id, {})
    assert the_task(rt, r.dossier_id, "appraise").state == "open"


def test_failure_mid_completion_leaves_everything_as_before(world, monkeypatch):
    rt = world.rt
    r = receive(world)
    task = the_task(rt, r.dossier_id, "receive")

    def count_state():
        with rt.db.session_factory() as s:
            ws = s.get(WorkflowState, r.dossier_id)
            return (ws.version, ws.state_json, s.scalar(select(func.count()).select_from(Event)),
                    s.scalar(select(func.count()).select_from(Task)),
                    [(t.bpmn_id, t.state) for t in s.scalars(select(Task).order_by(Task.id))],
                    s.get(Dossier, r.dossier_id).status_code)

    before = count_state()
    import engine.audit as audit_module
    import engine.unit_of_work as uow_module

    def explode(*args, **kwargs):
        raise RuntimeError("disk full while writing the log")

    # the event is built where it is appended: with the save's statement (PostgreSQL) or after it
    monkeypatch.setattr(uow_module, "event_values", explode)
    monkeypatch.setattr(audit_module, "event_values", explode)
    with pytest.raises(RuntimeError):
        dossiers.complete_task(rt, world.actor("clerk"), task.id)
    monkeypatch.undo()
    assert count_state() == before
    dossiers.complete_task(rt, world.actor("clerk"), task.id)  # and it still works afterwards
    assert count_state()[0] == before[0] + 1


def test_concurrent_completion_exactly_one_wins(world):
    rt = world.rt
    r = receive(world)
    task = the_task(rt, r.dossier_id, "receive")
    results: list[str] = []
    barrier = threading.Barrier(6)

    def worker():
        barrier.wait()
        try:
            dossiers.complete_task(rt, world.actor("clerk"), task.id)
            results.append("ok")
        except Conflict:
            results.append("conflict")

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["conflict"] * 5 + ["ok"]
    with rt.db.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Task).where(Task.bpmn_id == "appraise")) == 1
        assert s.scalar(select(func.count()).select_from(Event).where(Event.kind == "task.completed")) == 1


def test_a_later_version_never_changes_a_running_dossier(world, tmp_path):
    rt, clock = world.rt, world.rt.clock
    before = receive(world)
    v2 = tmp_path / "simple-procedure.bpmn"
    v2.write_bytes(SIMPLE_MODEL.read_bytes().replace(b'value="P3D"', b'value="P4D"'))
    (tmp_path / "forms").mkdir()
    for form in (FIXTURES / "forms").iterdir():
        (tmp_path / "forms" / form.name).write_bytes(form.read_bytes())
    info = publish_file(rt, SYSTEM, v2, effective_from=date(2026, 3, 4))
    assert info.version_no == 2
    same_day = receive(world)
    assert same_day.version_no == 1 and same_day.due_at == before.due_at
    clock.set(at(2026, 3, 4, 8, 0))
    after = receive(world)
    assert after.version_no == 2 and after.due_at == at(2026, 3, 10, 8, 0)
    dossiers.complete_task(rt, world.actor("clerk"), the_task(rt, before.dossier_id, "receive").id)
    with rt.db.session_factory() as s:
        pinned = s.get(Dossier, before.dossier_id)
        assert pinned.procedure_version.version_no == 1
        assert pinned.due_at == before.due_at


def test_workflow_instance_is_small(world):
    r = receive(world)
    with world.rt.db.session_factory() as s:
        size = len(s.get(WorkflowState, r.dossier_id).state_json.encode())
    assert size < 8 * 1024
