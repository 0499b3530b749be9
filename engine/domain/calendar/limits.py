"""Time limits as procedures state them: working time (`P3D`, `P0.5D`, `PT4H`), same day
(15:00 rule) and calendar days (`P30D` counted on the calendar). docs/domain.md §4.

One working day is 8 working hours, so `P0.5D` == `PT4H` and `P1DT2H` == 10 working hours.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Literal, Union

from engine.errors import InvalidInput, Problem

WORKING_DAY = timedelta(hours=8)

# Longest limit accepted: no statutory limit comes close to a year (the longest in
# docs/domain.md §9 are 60 calendar or 30 working days); a bigger value is a typo.
MAX_WORKING_TIME = 365 * WORKING_DAY
MAX_CALENDAR_DAYS = 730

SAME_DAY_WORDS = frozenset({"same-day", "same_day", "sameday", "trong-ngay", "trong ngày"})

_DURATION = re.compile(
    r"""^P(?!$)
        (?:(?P<days>\d+(?:[.,]\d+)?)D)?
        (?:T(?=\d)
            (?:(?P<hours>\d+(?:[.,]\d+)?)H)?
            (?:(?P<minutes>\d+(?:[.,]\d+)?)M)?
            (?:(?P<seconds>\d+(?:[.,]\d+)?)S)?
        )?$""",
    re.VERBOSE,
)
_UNIT_SECONDS = {"days": 8 * 3600, "hours": 3600, "minutes": 60, "seconds": 1}


@dataclass(frozen=True)
class WorkingTimeLimit:
    """A limit counted in working time (consumed only inside working sessions)."""

    amount: timedelta


@dataclass(frozen=True)
class SameDayLimit:
    """'Trong ngày; sau 15 giờ thì trả trong ngày làm việc tiếp theo'.
    `cutoff` None means the calendar's own cutoff (configurable per org unit)."""

    cutoff: time | None = None


@dataclass(frozen=True)
class CalendarDaysLimit:
    """'Không quá N ngày': last day = receipt date + N, moved to the next working day."""

    days: int


TimeLimit = Union[WorkingTimeLimit, SameDayLimit, CalendarDaysLimit]


def _bad(field: str, text: str, en: str, vi: str, hint: str) -> InvalidInput:
    return InvalidInput(
        f"{field}: {en} (got {text!r})",
        f"{field}: {vi} (nhận được {text!r})",
        hint=hint,
        problems=[Problem("invalid_time_limit", vi, en, field=field)],
    )


_DURATION_HINT = (
    "Write an ISO 8601 duration in working time: P3D (3 working days), P0.5D, PT4H, "
    "P1DT2H, PT30M; one working day is 8 working hours."
)


def parse_working_duration(text: str, *, field: str = "duration") -> timedelta:
    """Parse an ISO 8601 duration of working time; days are working days of 8 hours.

    Years, months and weeks are refused: they have no fixed length in working time.
    """
    raw = text
    cleaned = (text or "").strip().upper()
    if cleaned.startswith("-"):
        raise _bad(field, raw, "a time limit cannot be negative", "thời hạn không được âm", _DURATION_HINT)
    match = _DURATION.match(cleaned)
    if not match:
        if cleaned.startswith("P") and any(unit in cleaned.split("T")[0] for unit in "YMW"):
            raise _bad(
                field, raw,
                "years, months and weeks are not working-time units",
                "năm, tháng, tuần không phải đơn vị thời gian làm việc",
                "Count the limit in working days (P20D) or, for calendar days, use the calendar basis.",
            )
        raise _bad(field, raw, "not an ISO 8601 working-time duration", "không phải khoảng thời gian ISO 8601 hợp lệ", _DURATION_HINT)
    total = Decimal(0)
    try:
        for unit, seconds in _UNIT_SECONDS.items():
            value = match.group(unit)
            if value is not None:
                total += Decimal(value.replace(",", ".")) * seconds
    except InvalidOperation:  # pragma: no cover - the regex admits only digits
        raise _bad(field, raw, "not a number", "không phải là số", _DURATION_HINT) from None
    amount = timedelta(microseconds=int(total * 1_000_000))
    if amount > MAX_WORKING_TIME:
        raise _bad(
            field, raw,
            f"the limit exceeds the maximum of {MAX_WORKING_TIME // WORKING_DAY} working days",
            f"thời hạn vượt quá tối đa {MAX_WORKING_TIME // WORKING_DAY} ngày làm việc",
            "Check the number; statutory limits are far below a year.",
        )
    return amount


def parse_limit(text: str, basis: Literal["working", "calendar"] = "working", *, field: str = "limit") -> TimeLimit:
    """Parse a limit as written in a procedure model or on the command line.

    `same-day` gives SameDayLimit; with basis "calendar", `P30D` gives CalendarDaysLimit(30);
    otherwise a working-time duration (see parse_working_duration).
    """
    cleaned = (text or "").strip()
    if cleaned.lower() in SAME_DAY_WORDS:
        return SameDayLimit()
    if basis == "calendar":
        if cleaned.startswith("-"):
            raise _bad(field, text, "a time limit cannot be negative", "thời hạn không được âm", "Write P30D for 30 calendar days.")
        m = re.fullmatch(r"P(\d+)D", cleaned.upper())
        if not m:
            raise _bad(
                field, text,
                "a calendar-day limit is a whole number of days such as P30D",
                "thời hạn theo ngày lịch phải là số ngày nguyên, ví dụ P30D",
                "Write P30D for 30 calendar days; fractions and hours only make sense in working time.",
            )
        days = int(m.group(1))
        if days < 1:
            raise _bad(field, text, "a calendar-day limit is at least one day", "thời hạn theo ngày lịch tối thiểu là một ngày",
                       "Use same-day for limits within the day.")
        if days > MAX_CALENDAR_DAYS:
            raise _bad(
                field, text,
                f"the limit exceeds the maximum of {MAX_CALENDAR_DAYS} calendar days",
                f"thời hạn vượt quá tối đa {MAX_CALENDAR_DAYS} ngày lịch",
                "Check the number; statutory limits are far below two years.",
            )
        return CalendarDaysLimit(days)
    if basis != "working":
        raise ValueError(f"basis must be 'working' or 'calendar', not {basis!r}")
    return WorkingTimeLimit(parse_working_duration(cleaned, field=field))


def format_working_duration(amount: timedelta) -> str:
    """Render working time back as ISO 8601 (days of 8 hours), e.g. P1DT2H."""
    us = amount // timedelta(microseconds=1)
    sign = "-" if us < 0 else ""
    us = abs(us)
    day_us = WORKING_DAY // timedelta(microseconds=1)
    days, rest = divmod(us, day_us)
    hours, rest = divmod(rest, 3_600_000_000)
    minutes, rest = divmod(rest, 60_000_000)
    seconds = Decimal(rest) / Decimal(1_000_000)
    out = f"{sign}P{days}D" if days else f"{sign}P"
    time_part = ""
    if hours:
        time_part += f"{hours}H"
    if minutes:
        time_part += f"{minutes}M"
    if seconds:
        time_part += f"{seconds.normalize():f}S"
    if time_part:
        out += "T" + time_part
    if out in ("P", "-P"):
        out = "PT0S"
    return out
