"""Table tests of the working calendar against docs/domain.md §4 and the real 2025/2026 holidays.

Expected instants are worked out by hand from the sessions 07:00-11:30 / 13:30-17:00;
each row's comment shows the arithmetic.
"""
from datetime import date, datetime, time, timedelta, timezone

import pytest

from engine.domain.calendar import (
    VN_TZ,
    CalendarDaysLimit,
    CalendarOverrides,
    Pause,
    SameDayLimit,
    WorkingCalendar,
    WorkingSession,
    WorkingTimeLimit,
    parse_limit,
)
from engine.errors import InvalidInput

CAL = WorkingCalendar()


def vn(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=VN_TZ)


def due(start: str, limit: str, basis: str = "working", cal: WorkingCalendar = CAL, pauses=()) -> datetime:
    return cal.due(vn(start), parse_limit(limit, basis), pauses)


WORKING_LIMIT_CASES = [
    # docs/domain.md §4 examples
    ("2026-03-03T10:00", "P2D", "2026-03-05T10:00", "Tue 10:00 + 2 days -> Thu 10:00"),
    ("2026-02-13T16:00", "P1D", "2026-02-23T16:00", "Fri 1h, Tết 16-20 Feb, Mon 7h -> 16:00"),
    # Tết 2026 (package: 16-20 Feb)
    ("2026-02-12T14:00", "P2D", "2026-02-23T14:00", "Thu 3h + Fri 8h, Mon 4.5h + 0.5h"),
    ("2026-02-17T09:00", "P0.5D", "2026-02-23T11:00", "received on Tết: starts Mon 07:00, +4h"),
    # Tết 2025 (package: Mon 27 Jan - Sat 1 Feb; 27 Jan compensates mùng 4 on Saturday)
    ("2025-01-24T10:00", "P1D", "2025-02-03T10:00", "Fri 5h, Tết week off, Mon 3h"),
    ("2025-01-23T07:00", "P3D", "2025-02-03T17:00", "Thu 8h, Fri 8h, Mon 8h ends at the close"),
    # 30/4 - 1/5 2025: Wed, Thu holidays, Fri 2 May swapped with make-up Saturday 26 Apr
    ("2025-04-25T13:30", "P1D", "2025-04-26T11:30", "Fri 3.5h, make-up Sat 4.5h ends at the morning close"),
    ("2025-04-29T10:00", "P1D", "2025-05-05T10:00", "Tue 5h, Wed-Fri off, weekend, Mon 3h"),
    # 30/4 - 1/5 2026: Thu, Fri; Hùng Kings observed Mon 27 Apr
    ("2026-04-24T15:00", "P1D", "2026-04-28T15:00", "Fri 2h, Mon 27 off, Tue 6h"),
    ("2026-04-29T09:00", "P1D", "2026-05-04T09:00", "Wed 6h, Thu-Fri holidays, Mon 2h"),
    # 2/9: 2025 two-day National Day Mon 1 + Tue 2 Sep
    ("2025-08-29T08:00", "P1D", "2025-09-03T08:00", "Fri 7h, Mon-Tue off, Wed 1h"),
    # 2/9 bridge 2026: Mon 31 Aug swapped with make-up Sat 22 Aug, Tue 1 + Wed 2 Sep
    ("2026-08-21T17:00", "PT4H", "2026-08-22T11:00", "after close Fri -> make-up Sat 07:00 + 4h"),
    ("2026-08-28T10:00", "P2D", "2026-09-04T10:00", "Fri 5h, Mon-Wed off, Thu 8h, Fri 3h"),
    # receipts at lunch, after close, before opening, on weekends
    ("2026-03-03T12:15", "PT2H", "2026-03-03T15:30", "lunch -> 13:30 + 2h"),
    ("2026-03-03T17:30", "PT1H", "2026-03-04T08:00", "after close -> next morning"),
    ("2026-03-03T17:00", "PT1H", "2026-03-04T08:00", "exactly at close -> next morning"),
    ("2026-03-03T06:00", "PT4H30M", "2026-03-03T11:30", "before opening, ends at the morning close"),
    ("2026-03-07T10:00", "P1D", "2026-03-09T17:00", "Saturday -> Mon 07:00, ends at the close"),
    ("2026-03-08T22:00", "PT30M", "2026-03-09T07:30", "Sunday night -> Mon 07:30"),
    # fractions and ends at session boundaries
    ("2026-03-03T07:00", "P1D", "2026-03-03T17:00", "a full day ends at 17:00, not next morning"),
    ("2026-03-03T07:00", "P1DT2H", "2026-03-04T09:00", "10 working hours"),
    ("2026-03-03T11:00", "PT30M", "2026-03-03T11:30", "ends exactly at the morning close"),
    ("2026-03-03T11:00", "PT31M", "2026-03-03T13:31", "one minute past the morning close"),
    ("2026-03-02T07:00", "P20D", "2026-03-27T17:00", "20 working days in March 2026: 4 full weeks"),
    ("2026-03-03T10:00", "P0D", "2026-03-03T10:00", "zero limit inside a session"),
    ("2026-03-03T11:30", "P0D", "2026-03-03T13:30", "zero limit at a close -> next working instant"),
]


