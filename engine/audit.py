"""The append-only, hash-chained event log: ISO records of every state change and
administrative act (who, when, from where, what, before/after).

Each row's hash covers its content and the previous row's hash, so changing,
removing or inserting a row breaks the chain (`verify_chain`). Appends lock the
single chain-head row, which serialises writers and keeps the chain linear; a
database trigger moves it on every insert.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, Iterator

from sqlalchemy import Connection, insert, select
from sqlalchemy.orm import Session

from engine.adapters.db.models import Event, EventChainHead
from engine.adapters.db.revisions import core_connection

GENESIS_HASH = "0" * 64


@dataclass(frozen=True)
class Actor:
    """Who acts: a user, or a named system component (scheduler, cli, demo)."""

    user_id: int | None
    name: str
    source_address: str | None = None

    @classmethod
    def system(cls, name: str) -> "Actor":
        return cls(None, name)


def jsonable(value: Any) -> Any:
    """Plain JSON values for before/after snapshots (instants as UTC ISO strings)."""
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat(timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    return value


DIGEST_FIELDS = ("id", "at", "actor_id", "actor_name", "source_address", "kind", "entity_type", "entity_id",
                 "org_unit_id", "before", "after", "prev_hash")


def event_digest(event: Event | dict[str, Any]) -> str:
    """SHA-256 over the event's content and the previous hash (a row or its values)."""
    values = event if isinstance(event, dict) else {name: getattr(event, name) for name in DIGEST_FIELDS}
    payload = {name: values[name] for name in DIGEST_FIELDS}
    payload["at"] = jsonable(payload["at"])
    canonical = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


# Appending sits on every use case's path: prebuilt Core statements, no ORM objects.
# The head row moves with each insert by a database trigger (migration 0004).
_heads = EventChainHead.__table__
_LOCK_HEAD = select(_heads.c.last_event_id, _heads.c.last_hash).where(_heads.c.id == 1).with_for_update()
_INSERT_EVENT = insert(Event.__table__)


def event_values(
    *,
    head: tuple[int, str] | None,
    at: datetime,
    actor: Actor,
    kind: str,
    entity_type: str,
    entity_id: str | int,
    org_unit_id: int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The row of the event that follows `head` (last id, last hash; None: the log is
    empty), its hash included."""
    last_id, last_hash = head if head is not None else (0, GENESIS_HASH)
    values: dict[str, Any] = {
        "id": last_id + 1,
        "at": at,
        "actor_id": actor.user_id,
        "actor_name": actor.name,
        "source_address": actor.source_address,
        "kind": kind,
        "entity_type": entity_type,
        "entity_id": str(entity_id),
        "org_unit_id": org_unit_id,
        "before": jsonable(before) if before is not None else None,
        "after": jsonable(after) if after is not None else None,
        "prev_hash": last_hash,
    }
    values["hash"] = event_digest(values)
    return values


def append_event(
    session: Session | Connection,
    *,
    known_head: tuple[int, str] | None = None,
    **event: Any,
) -> dict[str, Any]:
    """Append one event (`event_values`' fields but the head) in the session's
    transaction; returns the stored values.

    `known_head` (last id, last hash) skips reading the head: only for a caller that
    read it in this same transaction while no one else could append (SQLite, whose
    write lock is held from BEGIN IMMEDIATE: see engine.adapters.db.session; on
    PostgreSQL, a read that locked the head row)."""
    connection = core_connection(session)
    head = known_head if known_head is not None else connection.execute(_LOCK_HEAD).first()
    values = event_values(head=tuple(head) if head is not None else None, **event)
    connection.execute(_INSERT_EVENT, values)
    return values


@dataclass(frozen=True)
class ChainBreak:
    event_id: int
    problem: str  # changed | unlinked | missing_head


def verify_chain(session: Session, batch: int = 5000) -> list[ChainBreak]:
    """Every place the chain is broken; an empty list means the log is intact."""
    breaks: list[ChainBreak] = []
    previous_hash = GENESIS_HASH
    last_id = 0
    for event in _iter_events(session, batch):
        if event.prev_hash != previous_hash or event.id != last_id + 1:
            breaks.append(ChainBreak(event.id, "unlinked"))
        if event_digest(event) != event.hash:
            breaks.append(ChainBreak(event.id, "changed"))
        previous_hash = event.hash
        last_id = event.id
    head = session.get(EventChainHead, 1)
    if head is not None and (head.last_event_id != last_id or head.last_hash != previous_hash):
        breaks.append(ChainBreak(last_id, "missing_head"))
    return breaks


def _iter_events(session: Session, batch: int) -> Iterator[Event]:
    last = 0
    while True:
        rows = session.scalars(select(Event).where(Event.id > last).order_by(Event.id).limit(batch)).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].id
