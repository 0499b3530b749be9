"""The change tokens that database triggers keep (migration 0003) for reference data
cached per runtime (`engine.caching.ChangeTokenCache`): the user's roles, the calendar
overrides, the escalation policies and the communes' webhook subscriptions."""
from __future__ import annotations

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from engine.adapters.db.models import SettingRevision

ROLES, CALENDAR, ESCALATION, WEBHOOKS = "roles", "calendar", "escalation", "webhooks"  # webhooks: 0018
TOKEN_KINDS = (ROLES, CALENDAR, ESCALATION, WEBHOOKS)

_TOKENS = select(SettingRevision.kind, SettingRevision.token)


def core_connection(db: Session | Connection) -> Connection:
    """A connection for Core statements: the one given, or the session's after writing
    its pending ORM changes (Core statements do not autoflush)."""
    if isinstance(db, Connection):
        return db
    if db.new or db.dirty or db.deleted:
        db.flush()
    return db.connection()


def read_tokens(connection: Connection) -> dict[str, str]:
    return dict(connection.execute(_TOKENS).all())
