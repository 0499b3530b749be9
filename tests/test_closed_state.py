"""A closed dossier keeps a compact workflow record, not its finished SpiffWorkflow
instance (issue 18: the database grows with what is open), and everything that reads a
closed dossier still works from the steps, the dossier row and the log."""
from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from alembic import command
from sqlalchemy import select, text

from bench.consistency import check
from engine.adapters.channels import ChannelSettings
from engine.adapters.db.migrate import alembic_config, upgrade
from engine.adapters.db.models import Task, WorkflowState
from engine.adapters.documents.dossier_forms import render_dossier_form
from engine.adapters.spiff import CLOSED_STATE_JSON, WorkflowEngine, is_closed_state
from engine.domain.calendar import VN_TZ
from engine.errors import Conflict
from engine.runtime import Runtime
from engine.scheduler.sweep import Sweeper
from engine.services import dossiers
from engine.services.dossiers import Applicant
from engine.views import dossiers as views
from engine.views import worklist
from tests.support import build_world

MIGRATION = importlib.import_module("engine.adapters.db.migrations.versions.0012_scale_closed_state")


@pytest.fixture
def world(db, clock):
    return build_world(Runtime(db, clock))


def receive(world, name="Nguyễn Văn An"):
    return dossiers.receive(world.rt, world.actor("clerk"), unit_code="TRIPHU", procedure_code="9.000001",
                            applicant=Applicant(name, id_number="008090001234"), channel=1)


def open_task(rt, dossier_id, bpmn_id) -> int:
    with rt.db.session_factory() as s:
        return s.scalars(select(Task.id).where(Task.dossier_id == dossier_id, Task.bpmn_id == bpmn_id,
                                               Task.state == "open")).one()


def state_of(rt, dossier_id) -> WorkflowState:
    with rt.db.session_factory() as s:
        state = s.get(WorkflowState, dossier_id)
        s.expunge(state)
        return state


def to_the_end(world, r) -> None:
    rt = world.rt
    dossiers.complete_task(rt, world.actor("clerk"), open_task(rt, r.dossier_id, "receive"), {"note": "đủ"})
    dossiers.complete_task(rt, world.actor("officer"), open_task(rt, r.dossier_id, "appraise"),
                           {"outcome": "approve", "opinion": "Hợp lệ"})
    dossiers.complete_task(rt, world.actor("chair"), open_task(rt, r.dossier_id, "sign"), {"outcome": "approve"})
    assert not is_closed_state(state_of(rt, r.dossier_id).state_json)  # processed (9), still open
    dossiers.return_result(rt, world.actor("clerk"), r.code, {"receiver": "Nguyễn Văn An"})


def test_an_open_dossier_keeps_its_instance_and_a_returned_one_the_compact_record(world):
    r = receive(world)
    received = state_of(world.rt, r.dossier_id)
    assert not is_closed_state(received.state_json) and '"tasks"' in received.state_json
    to_the_end(world, r)
    closed = state_of(world.rt, r.dossier_id)
    assert closed.state_json == CLOSED_STATE_JSON and closed.next_timer_at is None
    assert closed.version > received.version  # written under the same version check as any state
    assert check(world.rt.db) == {rule: [] for rule in check(world.rt.db)}


def test_every_ending_compacts_when_the_dossier_closes(world):
    rt = world.rt
    withdrawn, stopped, refused = receive(world), receive(world), receive(world)
    dossiers.withdraw(rt, world.actor("clerk"), withdrawn.code, "Công dân xin rút hồ sơ")
    dossiers.stop(rt, world.actor("vice"), stopped.dossier_id, "Cơ quan có thẩm quyền yêu cầu dừng")
    dossiers.refuse(rt, world.actor("chair"), refused.dossier_id, "Không đủ điều kiện")
    assert state_of(rt, withdrawn.dossier_id).state_json == CLOSED_STATE_JSON
    assert state_of(rt, stopped.dossier_id).state_json == CLOSED_STATE_JSON
    # refused: still open until the desk hands the letter over (status 9)
    assert not is_closed_state(state_of(rt, refused.dossier_id).state_json)
    dossiers.return_result(rt, world.actor("clerk"), refused.dossier_id,
                           {"reason": "Không đủ điều kiện", "delivery": "in_person"})
    assert state_of(rt, refused.dossier_id).state_json == CLOSED_STATE_JSON
    assert all(not ids for ids in check(rt.db).values())


