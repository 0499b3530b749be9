"""The working calendar: the one place legal time is counted (docs/domain.md §4).

Internally every instant is a local (Asia/Ho_Chi_Minh) date plus microseconds since
local midnight; Vietnam has had no daylight saving time since 1975, so wall-clock
arithmetic is exact. Whole days are skipped in one step each and sessions in one step
each, so a 20-working-day limit costs a few dozen dictionary look-ups.
"""
from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Iterable, Literal, Sequence
from zoneinfo import ZoneInfo

from engine.domain.calendar.holidays_vn import PACKAGE_SOURCE, package_makeup_days, public_holidays
from engine.domain.calendar.limits import (
    MAX_WORKING_TIME,
    CalendarDaysLimit,
    SameDayLimit,
    TimeLimit,
    WorkingTimeLimit,
)
from engine.domain.calendar.overrides import CalendarOverrides
from engine.errors import InvalidInput, Problem

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
# Instants outside these years are refused: the legal rules here start in the 1990s, and
# the bound keeps every loop finite and away from datetime overflow.
MIN_YEAR, MAX_YEAR = 1990, 2199
# The most working time add_working_time accepts in one call (limits plus long pauses).
MAX_ADD = 10 * MAX_WORKING_TIME
OVERRIDE_SOURCE = "override"

_ONE_DAY = timedelta(days=1)
_US = timedelta(microseconds=1)


def _day_of_year(d: date) -> int:
    """0 for the 1st of January."""
    return d.toordinal() - date(d.year, 1, 1).toordinal()


def _time_us(t: time) -> int:
    return ((t.hour * 60 + t.minute) * 60 + t.second) * 1_000_000 + t.microsecond


@dataclass(frozen=True)
class WorkingSession:
    """A working session within a day, e.g. 07:00-11:30."""

    start: time
    end: time

    def __post_init__(self) -> None:
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise ValueError("session times are local wall-clock times without a time zone")
        if not self.start < self.end:
            raise InvalidInput(
                f"sessions: session {self.start:%H:%M}-{self.end:%H:%M} ends before it starts",
                f"sessions: phiên làm việc {self.start:%H:%M}-{self.end:%H:%M} kết thúc trước khi bắt đầu",
                hint="Write sessions as HH:MM-HH:MM with start before end, e.g. 07:00-11:30.",
            )

    @property
    def length(self) -> timedelta:
        return timedelta(microseconds=_time_us(self.end) - _time_us(self.start))


DEFAULT_SESSIONS: tuple[WorkingSession, ...] = (
    WorkingSession(time(7, 0), time(11, 30)),
    WorkingSession(time(13, 30), time(17, 0)),
)
DEFAULT_SAME_DAY_CUTOFF = time(15, 0)


