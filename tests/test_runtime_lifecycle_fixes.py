"""Regression tests for the lifecycle fixes (Hardening), through the use cases on the
real database (SQLite, or PostgreSQL with ISOFLOW_TEST_DATABASE_URL)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from engine.adapters.db.models import Dossier, Event, Task
from engine.domain.calendar import VN_TZ
from engine.errors import Conflict, InvalidInput
from engine.runtime import Runtime
from engine.services import dossiers
from engine.services.dossiers import Applicant
from tests.support import build_world


def at(*args) -> datetime:
    return datetime(*args, tzinfo=VN_TZ)


@pytest.fixture
def world(db, clock):
    return build_world(Runtime(db, clock))


def receive(world):
    return dossiers.receive(world.rt, world.actor("clerk"), unit_code="TRIPHU", procedure_code="9.000001",
                            applicant=Applicant("Nguyễn Văn An"))


def open_task(rt, dossier_id, bpmn_id) -> Task:
    with rt.db.session_factory() as s:
        return s.scalar(select(Task).where(Task.dossier_id == dossier_id, Task.bpmn_id == bpmn_id,
                                           Task.state == "open"))


def load(rt, dossier_id) -> Dossier:
    with rt.db.session_factory() as s:
        return s.get(Dossier, dossier_id)


def events(rt, kind) -> int:
    with rt.db.session_factory() as s:
        return s.scalar(select(func.count()).select_from(Event).where(Event.kind == kind))


def test_claiming_a_step_one_holds_writes_nothing(world):
    rt = world.rt
    r = receive(world)
    dossiers.complete_task(rt, world.actor("clerk"), open_task(rt, r.dossier_id, "receive").id)
    appraise = open_task(rt, r.dossier_id, "appraise")
    dossiers.claim(rt, world.actor("officer"), appraise.id)
    assert events(rt, "task.claimed") == 1
    dossiers.claim(rt, world.actor("officer"), appraise.id)
    dossiers.claim(rt, world.actor("officer"), appraise.id)
    assert events(rt, "task.claimed") == 1
    assert open_task(rt, r.dossier_id, "appraise").assignee_id == world.actor("officer").user_id


def test_apology_outside_working_time_is_refused_with_the_next_working_instant(world):
    rt = world.rt
    r = receive(world)
    with pytest.raises(InvalidInput) as err:  # Sunday 03:00
        dossiers.issue_apology(rt, world.actor("clerk"), r.code, "Chờ xác minh", at(2026, 3, 8, 3, 0))
    assert err.value.code == "not_working_time" and err.value.problems[0].field == "new_due_at"
    assert "07:00 09/03/2026" in err.value.message_en or "07:00 09/03/2026" in err.value.hint
    assert "07:00 09/03/2026" in err.value.problems[0].message_vi
    d = load(rt, r.dossier_id)
    assert (d.apology_issued_at, d.due_at) == (None, at(2026, 3, 6, 10, 0))


def test_the_new_appointment_is_stored_as_given_and_counted_against(world):
    rt, clock = world.rt, world.rt.clock
    r = receive(world)
    clock.set(at(2026, 3, 4, 16, 0))
    new_due = at(2026, 3, 12, 13, 30).astimezone(timezone.utc)  # a session start, given in UTC
    dossiers.issue_apology(rt, world.actor("clerk"), r.code, "Chờ kết quả xác minh", new_due)
    d = load(rt, r.dossier_id)
    assert d.apology_due_at == new_due and d.due_at == new_due
    # a later pause (one working day) still moves it
    dossiers.complete_task(rt, world.actor("clerk"), open_task(rt, r.dossier_id, "receive").id)
    clock.set(at(2026, 3, 5, 9, 0))
    dossiers.request_supplementation(rt, world.actor("officer"), open_task(rt, r.dossier_id, "appraise").id,
                                     "Thiếu giấy chứng sinh")
    clock.set(at(2026, 3, 6, 9, 0))
    dossiers.supplement(rt, world.actor("clerk"), r.dossier_id, {"documents": "Giấy chứng sinh"})
    assert load(rt, r.dossier_id).due_at == at(2026, 3, 13, 11, 30)  # Thu 13:30 + 8 working hours
    # finished after the first appointment, on the new one's day: on time against it
    clock.set(at(2026, 3, 13, 9, 0))
    dossiers.complete_task(rt, world.actor("officer"), open_task(rt, r.dossier_id, "appraise").id,
                           {"outcome": "approve"})
    dossiers.complete_task(rt, world.actor("chair"), open_task(rt, r.dossier_id, "sign").id, {"outcome": "approve"})
    d = load(rt, r.dossier_id)
    assert (d.status_code, d.classification) == (9, "on_time")


def test_return_after_the_chairs_refusal_checks_the_return_refusal_form(world):
    rt = world.rt
    r = receive(world)
    dossiers.refuse(rt, world.actor("chair"), r.dossier_id, "Không đủ điều kiện")
    with pytest.raises(InvalidInput) as err:
        dossiers.return_result(rt, world.actor("clerk"), r.code, {"reason": "x", "delivery": "by pigeon"})
    assert err.value.code == "form_invalid" and {p.field for p in err.value.problems} == {"delivery"}
    assert load(rt, r.dossier_id).status_code == 9
    dossiers.return_result(rt, world.actor("clerk"), r.code, {"reason": "Không đủ điều kiện", "delivery": "post"})
    d = load(rt, r.dossier_id)
    assert (d.status_code, d.state, d.end_reason) == (10, "closed", "Không đủ điều kiện")


def test_model_routed_refusal_records_its_reason(world):
    rt = world.rt
    r = receive(world)
    dossiers.complete_task(rt, world.actor("clerk"), open_task(rt, r.dossier_id, "receive").id)
    dossiers.complete_task(rt, world.actor("officer"), open_task(rt, r.dossier_id, "appraise").id,
                           {"outcome": "refuse", "reason": "Không thuộc thẩm quyền"})
    d = load(rt, r.dossier_id)
    assert (d.status_code, d.result, d.end_reason) == (9, "refused", "Không thuộc thẩm quyền")


def test_messages_use_words_of_one_language(world):
    rt = world.rt
    r = receive(world)
    task = open_task(rt, r.dossier_id, "receive")
    dossiers.complete_task(rt, world.actor("clerk"), task.id)
    with pytest.raises(Conflict) as err:
        dossiers.complete_task(rt, world.actor("clerk"), task.id)
    assert err.value.code == "task_closed"
    assert "completed" not in err.value.message_vi and "đã hoàn thành" in err.value.message_vi
    assert "completed" in err.value.message_en
    dossiers.withdraw(rt, world.actor("clerk"), r.code, "Công dân xin rút")
    with pytest.raises(Conflict) as err:
        dossiers.stop(rt, world.actor("chair"), r.code, "Dừng")
    assert err.value.code == "dossier_closed" and "rút hồ sơ" in err.value.message_vi
    assert "withdrawn" in err.value.message_en


def test_supplement_and_return_run_in_one_transaction(world, monkeypatch):
    """The citizen's supplement opens one unit of work (it used to open a second one to complete the step)."""
    rt, clock = world.rt, world.rt.clock
    r = receive(world)
    dossiers.complete_task(rt, world.actor("clerk"), open_task(rt, r.dossier_id, "receive").id)
    dossiers.request_supplementation(rt, world.actor("officer"), open_task(rt, r.dossier_id, "appraise").id,
                                     "Thiếu giấy tờ")
    opened = []
    real = rt.unit_of_work
    monkeypatch.setattr(rt, "unit_of_work", lambda actor: opened.append(actor) or real(actor))
    clock.advance(timedelta(hours=1))
    dossiers.supplement(rt, world.actor("clerk"), r.dossier_id, {"documents": "đủ"})
    assert len(opened) == 1
