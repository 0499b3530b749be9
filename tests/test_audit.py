from datetime import date

from sqlalchemy import select, text

from engine.audit import Actor, verify_chain
from engine.adapters.db.models import Event
from engine.runtime import Runtime
from engine.services.identity import assign_role, create_org_unit, create_user

ADMIN = Actor.system("test")


def _some_events(rt):
    create_org_unit(rt, ADMIN, code="TQ", name="Tuyên Quang", kind="province")
    create_org_unit(rt, ADMIN, code="TRIPHU", name="Xã Tri Phú", kind="commune", parent_code="TQ")
    uid = create_user(rt, ADMIN, username="lan", full_name="Nguyễn Thị Lan")
    assign_role(rt, ADMIN, user_id=uid, unit_code="TRIPHU", role="one_stop_clerk", valid_from=date(2026, 1, 1))


def test_chain_is_intact_after_appends(db, clock):
    rt = Runtime(db, clock)
    _some_events(rt)
    with db.session_factory() as s:
        events = s.scalars(select(Event).order_by(Event.id)).all()
        assert [e.id for e in events] == [1, 2, 3, 4]
        assert events[1].prev_hash == events[0].hash
        assert verify_chain(s) == []


def test_changed_row_is_detected(db, clock):
    rt = Runtime(db, clock)
    _some_events(rt)
    with db.session_factory() as s:
        s.execute(text("UPDATE events SET actor_name = 'mallory' WHERE id = 2"))
        s.commit()
        breaks = verify_chain(s)
    assert [(b.event_id, b.problem) for b in breaks] == [(2, "changed")]


def test_removed_row_is_detected(db, clock):
    rt = Runtime(db, clock)
    _some_events(rt)
    with db.session_factory() as s:
        s.execute(text("DELETE FROM events WHERE id = 2"))
        s.commit()
        breaks = verify_chain(s)
    assert (3, "unlinked") in [(b.event_id, b.problem) for b in breaks]


def test_removed_last_row_is_detected(db, clock):
    rt = Runtime(db, clock)
    _some_events(rt)
    with db.session_factory() as s:
        s.execute(text("DELETE FROM events WHERE id = 4"))
        s.commit()
        assert [(b.event_id, b.problem) for b in verify_chain(s)] == [(3, "missing_head")]


def test_inserted_row_is_detected(db, clock):
    rt = Runtime(db, clock)
    _some_events(rt)
    with db.session_factory() as s:
        row = s.get(Event, 2)
        s.execute(text(
            "INSERT INTO events (id, at, actor_name, kind, entity_type, entity_id, prev_hash, hash) "
            "VALUES (99, :at, 'x', 'forged', 'user', '1', :prev, :h)"
        ), {"at": row.at.replace(tzinfo=None) if db.dialect == "sqlite" else row.at, "prev": row.hash, "h": "f" * 64})
        s.commit()
        problems = [(b.event_id, b.problem) for b in verify_chain(s)]
    assert (99, "unlinked") in problems or (99, "changed") in problems