@dataclass(frozen=True)
class Pause:
    """An interval that does not count (citizen supplementing, financial obligation)."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class CalendarDay:
    """A date that differs from the plain Monday-Friday rule, or a holiday, with its source."""

    day: date
    kind: Literal["holiday", "day_off", "makeup_day", "cancelled_holiday"]
    working: bool
    source: str
    name: str


Classification = Literal["early", "on_time", "late"]
OpenClassification = Literal["within_limit", "overdue"]


class WorkingCalendar:
    """Working days, sessions and limits for one org unit.

    Inputs are aware datetimes in any zone; outputs are aware datetimes in VN_TZ.
    """

    def __init__(
        self,
        sessions: Sequence[WorkingSession] = DEFAULT_SESSIONS,
        overrides: CalendarOverrides | None = None,
        same_day_cutoff: time = DEFAULT_SAME_DAY_CUTOFF,
    ) -> None:
        ordered = tuple(sorted(sessions, key=lambda s: s.start))
        if not ordered:
            raise InvalidInput(
                "sessions: at least one working session is required",
                "sessions: cần ít nhất một phiên làm việc",
                hint="The default is 07:00-11:30 and 13:30-17:00.",
            )
        for earlier, later in zip(ordered, ordered[1:]):
            if later.start < earlier.end:
                raise InvalidInput(
                    f"sessions: {earlier.start:%H:%M}-{earlier.end:%H:%M} and {later.start:%H:%M}-{later.end:%H:%M} overlap",
                    f"sessions: hai phiên {earlier.start:%H:%M}-{earlier.end:%H:%M} và {later.start:%H:%M}-{later.end:%H:%M} chồng nhau",
                    hint="Sessions must not overlap.",
                )
        self.sessions = ordered
        self.overrides = overrides or CalendarOverrides()
        self.same_day_cutoff = same_day_cutoff
        self._sessions_us = tuple((_time_us(s.start), _time_us(s.end)) for s in ordered)
        self._day_us = sum(e - s for s, e in self._sessions_us)
        self._close_us = self._sessions_us[-1][1]
        self._working: dict[date, bool] = {}
        self._years_loaded: set[int] = set()
        self._counts: dict[int, tuple[int, ...]] = {}

    @property
    def day_length(self) -> timedelta:
        """Working time in one working day (8 h with the default sessions)."""
        return timedelta(microseconds=self._day_us)

    # ----- days ---------------------------------------------------------------------------

    def _load_year(self, year: int) -> None:
        """Fill the per-date cache for the exceptions of one year; other dates follow Mon-Fri.

        Built aside and merged in one step: calendars are shared between threads
        (engine.services.calendars), and a reader must never see a half-applied year."""
        ov = self.overrides
        days: dict[date, bool] = {}
        for d in public_holidays(year):
            days[d] = d in ov.cancelled_holidays and d.weekday() < 5
        for d in package_makeup_days(year):
            days.setdefault(d, True)
        for d in ov.cancelled_holidays:
            if d.year == year and d not in public_holidays(year):
                days[d] = d.weekday() < 5
        for d in ov.makeup_days:
            if d.year == year:
                days[d] = True
        for d in ov.days_off:
            if d.year == year:
                days[d] = False
        self._working.update(days)
        self._years_loaded.add(year)

    def is_working_day(self, d: date) -> bool:
        if isinstance(d, datetime):
            raise TypeError("is_working_day takes a date; convert instants with .astimezone(VN_TZ).date()")
        if d.year not in self._years_loaded:
            self._load_year(d.year)
        working = self._working.get(d)
        if working is None:
            return d.weekday() < 5
        return working

    def _year_counts(self, year: int) -> tuple[int, ...]:
        """counts[i]: the working days among the year's first i days. Built aside and
        stored in one step, like `_load_year` (calendars are shared between threads)."""
        counts = self._counts.get(year)
        if counts is None:
            first = date(year, 1, 1)
            running, built = 0, [0]
            for i in range((date(year + 1, 1, 1) - first).days):
                running += self.is_working_day(first + timedelta(days=i))
                built.append(running)
            counts = self._counts[year] = tuple(built)
        return counts

    def working_days_in(self, first: date, end: date) -> int:
        """The number of working days d with first <= d < end (0 when end <= first):
        years' running counts instead of a walk over the days, so spans of years cost
        what a week does (the scheduler measures steps opened long ago)."""
        if end <= first:
            return 0
        start_counts = self._year_counts(first.year)
        if first.year == end.year:
            return self._year_counts(end.year)[_day_of_year(end)] - start_counts[_day_of_year(first)]
        total = start_counts[-1] - start_counts[_day_of_year(first)]
        for year in range(first.year + 1, end.year):
            total += self._year_counts(year)[-1]
        return total + self._year_counts(end.year)[_day_of_year(end)]

    def _nth_working_day(self, d: date, n: int) -> date:
        """The n-th working day (n >= 1) counting from d itself."""
        year = d.year
        counts = self._year_counts(year)
        target = counts[_day_of_year(d)] + n
        while target > counts[-1]:  # not within this year: go on from the next one
            target -= counts[-1]
            year += 1
            counts = self._year_counts(year)
        return date(year, 1, 1) + timedelta(days=bisect_left(counts, target) - 1)

    def public_holiday_name(self, d: date) -> str | None:
        """The holiday package's name for `d`, or None (ignores overrides)."""
        return public_holidays(d.year).get(d)

    def calendar_days(self, year: int) -> list[CalendarDay]:
        """Every exception of the year with its source: holidays, extra days off,
        make-up days and cancelled holidays. Ordinary weekends are not listed."""
        ov = self.overrides
        out: list[CalendarDay] = []
        for d, name in public_holidays(year).items():
            if d in ov.cancelled_holidays:
                out.append(CalendarDay(d, "cancelled_holiday", self.is_working_day(d), OVERRIDE_SOURCE,
                                       f"{name} — {ov.cancelled_holidays[d]}"))
            else:
                out.append(CalendarDay(d, "holiday", self.is_working_day(d), PACKAGE_SOURCE, name))
        for d, swap in package_makeup_days(year).items():
            if d not in ov.days_off and d not in ov.makeup_days:
                out.append(CalendarDay(d, "makeup_day", True, PACKAGE_SOURCE,
                                       f"Ngày làm bù cho ngày {swap.swapped_for:%d/%m/%Y}"))
        for d, reason in ov.makeup_days.items():
            if d.year == year:
                out.append(CalendarDay(d, "makeup_day", True, OVERRIDE_SOURCE, reason))
        for d, reason in ov.days_off.items():
            if d.year == year:
                out.append(CalendarDay(d, "day_off", False, OVERRIDE_SOURCE, reason))
        for d, reason in ov.cancelled_holidays.items():
            if d.year == year and d not in public_holidays(year):
                out.append(CalendarDay(d, "cancelled_holiday", self.is_working_day(d), OVERRIDE_SOURCE, reason))
        kinds = {"holiday": 0, "cancelled_holiday": 1, "day_off": 2, "makeup_day": 3}
        return sorted(out, key=lambda c: (c.day, kinds[c.kind]))

    def non_working_days(self, year: int) -> list[CalendarDay]:
        """Holidays and extra days off of the year (ordinary weekends not listed)."""
        return [c for c in self.calendar_days(year) if not c.working and c.kind in ("holiday", "day_off")]

    def makeup_days(self, year: int) -> list[CalendarDay]:
        return [c for c in self.calendar_days(year) if c.kind == "makeup_day" and self.is_working_day(c.day)]

    # ----- instants -----------------------------------------------------------------------

    @staticmethod
    def _local(t: datetime, what: str) -> tuple[date, int]:
        if not isinstance(t, datetime):
            raise TypeError(f"{what} must be a datetime, not {type(t).__name__}")
        if t.tzinfo is None or t.utcoffset() is None:
            raise InvalidInput(
                f"{what}: instant {t.isoformat()} has no time zone",
                f"{what}: thời điểm {t.isoformat()} thiếu múi giờ",
                hint="Pass an aware datetime; read user input in Asia/Ho_Chi_Minh at the edge.",
                problems=[Problem("naive_datetime", "Thiếu múi giờ.", "Missing time zone.", field=what)],
            )
        try:
            local = t.astimezone(VN_TZ)
        except OverflowError:
            local = None
        if local is None or not MIN_YEAR <= local.year <= MAX_YEAR:
            raise InvalidInput(
                f"{what}: instant {t.isoformat()} is outside the supported years {MIN_YEAR}-{MAX_YEAR}",
                f"{what}: thời điểm {t.isoformat()} nằm ngoài khoảng năm hỗ trợ {MIN_YEAR}-{MAX_YEAR}",
                hint="Check the year.",
                problems=[Problem("instant_out_of_range", "Năm không hợp lệ.", "Year out of range.", field=what)],
            )
        return local.date(), _time_us(local.time())

    @staticmethod
    def _instant(d: date, us: int) -> datetime:
        return datetime.combine(d, time(), tzinfo=VN_TZ) + timedelta(microseconds=us)

    def next_working_instant(self, t: datetime) -> datetime:
        """`t` itself if it lies inside a session (a close counts as outside), else the
        start of the next session."""
        return self.add_working_time(t, timedelta(0))

    def add_working_time(self, start: datetime, amount: timedelta) -> datetime:
        """The instant at which `amount` of working time, counted from `start` (or the next
        working instant), is used up. Ending exactly at a close returns the close."""
        if amount < timedelta(0):
            raise InvalidInput(
                "amount: working time to add cannot be negative",
                "amount: thời gian làm việc cộng thêm không được âm",
                hint="Use working_time_between to measure backwards.",
            )
        if amount > MAX_ADD:
            raise InvalidInput(
                f"amount: {amount} of working time is beyond the supported maximum",
                f"amount: thời gian làm việc {amount} vượt quá mức tối đa",
                hint="Check the limit and the pauses.",
            )
        d, tod = self._local(start, "start")
        remaining = amount // _US
        day_us = self._day_us
        first = True
        while True:
            if not first and remaining > day_us:
                # Jump over whole working days (all but the last, which is walked session
                # by session): the day after the last one used up.
                whole_days = -(-remaining // day_us) - 1
                remaining -= whole_days * day_us
                d = self._nth_working_day(d, whole_days) + _ONE_DAY
            if self.is_working_day(d):
                for s, e in self._sessions_us:
                    if e <= tod:
                        continue
                    begin = s if s > tod else tod
                    available = e - begin
                    if remaining <= available:
                        return self._instant(d, begin + remaining)
                    remaining -= available
            d += _ONE_DAY
            tod = 0
            first = False

    def _day_overlap_us(self, d: date, lo: int, hi: int) -> int:
        """Working microseconds of day `d` between local times lo and hi."""
        if hi <= lo or not self.is_working_day(d):
            return 0
        total = 0
        for s, e in self._sessions_us:
            a = s if s > lo else lo
            b = e if e < hi else hi
            if b > a:
                total += b - a
        return total

    def working_time_between(self, a: datetime, b: datetime) -> timedelta:
        """Working time inside [a, b]; negative when b is before a."""
        da, ta = self._local(a, "a")
        db, tb = self._local(b, "b")
        if (db, tb) < (da, ta):
            return -self.working_time_between(b, a)
        if da == db:
            return timedelta(microseconds=self._day_overlap_us(da, ta, tb))
        end_of_day = 24 * 3600 * 1_000_000
        total = self._day_overlap_us(da, ta, end_of_day) + self._day_overlap_us(db, 0, tb)
        full_days = self.working_days_in(da + _ONE_DAY, db)
        return timedelta(microseconds=total + full_days * self._day_us)

    def close_of(self, d: date) -> datetime:
        """The end of the last session of day `d`."""
        return self._instant(d, self._close_us)

    def next_working_day(self, d: date, *, include: bool = True) -> date:
        """`d` if it is a working day (and include), else the next working day."""
        if not include:
            d += _ONE_DAY
        while not self.is_working_day(d):
            d += _ONE_DAY
        return d

    # ----- limits -------------------------------------------------------------------------

    def due(self, start: datetime, limit: TimeLimit, pauses: Iterable[Pause] = ()) -> datetime:
        """The due instant of `limit` received at `start`, moved by the paused working time."""
        ordered = check_pauses(pauses)
        if isinstance(limit, WorkingTimeLimit):
            due = self.add_working_time(start, limit.amount)
        elif isinstance(limit, SameDayLimit):
            cutoff = _time_us(limit.cutoff or self.same_day_cutoff)
            d, tod = self._local(start, "start")
            if self.is_working_day(d) and tod < cutoff and tod < self._close_us:
                due = self.close_of(d)
            else:
                due = self.close_of(self.next_working_day(d, include=False))
        elif isinstance(limit, CalendarDaysLimit):
            if limit.days < 1:
                raise InvalidInput(
                    "limit: a calendar-day limit is at least one day",
                    "limit: thời hạn theo ngày lịch tối thiểu là một ngày",
                    hint="Use same-day for limits within the day.",
                )
            d, _ = self._local(start, "start")
            due = self.close_of(self.next_working_day(d + timedelta(days=limit.days)))
        else:
            raise TypeError(f"unknown limit {limit!r}")
        # Each pause that starts before the (already extended) due instant pushes it by
        # the working time it covers after the receipt. Working time is additive, so this
        # equals counting the limit while skipping the pauses.
        for pause in ordered:
            begin = max(pause.start, start)
            if begin >= due:
                break
            paused = self.working_time_between(begin, pause.end)
            if paused > timedelta(0):
                due = self.add_working_time(due, paused)
        return due

    # ----- classification -----------------------------------------------------------------

    def classify_finished(self, due: datetime, finished: datetime) -> Classification:
        """early: finished on a day before the due date; on_time: on the due day and not
        after the due instant; late: after the due instant."""
        due_day, _ = self._local(due, "due")
        finished_day, _ = self._local(finished, "finished")
        if finished > due:
            return "late"
        if finished_day < due_day:
            return "early"
        return "on_time"

    def classify_open(self, due: datetime, at: datetime) -> OpenClassification:
        self._local(due, "due")
        self._local(at, "at")
        return "overdue" if at > due else "within_limit"


def check_pauses(pauses: Iterable[Pause]) -> list[Pause]:
    """Pauses sorted by start; inverted, empty, naive or overlapping ones are refused."""
    ordered = sorted(pauses, key=lambda p: p.start)
    problems: list[Problem] = []
    for i, p in enumerate(ordered):
        for t in (p.start, p.end):
            if t.tzinfo is None or t.utcoffset() is None:
                problems.append(Problem("naive_datetime", "Khoảng tạm dừng thiếu múi giờ.", "A pause instant has no time zone.",
                                        hint="Pass aware datetimes.", field="pause"))
                return _raise_pauses(problems)
        if not p.start < p.end:
            problems.append(Problem(
                "inverted_pause",
                f"Khoảng tạm dừng {p.start.isoformat()}/{p.end.isoformat()} kết thúc không sau khi bắt đầu.",
                f"Pause {p.start.isoformat()}/{p.end.isoformat()} does not end after it starts.",
                hint="Write START/END with END later than START.", field="pause"))
        if i and p.start < ordered[i - 1].end:
            prev = ordered[i - 1]
            problems.append(Problem(
                "overlapping_pauses",
                f"Khoảng tạm dừng {p.start.isoformat()}/{p.end.isoformat()} chồng lên {prev.start.isoformat()}/{prev.end.isoformat()}.",
                f"Pause {p.start.isoformat()}/{p.end.isoformat()} overlaps {prev.start.isoformat()}/{prev.end.isoformat()}.",
                hint="Merge overlapping pauses into one interval.", field="pause"))
    if problems:
        _raise_pauses(problems)
    return ordered


def _raise_pauses(problems: list[Problem]) -> list[Pause]:
    first = problems[0]
    hint = first.hint
    problems = [Problem(p.code, p.message_vi, p.message_en, field=p.field) for p in problems]
    raise InvalidInput(f"pause: {first.message_en}", f"pause: {first.message_vi}", hint=hint, problems=problems)
