"""The dossier aggregate store, the change tokens behind cached reference data, and
the trigger-moved event log head, on the real database (SQLite, or PostgreSQL in CI)."""
from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import event, select, text, update

from engine.audit import Actor, verify_chain
from engine.adapters.db.models import Dossier, Event, EventChainHead, RoleAssignment, SettingRevision, Task, WorkflowState
from engine.adapters.db.revisions import read_tokens
from engine.errors import Conflict, NotFound
from engine.permissions import load_principal
from engine.runtime import Runtime
from engine.services import dossiers
from engine.services.dossiers import Applicant
from engine.services.identity import assign_role
from engine.views.dossiers import inbox
from tests.support import SYSTEM, build_world


@pytest.fixture
def world(db, clock):
    return build_world(Runtime(db, clock))


def receive(world):
    return dossiers.receive(world.rt, world.actor("clerk"), unit_code="TRIPHU", procedure_code="9.000001",
                            applicant=Applicant("Nguyễn Văn An"))


def statements_of(engine, call) -> list[str]:
    """The SQL statements `call()` sends."""
    seen: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append(" ".join(statement.split()))

    event.listen(engine, "before_cursor_execute", record)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return seen


def test_saving_an_unchanged_aggregate_writes_nothing(world):
    receipt = receive(world)
    rt = world.rt

    def load_and_save():
        with rt.unit_of_work(SYSTEM) as uow:
            dossier = uow.dossiers.lock(dossier_id=receipt.dossier_id)
            uow.dossiers.save(dossier)
            uow.commit()

    written = [s for s in statements_of(rt.db.engine, load_and_save) if s.startswith(("INSERT", "UPDATE"))]
    assert written == []


def test_saving_writes_only_the_changed_columns_of_the_changed_rows(world):
    receipt = receive(world)
    rt = world.rt
    with rt.unit_of_work(SYSTEM) as uow:
        dossier = uow.dossiers.lock(dossier_id=receipt.dossier_id)
        [step] = dossier.tasks
        step.assignee_id = world.actor("clerk2").user_id
        updates: list[tuple[str, dict]] = []

        def record(conn, cursor, statement, parameters, context, executemany):
            if "UPDATE" in statement:
                updates.append((" ".join(statement.split()), parameters))

        event.listen(uow.connection, "before_cursor_execute", record)
        uow.dossiers.save(dossier)
        uow.commit()
    [(statement, _)] = updates  # PostgreSQL: within the one statement of the save (a WITH query)
    assert statement.startswith("UPDATE tasks SET assignee_id=") or (
        statement.startswith("WITH head AS (") and " w0 AS (UPDATE tasks SET assignee_id=" in statement)
    assert "state" not in statement.split("UPDATE tasks SET")[1].split("WHERE")[0]
    assert re.findall(r"UPDATE (\w+) SET", statement) == ["tasks"]
    with rt.db.session_factory() as s:
        assert s.get(Task, step.id).assignee_id == world.actor("clerk2").user_id


def test_a_workflow_state_moved_behind_the_lock_is_a_conflict_and_nothing_is_written(world):
    receipt = receive(world)
    rt = world.rt
    with rt.db.session_factory() as s:
        task_id = s.scalar(select(Task.id).where(Task.dossier_id == receipt.dossier_id, Task.state == "open"))
        version_before = s.get(WorkflowState, receipt.dossier_id).version
    with pytest.raises(Conflict) as caught:
        with rt.unit_of_work(world.actor("clerk")) as uow:
            dossier = uow.dossiers.lock(dossier_id=receipt.dossier_id)
            # another writer moved the version without the row lock (what the check is for)
            uow.connection.execute(update(WorkflowState).where(WorkflowState.dossier_id == dossier.id)
                                   .values(version=WorkflowState.version + 1))
            dossier.workflow_state.state_json += " "
            uow.dossiers.save(dossier)
            uow.commit()
    assert caught.value.code == "concurrent_update"
    with rt.db.session_factory() as s:
        assert s.get(WorkflowState, receipt.dossier_id).version == version_before
        assert s.get(Task, task_id).state == "open"


def test_a_missing_or_invisible_dossier_is_not_found(world):
    receipt = receive(world)
    with pytest.raises(NotFound):
        dossiers.refuse(world.rt, world.actor("chair"), 999999, "không có")
    with pytest.raises(NotFound):  # the chair of another commune does not see it
        dossiers.refuse(world.rt, world.actor("nh_chair"), receipt.dossier_id, "không thuộc thẩm quyền")


