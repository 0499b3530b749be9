"""Statistics: period parsing, arguments, the working-time timeline (numbers and permissions
are in test_statistics_scenario.py)."""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone

import pytest

from engine.domain.calendar import VN_TZ, WorkingCalendar
from engine.errors import InvalidInput
from engine.runtime import Runtime
from engine.domain.calendar.timeline import WorkingTimeline
from engine.views.statistics import compute_statistics, parse_period
from tests.support import SYSTEM


@pytest.mark.parametrize("text, start, end, kind, label", [
    ("2026-03", date(2026, 3, 1), date(2026, 3, 31), "month", "Tháng 03/2026"),
    ("2026-3", date(2026, 3, 1), date(2026, 3, 31), "month", "Tháng 03/2026"),
    ("2024-02", date(2024, 2, 1), date(2024, 2, 29), "month", "Tháng 02/2024"),
    ("2026-12", date(2026, 12, 1), date(2026, 12, 31), "month", "Tháng 12/2026"),
    ("2026-Q1", date(2026, 1, 1), date(2026, 3, 31), "quarter", "Quý I/2026"),
    ("2026-q4", date(2026, 10, 1), date(2026, 12, 31), "quarter", "Quý IV/2026"),
    ("2026-H1", date(2026, 1, 1), date(2026, 6, 30), "six_months", "6 tháng đầu năm 2026"),
    (" 2026-6M ", date(2026, 1, 1), date(2026, 6, 30), "six_months", "6 tháng đầu năm 2026"),
    ("2026-9M", date(2026, 1, 1), date(2026, 9, 30), "nine_months", "9 tháng đầu năm 2026"),
    ("2026", date(2026, 1, 1), date(2026, 12, 31), "year", "Năm 2026"),
])
def test_periods(text, start, end, kind, label):
    period = parse_period(text)
    assert (period.start, period.end, period.kind, period.label) == (start, end, kind, label)
    assert period.start_instant == datetime(start.year, start.month, start.day, tzinfo=VN_TZ)
    assert period.end_instant == datetime.combine(end + timedelta(days=1), datetime.min.time(), tzinfo=VN_TZ)


@pytest.mark.parametrize("text", ["", "2026-13", "2026-00", "2026-Q5", "2026-Q0", "2026-H2", "2026-3M", "26-03",
                                  "2026/03", "March 2026", "1999", "2026-03-01", None])
def test_bad_periods_name_the_argument_and_list_the_forms(text):
    with pytest.raises(InvalidInput) as err:
        parse_period(text)
    [problem] = err.value.problems
    assert problem.field == "period"
    assert "2026-Q1" in err.value.hint and "2026-9M" in err.value.hint
    assert err.value.message_vi != err.value.message_en


def test_bad_grouping(db, clock):
    rt = Runtime(db, clock)
    with pytest.raises(InvalidInput) as err:
        compute_statistics(rt, SYSTEM, period="2026-03", group_by="district")
    assert err.value.problems[0].field == "group_by" and "officer" in err.value.hint
    with pytest.raises(InvalidInput) as err:
        compute_statistics(rt, SYSTEM, period="Q1", group_by="field")
    assert err.value.problems[0].field == "period"


def test_timeline_agrees_with_the_calendar():
    calendar = WorkingCalendar()
    line = WorkingTimeline(calendar)
    instants = [datetime(2026, 2, 13, 16, 0, tzinfo=VN_TZ), datetime(2026, 2, 23, 16, 0, tzinfo=VN_TZ),
                datetime(2026, 1, 30, 6, 0, tzinfo=VN_TZ), datetime(2026, 3, 3, 12, 15, tzinfo=VN_TZ),
                datetime(2025, 12, 31, 23, 0, tzinfo=VN_TZ), datetime(2026, 9, 2, 9, 0, tzinfo=VN_TZ)]
    for a in instants:
        for b in instants:
            expected = calendar.working_time_between(a, b) // timedelta(microseconds=1)
            assert line.at(b) - line.at(a) == expected, (a, b)


def test_database_splits_instants_like_the_calendar(db):
    """The per-instant part of indicator 2.2 runs in SQL: local day and working time since
    midnight must agree with the calendar on both databases (lunch, evenings, weekends,
    Tết, microseconds, instants given in UTC)."""
    from sqlalchemy import literal, select

    from engine.adapters.db.types import UTCDateTime
    from engine.views.statistics import _day_and_time, _day_ordinal, _local_us, _working_within_day

    calendar = WorkingCalendar()
    rng = random.Random(3)
    instants = [datetime(2026, 3, 3, 11, 30, tzinfo=VN_TZ), datetime(2026, 3, 3, 0, 0, tzinfo=VN_TZ),
                datetime(2026, 3, 2, 17, 0, 0, 1, tzinfo=timezone.utc),  # 00:00:00.000001 on the 3rd in Hà Nội
                datetime(2026, 2, 17, 9, 0, tzinfo=VN_TZ)]  # Tết: not a working day
    instants += [datetime(2026, 1, 1, tzinfo=VN_TZ) + timedelta(microseconds=rng.randrange(365 * 86400 * 10**6))
                 for _ in range(40)]
    with db.session_factory() as session:
        dialect = session.get_bind().dialect.name
        for instant in instants:
            value = literal(instant, UTCDateTime())
            day, since_midnight = _day_and_time(_local_us(dialect, value))
            within = _working_within_day(dialect, since_midnight, literal(1), {1: calendar})
            got_day, got_within = session.execute(select(day, within)).one()
            local = instant.astimezone(VN_TZ)
            assert _day_ordinal(got_day) == local.date().toordinal(), instant
            midnight = datetime.combine(local.date(), datetime.min.time(), tzinfo=VN_TZ)
            expected = calendar.working_time_between(midnight, local) // timedelta(microseconds=1)
            if calendar.is_working_day(local.date()):
                assert int(got_within) == expected, instant
            else:
                assert expected == 0
