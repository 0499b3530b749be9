"""The holiday calendar as administrators edit it: public holidays from the `holidays`
package, plus extra days off, make-up working days and cancelled holidays, each change
checked by the calendar and appended to the event log with its actor (calendar.manage).
The API and the `isoflow calendar` commands both go through here."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from engine.audit import Actor
from engine.domain.calendar import OVERRIDE_KINDS, AuditEntry, CalendarOverrides
from engine.adapters.db.models import CalendarOverrideRow
from engine.errors import InvalidInput, Problem
from engine.services.calendars import DatabaseOverrideStore, audit_rows, authorize, load_overrides
from engine.unit_calendars import calendar_for

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


def _check_kind(kind: str) -> None:
    if kind not in OVERRIDE_KINDS:
        raise InvalidInput(f"unknown override kind {kind!r}", f"loại điều chỉnh không hợp lệ {kind!r}",
                           hint=f"Use one of: {', '.join(OVERRIDE_KINDS)}.",
                           problems=[Problem("bad_kind", f"Phải là một trong {', '.join(OVERRIDE_KINDS)}.",
                                             f"Must be one of {', '.join(OVERRIDE_KINDS)}.", field="kind")])


def year_calendar(rt, actor: Actor, year: int, kind: str | None = None) -> list[CalendarEntry]:
    """Every day of one year that differs from Monday-Friday, by day, exactly as the
    deadlines count it: holidays, swapped days off and the Saturdays worked in exchange
    (from the holiday package), and the overrides with who made them (readable by anyone
    who sees procedures); only the stored overrides of `kind` when given."""
    _check_year(year)
    if kind is not None:
        _check_kind(kind)
    with rt.read(actor) as unit:
        authorize(unit, "procedure.view")
        days = calendar_for(unit, None).calendar_days(year)
        rows = unit.session.execute(
            select(CalendarOverrideRow.day, CalendarOverrideRow.kind, CalendarOverrideRow.created_by)
            .where(CalendarOverrideRow.day >= date(year, 1, 1), CalendarOverrideRow.day <= date(year, 12, 31))).all()
    authors = {(day, k): by for day, k, by in rows}
    entries = [CalendarEntry(d.day, d.kind, d.name, authors.get((d.day, d.kind)), d.working, d.source) for d in days]
    if kind is not None:
        entries = [e for e in entries if e.kind == kind and (e.day, e.kind) in authors]
    return entries


def stored_overrides(rt, actor: Actor) -> CalendarOverrides:
    """Every stored override: what the server's deadlines count."""
    with rt.read(actor) as unit:
        authorize(unit, "procedure.view")
        return load_overrides(unit)


def change(rt, actor: Actor, action: str, kind: str, day: date, reason: str) -> AuditEntry:
    """Add or remove an override (calendar.manage)."""
    _check_kind(kind)
    _check_year(day.year)
    return DatabaseOverrideStore(rt).change(action, kind, day, reason, actor)


def audit_trail(rt, actor: Actor) -> list[AuditEntry]:
    """Every change of the overrides, oldest first (who, when, before, after)."""
    with rt.read(actor) as unit:
        authorize(unit, "calendar.manage")
        return audit_rows(unit)