@pytest.mark.parametrize("start,limit,expected,why", WORKING_LIMIT_CASES, ids=[c[3] for c in WORKING_LIMIT_CASES])
def test_working_time_limits(start, limit, expected, why):
    result = due(start, limit)
    assert result == vn(expected)
    assert result.tzinfo is VN_TZ


SAME_DAY_CASES = [
    ("2026-03-03T09:00", "2026-03-03T17:00", "before 15:00 -> today's close"),
    ("2026-03-03T12:00", "2026-03-03T17:00", "at lunch, before 15:00 -> today"),
    ("2026-03-03T14:59", "2026-03-03T17:00", "one minute before cutoff"),
    ("2026-03-03T15:00", "2026-03-04T17:00", "at 15:00 -> next working day"),
    ("2026-03-03T16:30", "2026-03-04T17:00", "after 15:00 -> next working day"),
    ("2026-03-06T15:30", "2026-03-09T17:00", "Friday after 15:00 -> Monday"),
    ("2026-03-07T09:00", "2026-03-09T17:00", "Saturday -> Monday"),
    ("2026-02-13T16:00", "2026-02-23T17:00", "Friday before Tết after 15:00"),
    ("2025-04-25T15:30", "2025-04-26T17:00", "Friday after cutoff -> make-up Saturday 2025"),
]


@pytest.mark.parametrize("start,expected,why", SAME_DAY_CASES, ids=[c[2] for c in SAME_DAY_CASES])
def test_same_day_limit(start, expected, why):
    assert due(start, "same-day") == vn(expected)


def test_same_day_cutoff_is_configurable_per_calendar_and_per_limit():
    late_cutoff = WorkingCalendar(same_day_cutoff=time(17, 30))
    assert late_cutoff.due(vn("2026-03-03T17:10"), SameDayLimit()) == vn("2026-03-04T17:00")
    cal = WorkingCalendar(same_day_cutoff=time(16, 0))
    assert cal.due(vn("2026-03-03T15:30"), SameDayLimit()) == vn("2026-03-03T17:00")
    assert CAL.due(vn("2026-03-03T15:30"), SameDayLimit(cutoff=time(16, 0))) == vn("2026-03-03T17:00")
    assert CAL.due(vn("2026-03-03T14:30"), SameDayLimit(cutoff=time(14, 0))) == vn("2026-03-04T17:00")


CALENDAR_DAY_CASES = [
    ("2026-04-01T10:00", "P30D", "2026-05-04T17:00", "1 May holiday, weekend -> Mon 4 May"),
    ("2026-01-16T09:00", "P30D", "2026-02-23T17:00", "15 Feb Sunday, then Tết -> Mon 23 Feb"),
    ("2025-08-22T09:00", "P10D", "2025-09-03T17:00", "1-2 Sep National Day -> Wed 3 Sep"),
    ("2026-03-02T16:00", "P30D", "2026-04-01T17:00", "lands on a working Wednesday"),
    ("2026-08-07T08:00", "P15D", "2026-08-22T17:00", "lands on make-up Saturday 22 Aug 2026"),
]


