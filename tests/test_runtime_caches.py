"""The one cache implementation and the runtime that owns every cache: bounded LRU, the
change-token rule, and runtimes side by side that never share an entry."""
from __future__ import annotations

import threading
from datetime import date

import pytest

from engine.adapters.db.models import ProcedureVersion
from engine.audit import Actor
from engine.caching import ChangeTokenCache, LruCache
from engine.permissions import load_principal
from engine.runtime import Runtime
from engine.services.calendars import DatabaseOverrideStore, calendar_for, load_overrides
from engine.views import dossiers as views
from tests.support import SYSTEM, build_world


def test_lru_keeps_the_most_recently_used():
    cache: LruCache[str, int] = LruCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # a is now the most recent
    cache.put("c", 3)
    assert "b" not in cache and cache.get("a") == 1 and cache.get("c") == 3
    assert len(cache) == 2
    with pytest.raises(ValueError):
        LruCache(0)


def test_get_or_load_loads_once_per_key():
    cache: LruCache[str, object] = LruCache(8)
    calls: list[str] = []

    def load(key):
        calls.append(key)
        return object()

    first = cache.get_or_load("x", lambda: load("x"))
    assert cache.get_or_load("x", lambda: load("x")) is first
    assert calls == ["x"]


def test_lru_is_safe_under_threads():
    cache: LruCache[int, int] = LruCache(16)

    def work(offset):
        for i in range(2000):
            cache.get_or_load((i + offset) % 40, lambda i=i: i)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(cache) == 16


def test_change_tokens_decide_reuse():
    cache = ChangeTokenCache(capacity=8)
    loads: list[int] = []

    def load():
        loads.append(1)
        return len(loads)

    assert cache.get("roles", "k", {"roles": "t1"}, load) == 1
    assert cache.get("roles", "k", {"roles": "t1"}, load) == 1  # same token: reused
    assert cache.get("roles", "k", {"roles": "t2"}, load) == 2  # the rows changed: loaded again
    assert cache.get("roles", "k", {}, load) == 3  # no token (emptied database): never cached
    assert cache.get("roles", "k", {}, load) == 4


def test_runtimes_side_by_side_share_no_cache(db, clock):
    first = Runtime(db, clock)
    world = build_world(first)
    officer = world.actor("officer")
    second = Runtime(db, clock)
    for rt in (first, second):
        assert rt.reference is not None
    assert first.reference is not second.reference and first.calendars is not second.calendars
    assert first.models is not second.models and first.models_by_version is not second.models_by_version

    with first.read(officer) as unit:
        version_id = unit.session.query(ProcedureVersion.id).scalar()
        principal = load_principal(unit, officer.user_id, date(2026, 3, 3))
        calendar = calendar_for(unit, None)
        model = first.model_of_version(unit.connection, version_id)
    tokens_kept = len(first.reference)
    assert len(first.calendars) == 1 and len(first.models_by_version) == 1
    assert len(second.reference) == len(second.calendars) == len(second.models_by_version) == len(second.models) == 0

    with second.read(officer) as unit:
        # equal values, built by the second runtime itself
        assert load_principal(unit, officer.user_id, date(2026, 3, 3)) is not principal
        assert calendar_for(unit, None) is not calendar
        assert second.model_of_version(unit.connection, version_id) is not model
    assert len(first.reference) == tokens_kept  # the second runtime's reads added nothing to the first's

    # within one runtime, values are shared while the change tokens stay
    with first.read(officer) as unit:
        assert load_principal(unit, officer.user_id, date(2026, 3, 3)) is principal
        assert calendar_for(unit, None) is calendar


def test_a_change_through_one_runtime_reaches_the_other_at_once(db, clock):
    server = Runtime(db, clock)
    build_world(server)
    with server.read(SYSTEM) as unit:
        assert load_overrides(unit).days_off == {}
    DatabaseOverrideStore(Runtime(db, clock)).add("day_off", date(2026, 3, 4), reason="QĐ 1", actor="admin")
    with server.read(SYSTEM) as unit:
        assert load_overrides(unit).days_off == {date(2026, 3, 4): "QĐ 1"}
        assert not calendar_for(unit, None).is_working_day(date(2026, 3, 4))


def test_a_read_unit_cannot_commit(db, clock):
    rt = Runtime(db, clock)
    with rt.read(Actor.system("test")) as unit:
        unit.connection  # opens the transaction
        with pytest.raises(RuntimeError):
            unit.commit()


def test_views_take_the_runtime_or_an_open_unit(db, clock):
    rt = Runtime(db, clock)
    world = build_world(rt)
    clerk = world.actor("clerk")
    with rt.read(clerk) as unit:
        assert views.inbox(unit, clerk) == views.inbox(rt, clerk) == []


def _imports(path):
    import ast

    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)


def test_the_read_side_and_the_runtime_stand_apart_from_the_use_cases():
    from pathlib import Path

    engine = Path(__file__).resolve().parent.parent / "engine"
    for path in sorted((engine / "views").glob("*.py")):
        assert not [m for m in _imports(path) if m.startswith("engine.services")], path.name
    # services.uow is imported lazily by the runtime (and only type-checked there), never at import time
    import subprocess
    import sys

    probe = "import engine.runtime, sys; print('engine.unit_of_work' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                         cwd=engine.parent)
    assert out.stdout.strip() == "False"


def test_webhook_subscriptions_are_read_once_per_change_and_a_new_one_is_seen_at_once(db, clock):
    from sqlalchemy import event, select

    from engine.adapters.db.models import OutboxMessage
    from engine.services import dossiers, webhooks
    from engine.services.dossiers import Applicant

    server = Runtime(db, clock)
    world = build_world(server)
    clerk = world.actor("clerk")

    def receive():
        return dossiers.receive(server, clerk, unit_code="TRIPHU", procedure_code="9.000001",
                                applicant=Applicant("Lê Văn Một"))

    receive()  # loads the commune's (empty) subscriptions
    seen: list[str] = []

    def statement(_conn, _cursor, sql, *_):
        seen.append(sql)

    event.listen(db.engine, "before_cursor_execute", statement)
    try:
        receive()
    finally:
        event.remove(db.engine, "before_cursor_execute", statement)
    assert seen and not [sql for sql in seen if "webhook_subscriptions" in sql]  # from the cache
    # another process subscribes: the token changes, the next write owes the new endpoint
    webhooks.create_subscription(Runtime(db, clock), world.actor("chair"), "TRIPHU", "https://tich-hop.example.vn/hook")
    third = receive()
    with db.engine.connect() as conn:
        owed = conn.execute(select(OutboxMessage.event_key).where(OutboxMessage.channel == "webhook")).scalars().all()
        assert owed == [f"{third.dossier_id}:received"]
