"""Property-based tests of the working calendar (hypothesis)."""
from datetime import date, datetime, time, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.domain.calendar import VN_TZ, CalendarOverrides, Pause, WorkingCalendar, WorkingTimeLimit, parse_limit

CAL = WorkingCalendar()
MINUTE = timedelta(minutes=1)

instants = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(VN_TZ)
)
minute_instants = instants.map(lambda t: t.replace(second=0, microsecond=0))
amounts = st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=8 * 30))
# Days around the holiday seasons, turned into extra days off or make-up days.
some_days = st.dates(min_value=date(2025, 1, 1), max_value=date(2026, 12, 31))


@st.composite
def calendars(draw):
    off = draw(st.sets(some_days, max_size=15))
    makeup = draw(st.sets(some_days, max_size=15)) - off
    sessions = draw(st.sampled_from([
        None,
        ((time(7, 30), time(11, 30)), (time(13, 0), time(17, 0))),
        ((time(8, 0), time(12, 0)), (time(12, 45), time(16, 45)), (time(18, 0), time(18, 30))),
    ]))
    from engine.domain.calendar import DEFAULT_SESSIONS, WorkingSession

    return WorkingCalendar(
        sessions=DEFAULT_SESSIONS if sessions is None else [WorkingSession(*s) for s in sessions],
        overrides=CalendarOverrides(
            days_off={d: "off" for d in off}, makeup_days={d: "makeup" for d in makeup}
        ),
    )


def in_session_or_at_close(cal: WorkingCalendar, t: datetime) -> bool:
    local = t.astimezone(VN_TZ)
    if not cal.is_working_day(local.date()):
        return False
    tod = local.time()
    return any(s.start <= tod <= s.end for s in cal.sessions)


@settings(max_examples=300, deadline=None)
@given(calendars(), instants, amounts)
def test_measured_working_time_equals_the_limit(cal, start, amount):
    due = cal.add_working_time(start, amount)
    assert cal.working_time_between(start, due) == amount


@settings(max_examples=300, deadline=None)
@given(calendars(), instants, amounts)
def test_due_lies_inside_a_session_or_at_its_close(cal, start, amount):
    due = cal.add_working_time(start, amount)
    assert due >= start
    assert in_session_or_at_close(cal, due)
    if amount > timedelta(0):
        # never at the opening of a session: a limit used up at a close stays at the close
        local = due.astimezone(VN_TZ).time()
        assert all(local != s.start for s in cal.sessions)


@settings(max_examples=300, deadline=None)
@given(calendars(), instants, amounts, amounts)
def test_due_is_monotonic_in_the_limit(cal, start, a, b):
    small, large = sorted((a, b))
    assert cal.add_working_time(start, small) <= cal.add_working_time(start, large)


@settings(max_examples=300, deadline=None)
@given(calendars(), instants, instants, amounts)
def test_due_is_monotonic_in_the_start(cal, s1, s2, amount):
    early, late = sorted((s1, s2))
    assert cal.add_working_time(early, amount) <= cal.add_working_time(late, amount)


@settings(max_examples=150, deadline=None)
@given(minute_instants, st.integers(min_value=0, max_value=2 * 8 * 60))
def test_agrees_with_a_minute_by_minute_walk(start, minutes):
    """A slow reference: walk minute by minute, counting minutes that lie in a session."""
    t = start
    left = minutes

    def working_minute(at: datetime) -> bool:  # the minute [at, at+1min) is worked
        return CAL.is_working_day(at.date()) and any(
            s.start <= at.time() and (at + MINUTE).time() <= s.end and (at + MINUTE).date() == at.date()
            for s in CAL.sessions
        )

    if left == 0:
        while not working_minute(t):
            t += MINUTE
    while left:
        if working_minute(t):
            left -= 1
        t += MINUTE
    assert CAL.add_working_time(start, minutes * MINUTE) == t


@st.composite
def pause_lists(draw, start):
    pauses, t = [], start - timedelta(days=2)
    for _ in range(draw(st.integers(0, 4))):
        t += draw(st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=6)))
        length = draw(st.timedeltas(min_value=timedelta(minutes=1), max_value=timedelta(days=5)))
        pauses.append(Pause(t, t + length))
        t += length
    return pauses


@settings(max_examples=300, deadline=None)
@given(st.data(), instants, amounts)
def test_paused_working_time_does_not_count(data, start, amount):
    pauses = data.draw(pause_lists(start))
    due = CAL.due(start, WorkingTimeLimit(amount), pauses)
    paused = sum(
        (CAL.working_time_between(max(p.start, start), min(p.end, due)) for p in pauses if p.end > start and p.start < due),
        timedelta(0),
    )
    assert CAL.working_time_between(start, due) - paused == amount
    assert due >= CAL.due(start, WorkingTimeLimit(amount))


@settings(max_examples=200, deadline=None)
@given(calendars(), instants, st.integers(min_value=1, max_value=90))
def test_same_day_and_calendar_day_limits_end_at_a_close(cal, start, days):
    close = cal.sessions[-1].end
    for limit in (parse_limit("same-day"), parse_limit(f"P{days}D", basis="calendar")):
        due = cal.due(start, limit)
        assert due.astimezone(VN_TZ).time() == close
        assert cal.is_working_day(due.date())
        assert due > start
    last_day = cal.due(start, parse_limit(f"P{days}D", basis="calendar")).date()
    first_allowed = start.astimezone(VN_TZ).date() + timedelta(days=days)
    assert last_day >= first_allowed
    assert all(not cal.is_working_day(first_allowed + timedelta(days=i)) for i in range((last_day - first_allowed).days))


@settings(max_examples=300, deadline=None)
@given(instants, instants)
def test_classifications_agree(due, finished):
    late = CAL.classify_finished(due, finished) == "late"
    assert late == (CAL.classify_open(due, finished) == "overdue")


def walked_working_days(cal: WorkingCalendar, first: date, end: date) -> int:
    """The working days in [first, end), counted one day at a time."""
    count, d = 0, first
    while d < end:
        count += cal.is_working_day(d)
        d += timedelta(days=1)
    return count


def walked_add(cal: WorkingCalendar, start: datetime, amount: timedelta) -> datetime:
    """add_working_time by walking every day session by session (the reference)."""
    local = start.astimezone(VN_TZ)
    d, remaining = local.date(), amount
    tod = local.time()
    while True:
        if cal.is_working_day(d):
            for s in cal.sessions:
                if s.end <= tod:
                    continue
                begin = max(s.start, tod)
                available = datetime.combine(d, s.end) - datetime.combine(d, begin)
                if remaining <= available:
                    return datetime.combine(d, begin, tzinfo=VN_TZ) + remaining
                remaining -= available
        d += timedelta(days=1)
        tod = time(0)


spans = st.dates(min_value=date(2020, 1, 1), max_value=date(2040, 12, 31))


@settings(max_examples=300, deadline=None)
@given(calendars(), spans, spans)
def test_working_days_counted_by_year_equal_the_days_walked(cal, first, end):
    assert cal.working_days_in(first, end) == walked_working_days(cal, first, end)


@settings(max_examples=300, deadline=None)
@given(calendars(), instants, st.timedeltas(min_value=timedelta(0), max_value=timedelta(hours=8 * 800)))
def test_adding_years_of_working_time_jumps_to_where_walking_ends(cal, start, amount):
    # steps opened long ago are measured by the scheduler: spans of years, across holidays
    assert cal.add_working_time(start, amount) == walked_add(cal, start, amount)
