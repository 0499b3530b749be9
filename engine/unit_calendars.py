"""The working calendar of an org unit as the database stores it: the overrides (the one
store of them: rows changed by `engine.services.calendars`) and each unit's sessions and
same-day cutoff. Read by use cases and views alike, in the caller's unit of work, and
cached by its runtime."""
from __future__ import annotations

from datetime import date, time
from typing import TYPE_CHECKING

from sqlalchemy import select

from engine.adapters.db.models import CalendarOverrideRow, Event, OrgUnit
from engine.adapters.db.revisions import CALENDAR
from engine.domain.calendar import (
    DEFAULT_SAME_DAY_CUTOFF,
    DEFAULT_SESSIONS,
    AuditEntry,
    CalendarOverrides,
    WorkingCalendar,
    WorkingSession,
)

if TYPE_CHECKING:
    from engine.adapters.db.dossier_store import UnitRecord
    from engine.runtime import Unit


_overrides = CalendarOverrideRow.__table__
_OVERRIDE_ROWS = select(_overrides.c.kind, _overrides.c.day, _overrides.c.reason).order_by(_overrides.c.day,
                                                                                         _overrides.c.kind)
_AUDIT = select(Event.after).where(Event.entity_type == "calendar_override").order_by(Event.id)


def audit_rows(unit: "Unit") -> list[AuditEntry]:
    """Every change of the overrides, oldest first."""
    return [AuditEntry.from_json(after["entry"]) for after in unit.connection.scalars(_AUDIT)]


def load_overrides(unit: "Unit") -> CalendarOverrides:
    """The stored overrides, read in the unit's transaction; cached by the runtime while
    the calendar's change token is unchanged."""
    return unit.runtime.reference.get(CALENDAR, "overrides", unit.setting_tokens, lambda: _overrides_of(
        tuple(tuple(row) for row in unit.connection.execute(_OVERRIDE_ROWS))))


def _overrides_of(rows: tuple[tuple[str, date, str], ...]) -> CalendarOverrides:
    maps: dict[str, dict[date, str]] = {"day_off": {}, "makeup_day": {}, "cancelled_holiday": {}}
    for kind, day, reason in rows:
        maps[kind][day] = reason
    return CalendarOverrides(maps["day_off"], maps["makeup_day"], maps["cancelled_holiday"])


def calendar_for(unit: "Unit", org_unit: "OrgUnit | UnitRecord | None",
                 overrides: CalendarOverrides | None = None) -> WorkingCalendar:
    """The org unit's calendar with the current overrides (a change counts at once; the
    calendar itself is shared by the runtime while nothing changed)."""
    if overrides is None:
        overrides = load_overrides(unit)
    sessions = (tuple(tuple(pair) for pair in org_unit.sessions)
                if org_unit is not None and org_unit.sessions else None)
    cutoff = org_unit.same_day_cutoff if org_unit is not None else None
    # A calendar memoizes which days are working days; building one per use case would
    # throw that away. Shared by content.
    key = (tuple(overrides.days_off.items()), tuple(overrides.makeup_days.items()),
           tuple(overrides.cancelled_holidays.items()), sessions, cutoff)
    return unit.runtime.calendars.get_or_load(key, lambda: WorkingCalendar(
        sessions=tuple(WorkingSession(time.fromisoformat(a), time.fromisoformat(b)) for a, b in sessions)
        if sessions else DEFAULT_SESSIONS,
        overrides=overrides,
        same_day_cutoff=time.fromisoformat(cutoff) if cutoff else DEFAULT_SAME_DAY_CUTOFF,
    ))
