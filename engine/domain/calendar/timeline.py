"""Cumulative working time: a running total per local day, so the working time between
two instants is a subtraction. For bulk measurement (statistics over many dossiers);
`WorkingCalendar.working_time_between` stays the reference it is tested against."""
from __future__ import annotations

from datetime import date, datetime, time

from engine.domain.calendar.working import VN_TZ, WorkingCalendar


class WorkingTimeline:
    """Working time elapsed since an origin day, per instant, for one calendar, so the
    working time between a and b is `at(b) - at(a)` (working time is additive).

    Which days work and how long each works is asked of the calendar once per day; an
    instant then costs one dictionary look-up and a walk over the day's sessions.
    tests/test_statistics.py checks it against `WorkingCalendar.working_time_between`.
    """

    def __init__(self, calendar: WorkingCalendar) -> None:
        self.calendar = calendar
        self._sessions = tuple((time_of_day_us(s.start), time_of_day_us(s.end)) for s in calendar.sessions)
        # local day ordinal -> (working µs from the origin to the day's midnight, works that day?)
        self._days: dict[int, tuple[int, bool]] = {}
        self._lo: int | None = None
        self._hi: int | None = None

    def at(self, instant: datetime) -> int:
        """Working microseconds from the origin to `instant`."""
        local = instant.astimezone(VN_TZ)
        day = self._days.get(local.toordinal()) or self._extend(local.toordinal())
        before, working = day
        if not working:
            return before
        tod = ((local.hour * 60 + local.minute) * 60 + local.second) * 1_000_000 + local.microsecond
        for start, end in self._sessions:
            if tod <= start:
                break
            before += (tod if tod < end else end) - start
        return before

    def day(self, ordinal: int) -> tuple[int, bool]:
        """(working µs from the origin to the local midnight starting day `ordinal`, is it a working day?)"""
        return self._days.get(ordinal) or self._extend(ordinal)

    def _extend(self, ordinal: int) -> tuple[int, bool]:
        if self._lo is None or self._hi is None:
            self._lo = self._hi = ordinal
            self._days[ordinal] = (0, self._works(ordinal))
        while self._hi < ordinal:
            before, working = self._days[self._hi]
            self._hi += 1
            self._days[self._hi] = (before + self._length(working), self._works(self._hi))
        while self._lo > ordinal:
            self._lo -= 1
            working = self._works(self._lo)
            self._days[self._lo] = (self._days[self._lo + 1][0] - self._length(working), working)
        return self._days[ordinal]

    def _works(self, ordinal: int) -> bool:
        return self.calendar.is_working_day(date.fromordinal(ordinal))

    def _length(self, working: bool) -> int:
        return sum(end - start for start, end in self._sessions) if working else 0


def time_of_day_us(t: time) -> int:
    return ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond
