"""The holiday calendar as administrators edit it: public holidays from the `holidays`
package, plus extra days off, make-up working days and cancelled holidays, each change
checked by the calendar and appended to the event log with its actor (calendar.manage)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from engine.audit import Actor
from engine.domain.calendar import OVERRIDE_KINDS, AuditEntry, VN_TZ
from engine.adapters.db.models import CalendarOverrideRow
from engine.errors import InvalidInput, Problem
from engine.permissions import load_principal, require_anywhere
from engine.services.calendars import DatabaseOverrideStore, calendar_for

MIN_YEAR, MAX_YEAR = 1990, 2199


@dataclass(frozen=True)
class CalendarEntry:
    day: date
    kind: str  # holiday | day_off | makeup_day | cancelled_holiday
    reason: str
    created_by: str | None = None
    working: bool = False  # whether deadlines count the day
    source: str = ""  # the holiday package (with its version) or "override"


def _check_year(year: int) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise InvalidInput(f"year must be {MIN_YEAR}-{MAX_YEAR}", f"năm phải trong khoảng {MIN_YEAR}-{MAX_YEAR}",
                           problems=[Problem("bad_year", "Năm không hợp lệ.", "The year is out of range.", field="year")])


def _authorize(rt, actor: Actor, action: str) -> None:
    if actor.user_id is None:
        return
    with rt.db.session_factory() as s:
        require_anywhere(load_principal(s, actor.user_id, rt.clock.now().astimezone(VN_TZ).date()), action)


def year_calendar(rt, actor: Actor, year: int) -> list[CalendarEntry]:
    """Every day of one year that differs from Monday-Friday, by day, exactly as the
    deadlines count it: holidays, swapped days off and the Saturdays worked in exchange
    (from the holiday package), and the overrides with who made them (readable by anyone
    who sees procedures)."""
    _check_year(year)
    _authorize(rt, actor, "procedure.view")
    with rt.db.session_factory() as s:
        days = calendar_for(s, None).calendar_days(year)
        rows = s.execute(select(CalendarOverrideRow.day, CalendarOverrideRow.kind, CalendarOverrideRow.created_by)
                         .where(CalendarOverrideRow.day >= date(year, 1, 1),
                                CalendarOverrideRow.day <= date(year, 12, 31))).all()
    authors = {(day, kind): by for day, kind, by in rows}
    return [CalendarEntry(d.day, d.kind, d.name, authors.get((d.day, d.kind)), d.working, d.source) for d in days]


def change(rt, actor: Actor, action: str, kind: str, day: date, reason: str) -> AuditEntry:
    """Add or remove an override (calendar.manage)."""
    if kind not in OVERRIDE_KINDS:
        raise InvalidInput(f"unknown override kind {kind!r}", f"loại điều chỉnh không hợp lệ {kind!r}",
                           problems=[Problem("bad_kind", f"Phải là một trong {', '.join(OVERRIDE_KINDS)}.",
                                             f"Must be one of {', '.join(OVERRIDE_KINDS)}.", field="kind")])
    _check_year(day.year)
    _authorize(rt, actor, "calendar.manage")
    return DatabaseOverrideStore(rt)._change(action, kind, day, reason, actor.name, actor_ref=actor)
