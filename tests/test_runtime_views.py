"""Read models: inbox, queue, search, dossier view, process control sheet, apology letter."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from engine.domain.calendar import VN_TZ
from engine.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from engine.runtime import Runtime
from engine.services import dossiers
from engine.views import dossiers as views
from engine.services.dossiers import Applicant
from tests.support import build_world


def at(*args) -> datetime:
    return datetime(*args, tzinfo=VN_TZ)


@pytest.fixture
def world(db, clock):
    return build_world(Runtime(db, clock))


def receive(world, name="Nguyễn Văn An", unit="TRIPHU", clerk="clerk"):
    return dossiers.receive(world.rt, world.actor(clerk), unit_code=unit, procedure_code="9.000001",
                            applicant=Applicant(name), channel=2)


def step(world, actor, receipt, data=None):
    [task] = [t for t in views.inbox(world.rt, world.actor(actor)) if t.dossier_id == receipt.dossier_id]
    return dossiers.complete_task(world.rt, world.actor(actor), task.id, data or {})


def test_inbox_is_sorted_by_due_and_includes_the_role_pool(world):
    rt, clock = world.rt, world.rt.clock
    first = receive(world, "A")
    clock.advance(timedelta(hours=1))
    second = receive(world, "B")
    step(world, "clerk", second)
    clock.advance(timedelta(minutes=30))
    step(world, "clerk", first)  # handed over later, so its appraisal is due later
    officer_inbox = views.inbox(rt, world.actor("officer"))
    assert [t.dossier_code for t in officer_inbox] == [second.code, first.code]
    assert officer_inbox[0].due_at < officer_inbox[1].due_at
    assert all(t.role == "justice_officer" and t.assignee_id is None for t in officer_inbox)
    assert views.inbox(rt, world.actor("officer"), include_pool=False) == []
    assert views.inbox(rt, world.actor("nh_officer")) == []
    clock.set(at(2026, 3, 5, 9, 0))
    assert {t.urgency for t in views.inbox(rt, world.actor("officer"))} == {"overdue"}


def test_queue_for_the_chair_and_not_for_another_commune(world):
    rt = world.rt
    receive(world)
    assert [t.role for t in views.queue(rt, world.actor("chair"), unit_code="TRIPHU")] == ["one_stop_clerk"]
    assert views.queue(rt, world.actor("chair"), unit_code="TRIPHU", role="chair") == []
    with pytest.raises(NotFound):
        views.queue(rt, world.actor("nh_chair"), unit_code="TRIPHU")
    with pytest.raises(NotFound):
        views.queue(rt, world.actor("chair"), unit_code="NOWHERE")
    with pytest.raises(InvalidInput):
        views.inbox(rt, world.actor("chair"), limit=1000)


def test_search_filters_and_visibility(world):
    rt, clock = world.rt, world.rt.clock
    a = receive(world, "Lê Thị Hoa")
    b = receive(world, "Trần Văn Bình")
    receive(world, "Ma Văn Chiến", unit="NAHANG", clerk="nh_clerk")
    page, total = views.search_dossiers(rt, world.actor("clerk"), views.DossierFilter())
    assert total == 2 and {d.code for d in page} == {a.code, b.code}
    page, total = views.search_dossiers(rt, world.actor("clerk"), views.DossierFilter(applicant="hoa"))
    assert [d.code for d in page] == [a.code] and total == 1
    page, total = views.search_dossiers(rt, world.actor("admin"), views.DossierFilter(sort="code"))
    assert total == 3
    for sort in views.SORTS:  # every order, both ways, ties broken by id the same way
        key = sort.lstrip("-")
        page, _ = views.search_dossiers(rt, world.actor("admin"), views.DossierFilter(sort=sort))
        expected = sorted(page, key=lambda d: (getattr(d, key), d.id) if getattr(d, key) is not None else (0, d.id),
                          reverse=sort.startswith("-"))
        assert [d.id for d in page] == [d.id for d in expected], sort
    page, _ = views.search_dossiers(rt, world.actor("clerk"), views.DossierFilter(received_from=date(2026, 3, 4)))
    assert page == []
    clock.set(at(2026, 3, 9, 9, 0))
    page, _ = views.search_dossiers(rt, world.actor("chair"), views.DossierFilter(overdue_only=True))
    assert {d.code for d in page} == {a.code, b.code} and {d.urgency for d in page} == {"overdue"}
    page, _ = views.search_dossiers(rt, world.actor("clerk"), views.DossierFilter(code="%"))
    assert page == []  # LIKE wildcards are literal
    with pytest.raises(InvalidInput):
        views.search_dossiers(rt, world.actor("clerk"), views.DossierFilter(sort="applicant; drop table"))


def test_dossier_view_and_control_sheet(world):
    rt, clock = world.rt, world.rt.clock
    r = receive(world)
    clock.advance(timedelta(hours=1))
    step(world, "clerk", r)
    clock.set(at(2026, 3, 5, 9, 0))  # the officer is late: the step was due Wed 12:00
    step(world, "officer", r, {"outcome": "approve", "opinion": "Đủ điều kiện"})
    view = views.dossier_view(rt, world.actor("chair"), r.code)
    assert (view.status_code, view.status_label, view.procedure_code) == (4, "Đang xử lý", "9.000001")
    assert [t.bpmn_id for t in view.open_tasks] == ["sign"]
    sheet = views.timeline(rt, world.actor("chair"), r.dossier_id)
    assert [(row.bpmn_id, row.from_role, row.to_role, row.result) for row in sheet] == [
        ("receive", None, "one_stop_clerk", "on_time"),
        ("appraise", "one_stop_clerk", "justice_officer", "late"),
        ("sign", "justice_officer", "chair", None),
    ]
    assert sheet[1].from_user == "Clerk" and sheet[1].completed_by == "Officer" and sheet[1].note == "Đủ điều kiện"
    assert sheet[1].handed_over_at == at(2026, 3, 3, 11, 0)
    with pytest.raises(NotFound):
        views.timeline(rt, world.actor("nh_chair"), r.dossier_id)


def test_apology_letter_once_with_a_later_appointment(world):
    rt, clock = world.rt, world.rt.clock
    r = receive(world)
    clock.set(at(2026, 3, 4, 16, 0))
    with pytest.raises(PermissionDenied):
        dossiers.issue_apology(rt, world.actor("officer"), r.code, "Chờ xác minh", at(2026, 3, 12, 10, 0))
    with pytest.raises(InvalidInput):
        dossiers.issue_apology(rt, world.actor("clerk"), r.code, "Chờ xác minh", at(2026, 3, 5, 10, 0))
    before = _next_escalation(rt, r.dossier_id)
    dossiers.issue_apology(rt, world.actor("clerk"), r.code, "Chờ kết quả xác minh", at(2026, 3, 12, 10, 0))
    # the desk is prompted for an apology at most once: after it, the scheduler stops asking
    assert before is not None and _next_escalation(rt, r.dossier_id) is None
    view = views.dossier_view(rt, world.actor("clerk"), r.code)
    assert view.due_at == at(2026, 3, 12, 10, 0) and view.original_due_at == at(2026, 3, 6, 10, 0)
    with pytest.raises(Conflict) as err:
        dossiers.issue_apology(rt, world.actor("chair"), r.code, "Lần nữa", at(2026, 3, 20, 10, 0))
    assert err.value.code == "apology_limit"


def _next_escalation(rt, dossier_id):
    from engine.adapters.db.models import Dossier

    with rt.db.session_factory() as s:
        return s.get(Dossier, dossier_id).next_escalation_at


def test_urgency_counts_in_sql_follow_the_urgency_rule(db):
    """The dashboard counts overdue and due-today steps in SQL (`urgency_conditions`);
    they must agree with the colour each step gets in lists (`urgency`)."""
    from sqlalchemy import literal, select, union_all

    from engine.adapters.db.types import UTCDateTime

    now = datetime(2026, 3, 3, 16, 30, tzinfo=VN_TZ)
    instants = [now - timedelta(minutes=1), now, now + timedelta(minutes=1),
                datetime(2026, 3, 3, 23, 59, 59, tzinfo=VN_TZ), datetime(2026, 3, 4, 0, 0, tzinfo=VN_TZ),
                datetime(2026, 3, 4, 9, 0, tzinfo=VN_TZ), datetime(2026, 3, 2, 23, 0, tzinfo=VN_TZ)]
    rows = union_all(*[select(literal(t, UTCDateTime()).label("due_at")) for t in instants]).subquery("steps")
    overdue, due_today = views.urgency_conditions(rows.c.due_at, now)
    with db.engine.connect() as conn:
        counted = conn.execute(select(rows.c.due_at, overdue, due_today)).all()
    assert len(counted) == len(instants)
    for due_at, is_overdue, is_due_today in counted:
        colour = views.urgency(due_at, now)
        assert (bool(is_overdue), bool(is_due_today)) == (colour == "overdue", colour == "due_today"), due_at


def test_dossier_page_is_one_read_and_one_load(world):
    """The dossier's page (its view and its control sheet) is served from one read unit:
    one connection, the dossier with its steps and pauses loaded once, one permission
    check, one read of the people's names; what it shows is what the two views show
    apart. A chair of another commune does not see it, and a dossier loaded by one view
    of a unit is still checked for each view's own action."""
    from sqlalchemy import event

    from engine.views.reading import reading, visible_dossier

    rt = world.rt
    r = receive(world)
    rt.clock.advance(timedelta(hours=1))
    step(world, "clerk", r)
    chair = world.actor("chair")
    statements, checkouts = [], []
    engine = rt.db.engine
    views.dossier_page(rt, chair, r.code)  # warm the runtime's caches (roles, tokens)

    def on_statement(conn, cursor, statement, *args):
        statements.append(statement)

    def on_checkout(*args):
        checkouts.append(1)

    event.listen(engine, "before_cursor_execute", on_statement)
    event.listen(engine.pool, "checkout", on_checkout)
    try:
        view, sheet = views.dossier_page(rt, chair, r.code)
    finally:
        event.remove(engine, "before_cursor_execute", on_statement)
        event.remove(engine.pool, "checkout", on_checkout)
    assert view == views.dossier_view(rt, chair, r.code)
    assert sheet == views.timeline(rt, chair, r.dossier_id)
    assert [t.bpmn_id for t in view.open_tasks] == ["appraise"] and [row.bpmn_id for row in sheet] == ["receive", "appraise"]
    assert len(checkouts) == 1
    reads_of_dossiers = [s for s in statements if "FROM dossiers" in s]
    assert len(reads_of_dossiers) == 1, reads_of_dossiers
    assert len([s for s in statements if "FROM tasks" in s]) == 1
    assert len([s for s in statements if "FROM users" in s]) == 1
    with pytest.raises(NotFound):
        views.dossier_page(rt, world.actor("nh_chair"), r.code)
    with reading(rt, chair) as unit:
        loaded = visible_dossier(unit, r.dossier_id)
        assert visible_dossier(unit, r.code) is loaded
        with pytest.raises(PermissionDenied):
            visible_dossier(unit, r.dossier_id, "dossier.receive")  # the chair does not receive