def test_role_changes_reach_cached_principals_at_once(world):
    rt = world.rt
    officer = world.actor("officer")
    today = date(2026, 3, 3)
    triphu = _unit_id(rt, "TRIPHU")

    def roles() -> set[str]:
        with rt.read(officer) as unit:
            return load_principal(unit, officer.user_id, today).roles_in(triphu)

    assert roles() == {"justice_officer"}
    sent = statements_of(rt.db.engine, roles)  # the second time only the tokens are read
    assert not any("role_assignments" in statement for statement in sent)
    assert any("setting_revisions" in statement for statement in sent)
    assign_role(rt, SYSTEM, user_id=officer.user_id, unit_code="TRIPHU", role="office_officer",
                valid_from=date(2020, 1, 1))
    assert roles() == {"justice_officer", "office_officer"}
    # a change by plain SQL, outside the services, moves the token too (a trigger)
    with rt.db.engine.begin() as conn:
        conn.execute(update(RoleAssignment).where(RoleAssignment.user_id == officer.user_id)
                     .values(valid_to=date(2021, 1, 1)))
    assert roles() == set()


def test_every_watched_table_moves_its_token(world):
    rt = world.rt
    changes = {
        "roles": "UPDATE org_units SET name = name || ' ' WHERE code = 'TRIPHU'",
        "calendar": "INSERT INTO calendar_overrides (day, kind, reason, created_at, created_by) "
                    "VALUES ('2026-04-06', 'day_off', 'test', '2026-03-01 00:00:00', 'test')",
        "escalation": "INSERT INTO escalation_policies (org_unit_id, procedure_version_id, settings, updated_at, "
                      "updated_by) VALUES (NULL, NULL, '{}', '2026-03-01 00:00:00', 'test')",
    }
    for kind, statement in changes.items():
        with rt.db.engine.begin() as conn:
            before = read_tokens(conn)
            conn.execute(text(statement))
            after = read_tokens(conn)
        assert after[kind] != before[kind], kind
        assert {k: v for k, v in after.items() if k != kind} == {k: v for k, v in before.items() if k != kind}


def test_the_event_log_head_follows_every_insert(world):
    rt = world.rt
    receipt = receive(world)
    with rt.db.session_factory() as s:
        head = s.get(EventChainHead, 1)
        last = s.execute(text("SELECT id, hash FROM events ORDER BY id DESC LIMIT 1")).one()
        assert (head.last_event_id, head.last_hash) == tuple(last)
        assert verify_chain(s) == []
        assert s.scalar(select(SettingRevision.token).where(SettingRevision.kind == "roles"))
        assert s.scalar(select(Task.id).where(Task.dossier_id == receipt.dossier_id))


def test_events_appended_in_one_transaction_after_a_dossier_read_stay_chained(world):
    """On SQLite the aggregate read hands the log head to the unit of work; two appends
    in the same transaction must still link to each other."""
    rt = world.rt
    receipt = receive(world)
    with rt.unit_of_work(Actor.system("test")) as uow:
        dossier = uow.lock_dossier(dossier_id=receipt.dossier_id)
        uow.log("test.first", "dossier", dossier.id)
        uow.log("test.second", "dossier", dossier.id)
        uow.commit()
    with rt.db.session_factory() as s:
        assert verify_chain(s) == []


