"""Working calendars backed by the database: overrides are rows, every change is an
audited event, and each org unit gets its own sessions and same-day cutoff."""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from datetime import date, time
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from engine.audit import Actor
from engine.domain.calendar import (
    DEFAULT_SAME_DAY_CUTOFF,
    DEFAULT_SESSIONS,
    AuditEntry,
    CalendarOverrides,
    OverrideKind,
    WorkingCalendar,
    WorkingSession,
    apply_change,
)
from engine.adapters.db.models import CalendarOverrideRow, Event, OrgUnit
from engine.adapters.db.revisions import CALENDAR, cached, core_connection, read_tokens


_overrides = CalendarOverrideRow.__table__
_OVERRIDE_ROWS = select(_overrides.c.kind, _overrides.c.day, _overrides.c.reason).order_by(_overrides.c.day,
                                                                                         _overrides.c.kind)


def load_overrides(session: Session | Connection, tokens: Mapping[str, str] | None = None) -> CalendarOverrides:
    connection = core_connection(session)
    if tokens is None:
        tokens = read_tokens(connection)
    return cached(CALENDAR, "overrides", tokens, lambda: _overrides_of(
        tuple(tuple(row) for row in connection.execute(_OVERRIDE_ROWS))))


def _overrides_of(rows: tuple[tuple[str, date, str], ...]) -> CalendarOverrides:
    maps: dict[str, dict[date, str]] = {"day_off": {}, "makeup_day": {}, "cancelled_holiday": {}}
    for kind, day, reason in rows:
        maps[kind][day] = reason
    return CalendarOverrides(maps["day_off"], maps["makeup_day"], maps["cancelled_holiday"])


def calendar_for(session: Session | Connection, unit: OrgUnit | None, overrides: CalendarOverrides | None = None, *,
                 tokens: Mapping[str, str] | None = None) -> WorkingCalendar:
    """The unit's calendar with the current overrides (a change counts at once; the
    calendar itself is shared while nothing changed)."""
    if overrides is None:
        overrides = load_overrides(session, tokens)
    sessions = tuple(tuple(pair) for pair in unit.sessions) if unit is not None and unit.sessions else None
    cutoff = unit.same_day_cutoff if unit is not None else None
    return _shared_calendar(overrides, sessions, cutoff)


_CALENDARS: OrderedDict[tuple[Any, ...], WorkingCalendar] = OrderedDict()
_CALENDARS_LOCK = threading.Lock()


def _shared_calendar(overrides: CalendarOverrides, sessions: tuple[tuple[str, str], ...] | None,
                     cutoff: str | None) -> WorkingCalendar:
    # A calendar caches which days are working days; building it for every use case
    # would throw that away. Keyed by content, bounded.
    key = (tuple(overrides.days_off.items()), tuple(overrides.makeup_days.items()),
           tuple(overrides.cancelled_holidays.items()), sessions, cutoff)
    with _CALENDARS_LOCK:
        found = _CALENDARS.get(key)
        if found is not None:
            _CALENDARS.move_to_end(key)
            return found
    calendar = WorkingCalendar(
        sessions=tuple(WorkingSession(time.fromisoformat(a), time.fromisoformat(b)) for a, b in sessions)
        if sessions else DEFAULT_SESSIONS,
        overrides=overrides,
        same_day_cutoff=time.fromisoformat(cutoff) if cutoff else DEFAULT_SAME_DAY_CUTOFF,
    )
    with _CALENDARS_LOCK:
        _CALENDARS[key] = calendar
        while len(_CALENDARS) > 256:
            _CALENDARS.popitem(last=False)
    return calendar


class DatabaseOverrideStore:
    """`OverrideStore` on the database; changes are checked by the calendar's own
    `apply_change` and appended to the hash-chained event log."""

    def __init__(self, rt) -> None:
        self.rt = rt

    def load(self) -> CalendarOverrides:
        with self.rt.db.session_factory() as session:
            return load_overrides(session)

    def add(self, kind: OverrideKind, day: date, *, reason: str, actor: str) -> AuditEntry:
        return self._change("add", kind, day, reason, actor)

    def remove(self, kind: OverrideKind, day: date, *, reason: str, actor: str) -> AuditEntry:
        return self._change("remove", kind, day, reason, actor)

    def audit(self) -> list[AuditEntry]:
        with self.rt.db.session_factory() as session:
            events = session.scalars(
                select(Event).where(Event.entity_type == "calendar_override").order_by(Event.id)
            ).all()
            return [AuditEntry.from_json(e.after["entry"]) for e in events]

    def _change(self, action, kind, day, reason, actor, *, actor_ref: Actor | None = None) -> AuditEntry:
        with self.rt.unit_of_work(actor_ref or Actor.system(actor)) as uow:
            session = uow.session
            current = load_overrides(session)
            _, entry = apply_change(current, action, kind, day, reason=reason, actor=actor, at=uow.now)
            row = session.scalar(
                select(CalendarOverrideRow).where(CalendarOverrideRow.day == day, CalendarOverrideRow.kind == kind)
            )
            if action == "add":
                if row is None:
                    session.add(CalendarOverrideRow(day=day, kind=kind, reason=entry.reason,
                                                    created_at=uow.now, created_by=entry.actor))
                else:
                    row.reason = entry.reason
            elif row is not None:
                session.delete(row)
            uow.log(f"calendar.{kind}.{action}", "calendar_override", f"{kind}:{day.isoformat()}",
                    before={"reason": entry.before}, after={"reason": entry.after, "entry": entry.to_json()})
            uow.commit()
            return entry
