"""Report periods (docs/domain.md §7): a month, a quarter, the first 6 or 9 months, a
year or a custom range of dates, as local dates in Asia/Ho_Chi_Minh. One parser for every
report that names a period (the statistics, the quality objectives, the management review)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from engine.domain.calendar import VN_TZ
from engine.errors import InvalidInput, Problem

PERIOD_FORMS_HINT = (
    "Accepted forms / các dạng hợp lệ: 2026-03 (month / tháng), 2026-Q1 (quarter / quý, Q1-Q4), "
    "2026-H1 or 2026-6M (first 6 months / 6 tháng đầu năm), 2026-9M (first 9 months / 9 tháng), "
    "2026 (year / năm), 2026-03-05..2026-04-10 (custom range of dates / khoảng ngày tùy chọn)."
)
PeriodKind = Literal["month", "quarter", "six_months", "nine_months", "year", "custom"]
MAX_CUSTOM_DAYS = 3 * 366  # a custom range longer than three years is a typo, not a report
_ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}
_PERIOD_RE = re.compile(r"(?P<year>\d{4})(?:-(?:(?P<month>\d{1,2})|Q(?P<quarter>\d)|(?P<half>H1|6M)|(?P<nine>9M)))?")
MIN_PERIOD_YEAR, MAX_PERIOD_YEAR = 2000, 2199


@dataclass(frozen=True)
class Period:
    """Local dates in Asia/Ho_Chi_Minh, `end` inclusive."""

    start: date
    end: date
    label: str
    kind: PeriodKind

    @property
    def start_instant(self) -> datetime:
        return datetime.combine(self.start, time(), tzinfo=VN_TZ)

    @property
    def end_instant(self) -> datetime:
        """Midnight after the last day (exclusive bound)."""
        return datetime.combine(self.end + timedelta(days=1), time(), tzinfo=VN_TZ)

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "label": self.label, "kind": self.kind}


def parse_period(text: str) -> Period:
    """`2026-03`, `2026-Q1`, `2026-H1` / `2026-6M`, `2026-9M`, `2026` or a custom range of
    dates `2026-03-05..2026-04-10` (both days included)."""
    raw = text if isinstance(text, str) else ""
    if ".." in raw:
        return _custom_period(text, raw)
    m = _PERIOD_RE.fullmatch(raw.strip().upper())
    if m is None:
        raise _bad_period(text, "is not a period", "không phải kỳ báo cáo hợp lệ")
    year = int(m["year"])
    if not MIN_PERIOD_YEAR <= year <= MAX_PERIOD_YEAR:
        raise _bad_period(text, f"year must be within {MIN_PERIOD_YEAR}-{MAX_PERIOD_YEAR}",
                          f"năm phải trong khoảng {MIN_PERIOD_YEAR}-{MAX_PERIOD_YEAR}")
    if m["month"]:
        month = int(m["month"])
        if not 1 <= month <= 12:
            raise _bad_period(text, "month must be 01-12", "tháng phải từ 01 đến 12")
        return Period(date(year, month, 1), _month_end(year, month), f"Tháng {month:02d}/{year}", "month")
    if m["quarter"]:
        quarter = int(m["quarter"])
        if not 1 <= quarter <= 4:
            raise _bad_period(text, "quarter must be Q1-Q4", "quý phải từ Q1 đến Q4")
        first = 3 * quarter - 2
        return Period(date(year, first, 1), _month_end(year, first + 2), f"Quý {_ROMAN[quarter]}/{year}", "quarter")
    if m["half"]:
        return Period(date(year, 1, 1), date(year, 6, 30), f"6 tháng đầu năm {year}", "six_months")
    if m["nine"]:
        return Period(date(year, 1, 1), date(year, 9, 30), f"9 tháng đầu năm {year}", "nine_months")
    return Period(date(year, 1, 1), date(year, 12, 31), f"Năm {year}", "year")


def _custom_period(text: str, raw: str) -> Period:
    first, _, last = raw.strip().partition("..")
    try:
        start, end = date.fromisoformat(first.strip()), date.fromisoformat(last.strip())
    except ValueError:
        raise _bad_period(text, "dates must be written YYYY-MM-DD..YYYY-MM-DD",
                          "ngày phải viết dạng YYYY-MM-DD..YYYY-MM-DD") from None
    if end < start:
        raise _bad_period(text, "the range ends before it starts", "ngày kết thúc trước ngày bắt đầu")
    if not (MIN_PERIOD_YEAR <= start.year and end.year <= MAX_PERIOD_YEAR):
        raise _bad_period(text, f"years must be within {MIN_PERIOD_YEAR}-{MAX_PERIOD_YEAR}",
                          f"năm phải trong khoảng {MIN_PERIOD_YEAR}-{MAX_PERIOD_YEAR}")
    if (end - start).days >= MAX_CUSTOM_DAYS:
        raise _bad_period(text, f"a custom range covers at most {MAX_CUSTOM_DAYS} days",
                          f"khoảng ngày tùy chọn dài tối đa {MAX_CUSTOM_DAYS} ngày")
    return Period(start, end, f"Từ {start:%d/%m/%Y} đến {end:%d/%m/%Y}", "custom")


def period_label(period: Period, language: str = "vi") -> str:
    """The period's name for a reader: `period.label` in Vietnamese, or in English."""
    if language != "en":
        return period.label
    start, end = period.start, period.end
    return {"month": f"Month {start:%m/%Y}", "quarter": f"Quarter {_ROMAN[(start.month + 2) // 3]}/{start.year}",
            "six_months": f"First 6 months of {start.year}", "nine_months": f"First 9 months of {start.year}",
            "year": f"Year {start.year}"}.get(period.kind, f"From {start:%d/%m/%Y} to {end:%d/%m/%Y}")