def test_every_reader_of_a_closed_dossier_works_without_the_instance(world):
    rt = world.rt
    r = receive(world)
    to_the_end(world, r)
    chair, clerk = world.actor("chair"), world.actor("clerk")
    view = views.dossier_view(rt, chair, r.dossier_id)
    assert (view.status_code, view.state) == (10, "closed")
    assert view.open_tasks == [] and view.classification in ("early", "on_time")
    assert [row.bpmn_id for row in views.timeline(rt, chair, r.dossier_id)] == [
        "receive", "appraise", "sign", "return_result"]
    assert worklist.dossier_actions(rt, clerk, r.dossier_id) == frozenset()
    sheet = render_dossier_form(rt, chair, r.dossier_id, "control_sheet").decode()
    assert r.code in sheet
    assert render_dossier_form(rt, clerk, r.dossier_id, "receipt")
    found, total = views.search_dossiers(rt, chair, views.DossierFilter(code=r.code))
    assert total == 1 and found[0].status_code == 10
    # acting on it is refused as for any closed dossier, and changes nothing
    before = state_of(rt, r.dossier_id)
    for act in (lambda: dossiers.withdraw(rt, clerk, r.code, "again"),
                lambda: dossiers.stop(rt, world.actor("vice"), r.code, "again"),
                lambda: dossiers.return_result(rt, clerk, r.code, {})):
        with pytest.raises(Conflict):
            act()
    assert state_of(rt, r.dossier_id).version == before.version


def test_the_compact_record_is_never_loaded_as_an_instance(world):
    r = receive(world)
    to_the_end(world, r)
    model = world.rt.model_of_version
    with world.rt.db.engine.connect() as conn:
        version_id = conn.execute(text("SELECT procedure_version_id FROM dossiers WHERE id = :d"),
                                  {"d": r.dossier_id}).scalar_one()
        procedure_model = model(conn, version_id)
    with pytest.raises(Conflict) as err:
        WorkflowEngine(procedure_model).load(CLOSED_STATE_JSON, [])
    assert err.value.code == "dossier_closed"


def test_the_sweep_compacts_a_closed_dossier_left_with_an_armed_timer(world):
    """A row written before this change (closed, full instance, a timer still armed):
    the sweep's timer pass clears the timer and the store writes the compact record."""
    rt = world.rt
    r = receive(world)
    full = state_of(rt, r.dossier_id).state_json
    dossiers.withdraw(rt, world.actor("clerk"), r.code, "Công dân xin rút hồ sơ")
    armed = rt.clock.now() - timedelta(minutes=1)
    with rt.db.engine.begin() as conn:
        conn.execute(text("UPDATE workflow_states SET state_json = :s, next_timer_at = :t WHERE dossier_id = :d"),
                     {"s": full, "t": armed, "d": r.dossier_id})
    report = Sweeper(rt, channel_settings=ChannelSettings()).run_once()
    assert not report.errors and report.timers == []
    state = state_of(rt, r.dossier_id)
    assert (state.state_json, state.next_timer_at) == (CLOSED_STATE_JSON, None)


def _old_rows(world) -> tuple[list[int], int, str]:
    """Two closed dossiers and one open, written as before this change (the closed ones
    with their full instance)."""
    rt = world.rt
    done, withdrawn, running = receive(world, "Trần Thị Bình"), receive(world, "Lê Văn Cường"), receive(world)
    full = state_of(rt, done.dossier_id).state_json
    to_the_end(world, done)
    dossiers.withdraw(rt, world.actor("clerk"), withdrawn.code, "Công dân xin rút hồ sơ")
    with rt.db.engine.begin() as conn:
        conn.execute(text("UPDATE workflow_states SET state_json = :s WHERE dossier_id IN (:a, :b)"),
                     {"s": full, "a": done.dossier_id, "b": withdrawn.dossier_id})
    return [done.dossier_id, withdrawn.dossier_id], running.dossier_id, state_of(rt, running.dossier_id).state_json


def test_the_migration_compacts_the_closed_dossiers_already_stored(world, database_url):
    closed, running, open_state = _old_rows(world)
    world.rt.db.dispose()
    command.downgrade(alembic_config(database_url), "0011_attachments")
    upgrade(database_url)
    rt = world.rt
    assert [state_of(rt, d).state_json for d in closed] == [CLOSED_STATE_JSON] * 2
    assert state_of(rt, running).state_json == open_state
    assert all(not ids for ids in check(rt.db).values())
    dossiers.complete_task(rt, world.actor("clerk"), open_task(rt, running, "receive"))  # the open one still runs


def test_the_migration_works_in_batches_and_skips_rows_already_compact(world):
    closed, running, open_state = _old_rows(world)
    with world.rt.db.engine.begin() as conn:
        assert MIGRATION.compact_closed_states(conn, batch=1) == 2
        assert MIGRATION.compact_closed_states(conn, batch=1) == 0
    assert MIGRATION.CLOSED_STATE_JSON == CLOSED_STATE_JSON  # the migration wrote the engine's format
    assert [state_of(world.rt, d).state_json for d in closed] == [CLOSED_STATE_JSON] * 2
    assert state_of(world.rt, running).state_json == open_state


def test_a_closed_dossiers_record_is_small(world):
    r = receive(world)
    to_the_end(world, r)
    assert len(state_of(world.rt, r.dossier_id).state_json.encode()) < 64
