"""How documents write dates, times, durations and limits (Vietnamese administrative style).

Dates are dd/mm/yyyy and times HH:MM, both on the Asia/Ho_Chi_Minh wall clock; working
time is written in days of 8 working hours, as procedures state it ("0,5 ngày làm việc").
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from engine.domain.calendar import VN_TZ, WORKING_DAY, CalendarDaysLimit, SameDayLimit, parse_limit

_EN = {"days": "working day(s)", "hours": "hour(s)", "minutes": "minute(s)"}


def local(instant: datetime) -> datetime:
    if instant.tzinfo is None:
        raise ValueError("documents print timezone-aware instants only")
    return instant.astimezone(VN_TZ)


def format_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = local(value).date()
    return f"{value:%d/%m/%Y}"


def format_time(value: datetime | None) -> str:
    return "" if value is None else f"{local(value):%H:%M}"


def format_datetime(value: datetime | None) -> str:
    """`10:00 ngày 03/03/2026`: the way slips state an appointment."""
    if value is None:
        return ""
    return f"{format_time(value)} ngày {format_date(value)}"


def _decimal_vi(value: Decimal) -> str:
    text = f"{value.normalize():f}"
    return text.replace(".", ",")


def format_duration(amount: timedelta, lang: str = "vi") -> str:
    """Working time for people: `15 phút`, `2 giờ`, `0,5 ngày làm việc`, `1 ngày làm việc 2 giờ`.

    Whole and half days are written as days (how limits are stated); the rest in hours
    and minutes.
    """
    seconds = int(amount.total_seconds())
    if seconds <= 0:
        return "0 phút" if lang == "vi" else "0 minutes"
    day = int(WORKING_DAY.total_seconds())
    half_days, rest = divmod(seconds, day // 2)
    parts: list[str] = []
    if half_days:
        days = Decimal(half_days) / 2
        parts.append(f"{_decimal_vi(days)} ngày làm việc" if lang == "vi" else f"{days.normalize():f} {_EN['days']}")
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if hours:
        parts.append(f"{hours} giờ" if lang == "vi" else f"{hours} {_EN['hours']}")
    if minutes:
        parts.append(f"{minutes} phút" if lang == "vi" else f"{minutes} {_EN['minutes']}")
    return " ".join(parts)


def format_limit(text: str, basis: str = "working", lang: str = "vi", *, short: bool = False) -> str:
    """A statutory limit as a citizen reads it on the posting sheet and the procedure document."""
    limit = parse_limit(text, basis)  # type: ignore[arg-type]
    if isinstance(limit, SameDayLimit):
        if short:
            return "Trong ngày (nhận sau 15 giờ: trả ngày làm việc tiếp theo)" if lang == "vi" else "Same day"
        if lang == "vi":
            return "Trong ngày làm việc (hồ sơ tiếp nhận sau 15 giờ thì trả kết quả trong ngày làm việc tiếp theo)"
        return "Same working day (received after 15:00: the next working day)"
    if isinstance(limit, CalendarDaysLimit):
        return f"{limit.days:02d} ngày" if lang == "vi" else f"{limit.days} calendar days"
    amount = limit.amount
    if amount % WORKING_DAY == timedelta(0):
        days = amount // WORKING_DAY
        return f"{days:02d} ngày làm việc" if lang == "vi" else f"{days} working days"
    return format_duration(amount, lang)


def format_fee(text: str | None) -> str:
    """A fee as posted: nothing or zero reads "Không"."""
    cleaned = (text or "").strip()
    return "Không" if cleaned in ("", "0", "0đ", "0 đ", "0 đồng") else cleaned


def revision_label(number: int | str | None) -> str:
    if number is None or number == "":
        return ""
    try:
        return f"{int(number):02d}"
    except (TypeError, ValueError):
        return str(number)


def format_long_date(value: date | datetime | None) -> str:
    """`ngày 03 tháng 03 năm 2026`, as the place-and-date line of a letter writes it."""
    if value is None:
        return "ngày ..... tháng ..... năm ........"
    if isinstance(value, datetime):
        value = local(value).date()
    return f"ngày {value:%d} tháng {value:%m} năm {value:%Y}"


_UNIT_KINDS = ("xã ", "phường ", "thị trấn ", "đặc khu ")


def place_name(unit_name: str) -> str:
    """`Xã Tri Phú` -> `Tri Phú`: the place a commune's letters are dated from."""
    for kind in _UNIT_KINDS:
        if unit_name.lower().startswith(kind):
            return unit_name[len(kind):].strip()
    return unit_name