def period_text(period: Period) -> str:
    """The text `parse_period` reads back into `period` (for links and trends)."""
    if period.kind == "month":
        return f"{period.start:%Y-%m}"
    if period.kind == "quarter":
        return f"{period.start.year}-Q{(period.start.month + 2) // 3}"
    if period.kind == "six_months":
        return f"{period.start.year}-6M"
    if period.kind == "nine_months":
        return f"{period.start.year}-9M"
    if period.kind == "year":
        return str(period.start.year)
    return f"{period.start.isoformat()}..{period.end.isoformat()}"


def previous_periods(period: Period, count: int) -> list[Period]:
    """`count` periods of the same kind ending with `period`, oldest first: months
    before a month, quarters before a quarter, the same span of past years for 6 and 9
    months and years, ranges of the same length before a custom range."""
    out = [period]
    current = period
    while len(out) < count:
        if current.kind == "month":
            y, m = (current.start.year, current.start.month - 1) if current.start.month > 1 else (current.start.year - 1, 12)
            current = parse_period(f"{y}-{m:02d}")
        elif current.kind == "quarter":
            q = (current.start.month + 2) // 3
            current = parse_period(f"{current.start.year}-Q{q - 1}" if q > 1 else f"{current.start.year - 1}-Q4")
        elif current.kind == "custom":
            length = current.end - current.start
            end = current.start - timedelta(days=1)
            current = Period(end - length, end, f"Từ {end - length:%d/%m/%Y} đến {end:%d/%m/%Y}", "custom")
        else:
            current = parse_period(period_text(current).replace(str(current.start.year), str(current.start.year - 1), 1))
        if current.start.year < MIN_PERIOD_YEAR:
            break
        out.append(current)
    return out[::-1]


def _month_end(year: int, month: int) -> date:
    return (date(year + month // 12, month % 12 + 1, 1)) - timedelta(days=1)


def _bad_period(text: Any, en: str, vi: str) -> InvalidInput:
    return InvalidInput(
        f"period: {text!r} {en}",
        f"period: {text!r} {vi}",
        code="bad_period",
        hint=PERIOD_FORMS_HINT,
        problems=[Problem("bad_period", f"Kỳ báo cáo {text!r}: {vi}.", f"Period {text!r}: {en}.", field="period")],
    )
