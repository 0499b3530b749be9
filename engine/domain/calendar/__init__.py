"""Legal working time (docs/domain.md §4): sessions, holidays and overrides, limits, pauses,
classification. The one place the product counts time; everything else calls this."""
from engine.domain.calendar.holidays_vn import PACKAGE_SOURCE, public_holidays
from engine.domain.calendar.limits import (
    MAX_CALENDAR_DAYS,
    MAX_WORKING_TIME,
    WORKING_DAY,
    CalendarDaysLimit,
    SameDayLimit,
    TimeLimit,
    WorkingTimeLimit,
    format_working_duration,
    parse_limit,
    parse_working_duration,
)
from engine.domain.calendar.overrides import (
    OVERRIDE_KINDS,
    AuditEntry,
    CalendarOverrides,
    OverrideKind,
    OverrideStore,
    apply_change,
)
from engine.domain.calendar.working import (
    DEFAULT_SAME_DAY_CUTOFF,
    DEFAULT_SESSIONS,
    VN_TZ,
    CalendarDay,
    Pause,
    WorkingCalendar,
    WorkingSession,
    check_pauses,
)

__all__ = [
    "PACKAGE_SOURCE", "public_holidays",
    "MAX_CALENDAR_DAYS", "MAX_WORKING_TIME", "WORKING_DAY", "CalendarDaysLimit", "SameDayLimit", "TimeLimit",
    "WorkingTimeLimit", "format_working_duration", "parse_limit", "parse_working_duration",
    "OVERRIDE_KINDS", "AuditEntry", "CalendarOverrides",
    "OverrideKind", "OverrideStore", "apply_change",
    "DEFAULT_SAME_DAY_CUTOFF", "DEFAULT_SESSIONS", "VN_TZ", "CalendarDay", "Pause", "WorkingCalendar",
    "WorkingSession", "check_pauses",
]
