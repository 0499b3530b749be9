"""Vietnamese public holidays from the PyPI `holidays` package (country VN, any year).

The package computes the lunar holidays (Tết, Hùng Kings), observed days, and the
government's day swaps it knows of: a swapped bridge day is listed as a holiday, and
the Saturday worked in exchange is kept in `VietnamStaticHolidays` (not in the holiday
list). We read those pairs so the make-up Saturday counts as a working day too.
What the package gets wrong or does not know yet is fixed with overrides (overrides.py).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from types import MappingProxyType
from typing import Mapping

import holidays

PACKAGE_SOURCE = f"holidays {holidays.__version__}"


@dataclass(frozen=True)
class PackageMakeupDay:
    day: date
    swapped_for: date  # the weekday given off in exchange


_lock = threading.Lock()


@lru_cache(maxsize=512)
def public_holidays(year: int) -> Mapping[date, str]:
    """Date -> Vietnamese name of every public holiday (incl. observed and swapped days)."""
    with _lock:  # the package fills its dict lazily; keep it to one thread at a time
        table = holidays.country_holidays("VN", years=year, language="vi")
        return MappingProxyType({d: name for d, name in sorted(table.items()) if d.year == year})


@lru_cache(maxsize=1)
def _package_swaps() -> dict[date, PackageMakeupDay]:
    """Make-up days the package records as (holiday given, Saturday worked) pairs.

    The data lives in `VietnamStaticHolidays.special_public_holidays`, by year:
    `(month, day, from_month, from_day[, from_year])` or a tuple of those. Entries of
    another shape (plain special holidays) are not swaps and are skipped.
    """
    try:
        from holidays.countries.vietnam import VietnamStaticHolidays
    except ImportError:  # pragma: no cover - a future layout; overrides still work
        return {}
    out: dict[date, PackageMakeupDay] = {}
    for year, value in getattr(VietnamStaticHolidays, "special_public_holidays", {}).items():
        entries = value if value and isinstance(value[0], tuple) else (value,)
        for entry in entries:
            if len(entry) not in (4, 5) or not all(isinstance(x, int) for x in entry):
                continue
            month, day, from_month, from_day = entry[:4]
            from_year = entry[4] if len(entry) == 5 else year
            worked = date(from_year, from_month, from_day)
            out[worked] = PackageMakeupDay(worked, date(year, month, day))
    return out


def package_makeup_days(year: int) -> dict[date, PackageMakeupDay]:
    return {d: m for d, m in _package_swaps().items() if d.year == year}
