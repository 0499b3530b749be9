"""Reading the ISO records: the hash-chained event log, filtered by what the actor may
audit, verified end to end, exported as CSV or JSON lines."""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterator

from sqlalchemy import and_, func, or_, select

from engine.audit import Actor, ChainBreak, verify_chain
from engine.domain.calendar import VN_TZ
from engine.adapters.db.models import Dossier, Event, OrgUnit, Task
from engine.errors import InvalidInput, Problem
from engine.permissions import load_principal, not_found, require, require_anywhere, require_visible

EXPORT_COLUMNS = ("id", "at", "actor_id", "actor_name", "source_address", "kind", "entity_type", "entity_id",
                  "org_unit_id", "before", "after", "prev_hash", "hash")
EXPORT_BATCH = 2000


@dataclass(frozen=True)
class EventFilter:
    kind: str | None = None
    entity_type: str | None = None
    entity_id: str | None = None
    actor_id: int | None = None
    unit_code: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    dossier: str | None = None  # a dossier's code: its own events and its steps'

    def check(self) -> None:
        if self.since and self.until and self.until < self.since:
            raise InvalidInput("'until' is before 'since'", "thời điểm kết thúc trước thời điểm bắt đầu",
                               problems=[Problem("bad_period", "Khoảng thời gian không hợp lệ.",
                                                 "until is before since.", field="until")])


@dataclass(frozen=True)
class EventView:
    id: int
    at: datetime
    actor_id: int | None
    actor_name: str
    source_address: str | None
    kind: str
    entity_type: str
    entity_id: str
    org_unit_id: int | None
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    prev_hash: str
    hash: str


def _view(e: Event) -> EventView:
    return EventView(e.id, e.at, e.actor_id, e.actor_name, e.source_address, e.kind, e.entity_type, e.entity_id,
                     e.org_unit_id, e.before, e.after, e.prev_hash, e.hash)


def _scoped_query(unit, flt: EventFilter):
    """Events the actor may audit: those of units where they hold audit.view; events of
    no unit (the library, logins, the calendar) need audit.view at a province. A unit
    the actor holds no role in does not exist for them (404), as everywhere."""
    flt.check()
    session, actor = unit.session, unit.actor
    q = select(Event)
    principal = None
    if actor.user_id is not None:
        principal = load_principal(unit, actor.user_id, unit.now.astimezone(VN_TZ).date())
    if flt.unit_code:
        unit_id = session.scalar(select(OrgUnit.id).where(OrgUnit.code == flt.unit_code))
        if unit_id is None:
            raise not_found(f"org unit {flt.unit_code}", f"đơn vị {flt.unit_code}")
        require_visible(principal, unit_id, f"org unit {flt.unit_code}")
        if principal is not None:
            require(principal, "audit.view", unit_id, what=f"org unit {flt.unit_code}")
        q = q.where(Event.org_unit_id == unit_id)
    elif principal is not None:
        require_anywhere(principal, "audit.view")
        units = {u for u in principal.visible_units() if principal.can("audit.view", u)}
        provinces = set(session.scalars(select(OrgUnit.id).where(OrgUnit.kind == "province", OrgUnit.id.in_(units))))
        q = q.where(or_(Event.org_unit_id.in_(units), Event.org_unit_id.is_(None)) if provinces
                    else Event.org_unit_id.in_(units))
    if flt.dossier:
        q = q.where(_dossier_events(unit, principal, flt.dossier))
    if flt.kind:
        q = q.where(Event.kind == flt.kind)
    if flt.entity_type:
        q = q.where(Event.entity_type == flt.entity_type)
    if flt.entity_id:
        q = q.where(Event.entity_id == flt.entity_id)
    if flt.actor_id is not None:
        q = q.where(Event.actor_id == flt.actor_id)
    if flt.since:
        q = q.where(Event.at >= flt.since)
    if flt.until:
        q = q.where(Event.at < flt.until)
    return q


def _dossier_events(unit, principal, code: str):
    """The condition of a dossier's events: those of the dossier and of its steps. A
    dossier of a commune the actor does not audit is not found."""
    session = unit.session
    row = session.execute(select(Dossier.id, Dossier.org_unit_id).where(Dossier.code == code.upper())).first()
    if row is None:
        raise not_found(f"dossier {code}", f"hồ sơ {code}")
    require_visible(principal, row.org_unit_id, f"dossier {code}")
    if principal is not None:
        require(principal, "audit.view", row.org_unit_id, what=f"dossier {code}")
    task_ids = [str(t) for t in session.scalars(select(Task.id).where(Task.dossier_id == row.id))]
    return or_(and_(Event.entity_type == "dossier", Event.entity_id == str(row.id)),
               and_(Event.entity_type == "task", Event.entity_id.in_(task_ids or ["-"])))


def list_events(rt, actor: Actor, flt: EventFilter, *, limit: int = 50, offset: int = 0,
                with_total: bool = False):
    """Newest first (ids are the chain order); with their number in all, `with_total`."""
    with rt.read(actor) as unit:
        q = _scoped_query(unit, flt)
        items = [_view(e) for e in unit.session.scalars(q.order_by(Event.id.desc()).limit(limit).offset(offset))]
        if not with_total:
            return items
        return items, unit.session.scalar(select(func.count()).select_from(q.subquery())) or 0


def iter_events(rt, actor: Actor, flt: EventFilter) -> Iterator[EventView]:
    """Every matching event in chain order, read in batches (exports of any size)."""
    last = 0
    while True:
        with rt.read(actor, replica=True) as unit:  # one short read per batch, on a replica when configured
            q = _scoped_query(unit, flt)
            batch = [_view(e) for e in unit.session.scalars(
                q.where(Event.id > last).order_by(Event.id).limit(EXPORT_BATCH))]
        if not batch:
            return
        yield from batch
        last = batch[-1].id


def _row(e: EventView) -> dict[str, Any]:
    return {"id": e.id, "at": e.at.isoformat(), "actor_id": e.actor_id, "actor_name": e.actor_name,
            "source_address": e.source_address, "kind": e.kind, "entity_type": e.entity_type,
            "entity_id": e.entity_id, "org_unit_id": e.org_unit_id, "before": e.before, "after": e.after,
            "prev_hash": e.prev_hash, "hash": e.hash}


def export_csv(events: Iterator[EventView]) -> Iterator[str]:
    """CSV text chunks; before/after as JSON in their cells."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=EXPORT_COLUMNS)
    writer.writeheader()
    for e in events:
        row = _row(e)
        row["before"] = json.dumps(row["before"], ensure_ascii=False, sort_keys=True) if row["before"] is not None else ""
        row["after"] = json.dumps(row["after"], ensure_ascii=False, sort_keys=True) if row["after"] is not None else ""
        writer.writerow(row)
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def export_json(events: Iterator[EventView]) -> Iterator[str]:
    """One JSON array, streamed."""
    yield "["
    first = True
    for e in events:
        yield ("" if first else ",\n") + json.dumps(_row(e), ensure_ascii=False, sort_keys=True)
        first = False
    yield "]\n"


def verify(rt, actor: Actor) -> list[ChainBreak]:
    """Check the whole chain. The answer names only broken event ids, so anyone who may
    audit somewhere may run it."""
    with rt.read(actor) as unit:
        if actor.user_id is not None:
            require_anywhere(load_principal(unit, actor.user_id, unit.now.astimezone(VN_TZ).date()), "audit.view")
        return verify_chain(unit.session)