@pytest.mark.parametrize("start,limit,expected,why", CALENDAR_DAY_CASES, ids=[c[3] for c in CALENDAR_DAY_CASES])
def test_calendar_day_limits(start, limit, expected, why):
    assert due(start, limit, basis="calendar") == vn(expected)


def test_inputs_in_other_zones_give_vietnam_instants():
    start_utc = datetime(2026, 3, 3, 3, 0, tzinfo=timezone.utc)  # 10:00 in Hà Nội
    result = CAL.due(start_utc, WorkingTimeLimit(timedelta(hours=16)))
    assert result == vn("2026-03-05T10:00")
    assert result.utcoffset() == timedelta(hours=7)


def test_naive_instants_are_refused():
    with pytest.raises(InvalidInput, match="time zone"):
        CAL.add_working_time(datetime(2026, 3, 3, 10), timedelta(hours=1))


# ----- working days -------------------------------------------------------------------


@pytest.mark.parametrize(
    "day,working",
    [
        (date(2026, 3, 3), True),
        (date(2026, 3, 7), False),  # Saturday
        (date(2026, 2, 16), False),  # Giao thừa 2026
        (date(2026, 2, 20), False),  # mùng 4
        (date(2026, 2, 23), True),
        (date(2025, 1, 27), False),  # Tết 2025 compensatory day
        (date(2025, 2, 3), True),
        (date(2025, 4, 26), True),  # make-up Saturday for 2 May 2025 (from the package's swap data)
        (date(2025, 5, 2), False),
        (date(2026, 8, 22), True),  # make-up Saturday for 31 Aug 2026
        (date(2026, 8, 31), False),
        (date(2026, 9, 2), False),
        (date(2026, 11, 24), False),  # Vietnam Culture Day, from 2026
        (date(2025, 11, 24), True),
    ],
)
def test_is_working_day(day, working):
    assert CAL.is_working_day(day) is working


def test_override_adds_bridge_day_and_makeup_saturday_the_package_does_not_know():
    # A decision of the kind issued every year (hypothetical here): Thu 11 and Fri 12 Feb 2027
    # after Tết are given off, worked back on Saturdays 30 Jan and 20 Feb 2027.
    overrides = CalendarOverrides(
        days_off={date(2027, 2, 11): "CV x/BNV", date(2027, 2, 12): "CV x/BNV"},
        makeup_days={date(2027, 1, 30): "CV x/BNV", date(2027, 2, 20): "CV x/BNV"},
    )
    plain = WorkingCalendar()
    fixed = WorkingCalendar(overrides=overrides)
    assert plain.is_working_day(date(2027, 2, 11)) and not fixed.is_working_day(date(2027, 2, 11))
    assert not plain.is_working_day(date(2027, 1, 30)) and fixed.is_working_day(date(2027, 1, 30))
    # Tết 2027 (package): Thu 4 - Wed 10 Feb. Received Wed 3 Feb 13:30 with 1 day: 3.5h,
    # then the package alone says Thu 11 Feb 11:30; with the decision, Mon 15 Feb 11:30.
    assert due("2027-02-03T13:30", "P1D", cal=plain) == vn("2027-02-11T11:30")
    assert due("2027-02-03T13:30", "P1D", cal=fixed) == vn("2027-02-15T11:30")
    # Received Fri 29 Jan after close: the make-up Saturday counts.
    assert due("2027-01-29T17:30", "PT2H", cal=plain) == vn("2027-02-01T09:00")
    assert due("2027-01-29T17:30", "PT2H", cal=fixed) == vn("2027-01-30T09:00")


def test_cancelled_holiday_becomes_a_working_day():
    overrides = CalendarOverrides(cancelled_holidays={date(2026, 11, 24): "hypothetical decision"})
    cal = WorkingCalendar(overrides=overrides)
    assert not CAL.is_working_day(date(2026, 11, 24))
    assert cal.is_working_day(date(2026, 11, 24))
    assert due("2026-11-23T13:30", "P1D", cal=CAL) == vn("2026-11-25T11:30")
    assert due("2026-11-23T13:30", "P1D", cal=cal) == vn("2026-11-24T11:30")


