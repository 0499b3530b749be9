"""Calendar overrides in their one store, the database (`DatabaseOverrideStore`): every
change is checked by `apply_change` and audited in the event log."""
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import func, select

from engine.adapters.db.models import CalendarOverrideRow, Event
from engine.domain.calendar import CalendarOverrides, WorkingCalendar
from engine.domain.clock import FixedClock
from engine.errors import InvalidInput
from engine.runtime import Runtime
from engine.services.calendars import DatabaseOverrideStore

T0 = datetime(2026, 11, 26, 8, 0, tzinfo=timezone.utc)


@pytest.fixture
def store(db):
    return DatabaseOverrideStore(Runtime(db, FixedClock(T0)))


def test_empty_store_has_no_overrides(store):
    assert store.load() == CalendarOverrides()
    assert store.audit() == []


def test_add_and_remove_are_audited_with_before_and_after(store):
    entry = store.add("makeup_day", date(2027, 1, 30), reason="CV 1/BNV", actor="lan")
    assert (entry.at, entry.actor, entry.action, entry.before, entry.after) == (T0, "lan", "add", None, "CV 1/BNV")
    store.rt.clock.set(T0.replace(hour=9))
    store.remove("makeup_day", date(2027, 1, 30), reason="decision withdrawn", actor="minh")
    store.add("makeup_day", date(2027, 1, 30), reason="CV 2/BNV (replaces CV 1)", actor="minh")
    trail = store.audit()
    assert [(e.action, e.actor, e.before, e.after) for e in trail] == [
        ("add", "lan", None, "CV 1/BNV"),
        ("remove", "minh", "CV 1/BNV", None),
        ("add", "minh", None, "CV 2/BNV (replaces CV 1)"),
    ]
    assert trail[1].at == T0.replace(hour=9)
    assert store.load() == CalendarOverrides(makeup_days={date(2027, 1, 30): "CV 2/BNV (replaces CV 1)"})


def test_loaded_overrides_drive_the_calendar(store):
    store.add("day_off", date(2026, 3, 4), reason="storm", actor="chair")
    cal = WorkingCalendar(overrides=store.load())
    assert not cal.is_working_day(date(2026, 3, 4))


def _rows_and_events(store):
    with store.rt.db.engine.connect() as conn:
        return (conn.scalar(select(func.count()).select_from(CalendarOverrideRow)),
                conn.scalar(select(func.count()).select_from(Event)))


def test_refused_change_stores_nothing(store):
    store.add("day_off", date(2026, 3, 4), reason="storm", actor="chair")
    before = _rows_and_events(store)
    with pytest.raises(InvalidInput):
        store.add("makeup_day", date(2026, 3, 4), reason="x", actor="chair")
    with pytest.raises(InvalidInput):
        store.add("cancelled_holiday", date(2026, 3, 5), reason="x", actor="chair")
    with pytest.raises(InvalidInput, match="already has a day off override"):
        store.add("day_off", date(2026, 3, 4), reason="another decision", actor="chair")
    assert _rows_and_events(store) == before
    assert store.load().days_off == {date(2026, 3, 4): "storm"}


def test_overrides_are_immutable():
    ov = CalendarOverrides(days_off={date(2026, 3, 4): "storm"})
    with pytest.raises(TypeError):
        ov.days_off[date(2026, 3, 5)] = "x"  # type: ignore[index]
    assert ov.with_change("day_off", date(2026, 3, 5), "y").days_off == {date(2026, 3, 4): "storm", date(2026, 3, 5): "y"}
    assert CalendarOverrides.from_json(ov.to_json()) == ov


def test_overrides_are_hashable_cache_keys():
    a = CalendarOverrides(days_off={date(2026, 3, 4): "storm"})
    b = CalendarOverrides(days_off={date(2026, 3, 4): "storm"})
    assert a == b and hash(a) == hash(b)
    assert len({a, b, CalendarOverrides()}) == 2
