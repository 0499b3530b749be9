from datetime import date, datetime, timezone

import pytest

from engine.domain.calendar import CalendarOverrides, JsonFileOverrideStore, WorkingCalendar
from engine.domain.calendar.overrides import CalendarFileError
from engine.domain.clock import FixedClock
from engine.errors import InvalidInput

T0 = datetime(2026, 11, 26, 8, 0, tzinfo=timezone.utc)


@pytest.fixture
def store(tmp_path):
    return JsonFileOverrideStore(tmp_path / "cal.json", clock=FixedClock(T0))


def test_empty_store_has_no_overrides(store):
    assert store.load() == CalendarOverrides()
    assert store.audit() == []


def test_add_and_remove_are_audited_with_before_and_after(store):
    entry = store.add("makeup_day", date(2027, 1, 30), reason="CV 1/BNV", actor="lan")
    assert (entry.at, entry.actor, entry.action, entry.before, entry.after) == (T0, "lan", "add", None, "CV 1/BNV")
    store.clock.set(T0.replace(hour=9))
    store.add("makeup_day", date(2027, 1, 30), reason="CV 2/BNV (replaces CV 1)", actor="minh")
    store.remove("makeup_day", date(2027, 1, 30), reason="decision withdrawn", actor="minh")
    trail = store.audit()
    assert [(e.action, e.before, e.after) for e in trail] == [
        ("add", None, "CV 1/BNV"),
        ("add", "CV 1/BNV", "CV 2/BNV (replaces CV 1)"),
        ("remove", "CV 2/BNV (replaces CV 1)", None),
    ]
    assert trail[1].at == T0.replace(hour=9)
    assert store.load() == CalendarOverrides()


def test_loaded_overrides_drive_the_calendar(store):
    store.add("day_off", date(2026, 3, 4), reason="storm", actor="chair")
    cal = WorkingCalendar(overrides=store.load())
    assert not cal.is_working_day(date(2026, 3, 4))


def test_env_variable_chooses_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("ISOFLOW_CALENDAR_FILE", str(tmp_path / "x.json"))
    assert JsonFileOverrideStore().path == tmp_path / "x.json"
    monkeypatch.delenv("ISOFLOW_CALENDAR_FILE")
    assert str(JsonFileOverrideStore().path) == "var/calendar-overrides.json"


def test_refused_change_leaves_the_file_untouched(store):
    store.add("day_off", date(2026, 3, 4), reason="storm", actor="chair")
    before = store.path.read_text()
    with pytest.raises(InvalidInput):
        store.add("makeup_day", date(2026, 3, 4), reason="x", actor="chair")
    with pytest.raises(InvalidInput):
        store.add("cancelled_holiday", date(2026, 3, 5), reason="x", actor="chair")
    assert store.path.read_text() == before


def test_unreadable_file_is_a_clear_error(store):
    store.path.write_text("{not json")
    with pytest.raises(CalendarFileError, match="unreadable"):
        store.load()
    store.path.write_text('{"days_off": {"2026-02-30": "x"}}')
    with pytest.raises(CalendarFileError):
        store.load()


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