def test_extra_day_off_stops_the_clock():
    cal = WorkingCalendar(overrides=CalendarOverrides(days_off={date(2026, 3, 4): "storm"}))
    assert due("2026-03-03T10:00", "P2D", cal=cal) == vn("2026-03-06T10:00")


def test_a_date_cannot_be_both_day_off_and_makeup_day():
    with pytest.raises(InvalidInput, match="both"):
        CalendarOverrides(days_off={date(2026, 3, 7): "a"}, makeup_days={date(2026, 3, 7): "b"})


def test_non_working_days_and_sources():
    days = {c.day: c for c in CAL.calendar_days(2026)}
    assert days[date(2026, 2, 17)].kind == "holiday" and days[date(2026, 2, 17)].source.startswith("holidays")
    assert days[date(2026, 8, 22)].kind == "makeup_day" and days[date(2026, 8, 22)].working
    off = [c.day for c in CAL.non_working_days(2026)]
    assert date(2026, 2, 16) in off and date(2026, 8, 22) not in off
    cal = WorkingCalendar(overrides=CalendarOverrides(days_off={date(2026, 3, 4): "storm"}))
    extra = [c for c in cal.non_working_days(2026) if c.day == date(2026, 3, 4)]
    assert extra and extra[0].source == "override" and extra[0].name == "storm"


# ----- sessions -----------------------------------------------------------------------


def test_custom_sessions_per_org_unit():
    cal = WorkingCalendar(sessions=[WorkingSession(time(7, 30), time(11, 30)), WorkingSession(time(13, 0), time(17, 0))])
    assert cal.day_length == timedelta(hours=8)
    assert cal.due(vn("2026-03-03T11:00"), parse_limit("PT1H")) == vn("2026-03-03T13:30")
    assert cal.next_working_instant(vn("2026-03-03T07:00")) == vn("2026-03-03T07:30")


def test_bad_sessions_are_refused():
    with pytest.raises(InvalidInput):
        WorkingSession(time(11, 0), time(7, 0))
    with pytest.raises(InvalidInput, match="overlap"):
        WorkingCalendar(sessions=[WorkingSession(time(7), time(12)), WorkingSession(time(11), time(17))])
    with pytest.raises(InvalidInput):
        WorkingCalendar(sessions=[])


def test_next_working_instant():
    assert CAL.next_working_instant(vn("2026-03-03T10:00")) == vn("2026-03-03T10:00")
    assert CAL.next_working_instant(vn("2026-03-03T11:30")) == vn("2026-03-03T13:30")
    assert CAL.next_working_instant(vn("2026-03-06T17:00")) == vn("2026-03-09T07:00")
    assert CAL.next_working_instant(vn("2026-02-14T09:00")) == vn("2026-02-23T07:00")


# ----- measuring ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "a,b,hours",
    [
        ("2026-02-13T16:00", "2026-02-23T16:00", 8),
        ("2026-03-03T11:00", "2026-03-03T14:00", 1),
        ("2026-03-03T00:00", "2026-03-04T00:00", 8),
        ("2026-03-06T17:00", "2026-03-09T07:00", 0),
        ("2026-03-02T07:00", "2026-03-27T17:00", 160),
        ("2025-04-25T13:30", "2025-04-26T11:30", 8),
    ],
)
def test_working_time_between(a, b, hours):
    assert CAL.working_time_between(vn(a), vn(b)) == timedelta(hours=hours)
    assert CAL.working_time_between(vn(b), vn(a)) == -timedelta(hours=hours)


# ----- pauses -------------------------------------------------------------------------


def pause(a: str, b: str) -> Pause:
    return Pause(vn(a), vn(b))


