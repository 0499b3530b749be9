"""Calendar overrides changed in the database, their one store: every change is checked
by the calendar and appended to the event log in the same transaction. The API, the web
pages, the scheduler and the CLI all change overrides here; reading them (and each org
unit's calendar) is `engine.unit_calendars`, re-exported here."""
from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import select

from engine.audit import Actor
from engine.domain.calendar import VN_TZ, AuditEntry, CalendarOverrides, OverrideKind, apply_change
from engine.adapters.db.models import CalendarOverrideRow
from engine.permissions import load_principal, require_anywhere
from engine.unit_calendars import audit_rows, calendar_for, load_overrides

if TYPE_CHECKING:
    from engine.runtime import Runtime, Unit

__all__ = ["DatabaseOverrideStore", "audit_rows", "authorize", "calendar_for", "load_overrides"]


def authorize(unit: "Unit", action: str) -> None:
    """Users need the action in some unit (the calendar is province-wide); system actors
    (the CLI run by an operator holding the database's credentials, the scheduler) act
    in-process only."""
    if unit.actor.user_id is not None:
        require_anywhere(load_principal(unit, unit.actor.user_id, unit.now.astimezone(VN_TZ).date()), action)


class DatabaseOverrideStore:
    """`OverrideStore` on the database; changes are checked by the calendar's own
    `apply_change` and appended to the hash-chained event log in the same transaction."""

    def __init__(self, rt: "Runtime") -> None:
        self.rt = rt

    def load(self) -> CalendarOverrides:
        with self.rt.read(Actor.system("calendar")) as unit:
            return load_overrides(unit)

    def add(self, kind: OverrideKind, day: date, *, reason: str, actor: str) -> AuditEntry:
        return self.change("add", kind, day, reason, Actor.system(actor))

    def remove(self, kind: OverrideKind, day: date, *, reason: str, actor: str) -> AuditEntry:
        return self.change("remove", kind, day, reason, Actor.system(actor))

    def audit(self) -> list[AuditEntry]:
        with self.rt.read(Actor.system("calendar")) as unit:
            return audit_rows(unit)

    def change(self, action, kind: OverrideKind, day: date, reason: str, actor: Actor) -> AuditEntry:
        with self.rt.unit_of_work(actor) as uow:
            authorize(uow, "calendar.manage")
            session = uow.session
            current = load_overrides(uow)
            _, entry = apply_change(current, action, kind, day, reason=reason, actor=actor.name, at=uow.now)
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