def test_a_completion_writes_its_rows_and_its_event_in_one_statement(world):
    """PostgreSQL writes a completion's rows and its event in one statement, which locks
    the log's head and appends the event built on the head the aggregate's read brought;
    the appends after it read the head no more, and the chain stays linked through
    saves and appends in any order."""
    rt = world.rt
    receipt = receive(world)
    [first] = [t for t in inbox(rt, world.actor("clerk")) if t.dossier_id == receipt.dossier_id]
    sent = statements_of(rt.db.engine, lambda: dossiers.complete_task(rt, world.actor("clerk"), first.id, {}))
    writes = [s for s in sent if s.startswith(("INSERT", "UPDATE", "WITH"))]
    head_reads = [s for s in sent if s.startswith("SELECT event_chain_head")]
    if rt.db.engine.dialect.name == "postgresql":
        assert [w.split()[0] for w in writes] == ["WITH"]
        assert re.findall(r"(INSERT INTO|UPDATE) (\w+)", writes[0]) == [
            ("INSERT INTO", "tasks"), ("UPDATE", "tasks"), ("UPDATE", "dossiers"), ("UPDATE", "workflow_states"),
            ("INSERT INTO", "events")]
        assert "FOR UPDATE" in writes[0] and head_reads == []
    else:
        assert [w.split()[2] for w in writes if w.startswith("INSERT")] == ["tasks", "events"]
    with rt.unit_of_work(Actor.system("test")) as uow:  # appends before, between and after saves
        uow.log("test.before", "dossier", receipt.dossier_id)
        dossier = uow.lock_dossier(dossier_id=receipt.dossier_id)
        dossier.data = {**dossier.data, "note": "một"}
        uow.save_and_log(dossier, "test.saved", "dossier", dossier.id)
        uow.log("test.between", "dossier", dossier.id)
        dossier.data = {**dossier.data, "note": "hai"}
        uow.dossiers.save(dossier)
        uow.log("test.after", "dossier", dossier.id)
        uow.commit()
    with rt.db.session_factory() as s:
        assert verify_chain(s) == []
        kinds = s.scalars(select(Event.kind).order_by(Event.id.desc()).limit(5)).all()
        note = s.get(Dossier, receipt.dossier_id).data["note"]
    assert kinds == ["test.after", "test.between", "test.saved", "test.before", "task.completed"] and note == "hai"


def test_a_receipt_writes_its_dossier_then_its_rows_and_its_event(world):
    """The dossier's INSERT brings the log's head back on PostgreSQL, so the receipt's
    steps, state and event go in one statement after it."""
    rt = world.rt
    sent = statements_of(rt.db.engine, lambda: receive(world))
    writes = [s for s in sent if s.startswith(("INSERT", "UPDATE", "WITH"))]
    if rt.db.engine.dialect.name == "postgresql":
        # after the code's number (dossier_sequences): the dossier, then one statement
        assert writes[-2].startswith("INSERT INTO dossiers ") and writes[-1].startswith("WITH")
        assert not any(w.startswith("INSERT INTO events") for w in writes)
        assert re.findall(r"(INSERT INTO|UPDATE) (\w+)", writes[-1])[-1] == ("INSERT INTO", "events")
    else:
        assert [w.split()[2] for w in writes if w.startswith("INSERT")][-1] == "events"
    with rt.db.session_factory() as s:
        assert verify_chain(s) == []
        assert s.scalars(select(Event.kind).order_by(Event.id.desc()).limit(1)).one() == "dossier.received"


@pytest.mark.postgres  # SQLite's one writer holds the log from BEGIN: no one can append meanwhile
def test_an_event_appended_after_the_aggregate_was_read_goes_before_the_save_s_event(world):
    """Someone appends between the aggregate's read and its save: the save's statement
    writes the rows but not its event, built on a head that moved; the event follows,
    built on the head the statement locked, and the chain stays linked."""
    rt = world.rt
    receipt = receive(world)
    with rt.unit_of_work(Actor.system("test")) as uow:
        dossier = uow.lock_dossier(dossier_id=receipt.dossier_id)
        with rt.unit_of_work(Actor.system("elsewhere")) as other:
            other.log("test.meanwhile", "dossier", 0)
            other.commit()
        dossier.data = {**dossier.data, "note": "sau"}
        sent = statements_of(rt.db.engine, lambda: uow.save_and_log(dossier, "test.saved", "dossier", dossier.id))
        uow.commit()
    assert [s.split()[0] + " " + s.split()[2] if s.startswith("INSERT") else s.split()[0] for s in sent] == [
        "WITH", "INSERT events"]
    with rt.db.session_factory() as s:
        assert verify_chain(s) == []
        kinds = s.scalars(select(Event.kind).order_by(Event.id.desc()).limit(2)).all()
        assert s.get(Dossier, receipt.dossier_id).data["note"] == "sau"
    assert kinds == ["test.saved", "test.meanwhile"]


def _unit_id(rt, code: str) -> int:
    from engine.adapters.db.models import OrgUnit

    with rt.db.session_factory() as s:
        return s.scalar(select(OrgUnit.id).where(OrgUnit.code == code))