@pytest.mark.parametrize(
    "pauses,expected,why",
    [
        ([], "2026-03-05T10:00", "no pause"),
        ([pause("2026-03-04T07:00", "2026-03-05T07:00")], "2026-03-06T10:00", "one full working day paused"),
        ([pause("2026-03-02T08:00", "2026-03-03T11:00")], "2026-03-05T11:00", "only the part after receipt counts"),
        ([pause("2026-03-07T00:00", "2026-03-08T23:00")], "2026-03-05T10:00", "a weekend pause costs nothing"),
        ([pause("2026-03-06T08:00", "2026-03-09T08:00")], "2026-03-05T10:00", "a pause after the due instant"),
        (
            [pause("2026-03-05T07:00", "2026-03-05T08:00"), pause("2026-03-04T13:30", "2026-03-04T17:00")],
            "2026-03-05T16:30",
            "two pauses (given unsorted), 4.5h in all",
        ),
        ([pause("2026-03-05T09:00", "2026-03-05T12:00")], "2026-03-05T14:30", "pause spanning the due instant and lunch"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_pauses_move_the_due_instant(pauses, expected, why):
    assert due("2026-03-03T10:00", "P2D", pauses=pauses) == vn(expected)


def test_pause_on_same_day_and_calendar_limits():
    assert due("2026-03-03T09:00", "same-day", pauses=[pause("2026-03-03T10:00", "2026-03-03T11:00")]) == vn("2026-03-04T08:00")
    assert due("2026-03-02T16:00", "P30D", "calendar", pauses=[pause("2026-03-10T07:00", "2026-03-11T07:00")]) == vn(
        "2026-04-02T17:00"
    )


@pytest.mark.parametrize(
    "pauses,code",
    [
        ([pause("2026-03-04T10:00", "2026-03-04T09:00")], "inverted_pause"),
        ([pause("2026-03-04T10:00", "2026-03-04T10:00")], "inverted_pause"),
        ([pause("2026-03-04T07:00", "2026-03-04T10:00"), pause("2026-03-04T09:00", "2026-03-04T11:00")], "overlapping_pauses"),
    ],
)
def test_bad_pauses_are_refused(pauses, code):
    with pytest.raises(InvalidInput) as info:
        due("2026-03-03T10:00", "P2D", pauses=pauses)
    assert info.value.problems[0].code == code
    assert info.value.problems[0].field == "pause"


def test_adjacent_pauses_are_fine():
    pauses = [pause("2026-03-04T07:00", "2026-03-04T09:00"), pause("2026-03-04T09:00", "2026-03-04T10:00")]
    # 3 h paused: Thu 10:00 -> 11:30 (1.5 h), 13:30 + 1.5 h
    assert due("2026-03-03T10:00", "P2D", pauses=pauses) == vn("2026-03-05T15:00")


# ----- classification -----------------------------------------------------------------

DUE = vn("2026-03-05T10:00")


@pytest.mark.parametrize(
    "finished,expected",
    [
        (vn("2026-03-04T16:00"), "early"),
        (vn("2026-03-01T10:00"), "early"),  # a Sunday before the due day
        (vn("2026-03-05T09:00"), "on_time"),
        (vn("2026-03-05T10:00"), "on_time"),
        (vn("2026-03-05T10:00:01"), "late"),
        (vn("2026-03-06T08:00"), "late"),
        (datetime(2026, 3, 4, 17, 30, tzinfo=timezone.utc), "on_time"),  # 00:30 on the due day in Hà Nội
        (datetime(2026, 3, 4, 16, 30, tzinfo=timezone.utc), "early"),  # 23:30 the day before
    ],
)
def test_classify_finished(finished, expected):
    assert CAL.classify_finished(DUE, finished) == expected


def test_classify_open():
    assert CAL.classify_open(DUE, vn("2026-03-05T10:00")) == "within_limit"
    assert CAL.classify_open(DUE, vn("2026-03-05T10:01")) == "overdue"


def test_calendar_days_limit_object():
    assert CAL.due(vn("2026-04-01T10:00"), CalendarDaysLimit(30)) == vn("2026-05-04T17:00")


@pytest.mark.parametrize("start", [datetime(9999, 12, 31, 10, tzinfo=VN_TZ), datetime(1, 1, 1, 10, tzinfo=timezone.utc)])
def test_instants_outside_supported_years_are_refused(start):
    with pytest.raises(InvalidInput, match="supported years"):
        CAL.due(start, parse_limit("P2D"))


def test_absurd_amounts_are_refused():
    with pytest.raises(InvalidInput, match="maximum"):
        CAL.add_working_time(vn("2026-03-03T10:00"), timedelta(days=100_000))
    with pytest.raises(InvalidInput, match="negative"):
        CAL.add_working_time(vn("2026-03-03T10:00"), -timedelta(hours=1))
