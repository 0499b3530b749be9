"""Per-process caching of reference data validated by the change tokens that database
triggers keep (migration 0003): the user's roles, the calendar overrides and the
escalation policies are read once per change instead of once per use case.

A token names one state of the rows behind it, so a cached value is used only while
the token read in the current transaction is the one it was loaded under. Without a
token (a database emptied by TRUNCATE in tests) nothing is cached.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from typing import Any, TypeVar

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from engine.adapters.db.models import SettingRevision

T = TypeVar("T")
ROLES, CALENDAR, ESCALATION = "roles", "calendar", "escalation"
TOKEN_KINDS = (ROLES, CALENDAR, ESCALATION)

_TOKENS = select(SettingRevision.kind, SettingRevision.token)
_CACHE: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
_LOCK = threading.Lock()
CAPACITY = 4096


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


def cached(kind: str, key: Hashable, tokens: Mapping[str, str], load: Callable[[], T]) -> T:
    """`load()`'s value for `key`, reused while the `kind` token is unchanged.
    Values are shared between threads: callers must not change them."""
    token = tokens.get(kind)
    if token is None:
        return load()
    cache_key = (kind, token, key)
    with _LOCK:
        if cache_key in _CACHE:
            _CACHE.move_to_end(cache_key)
            return _CACHE[cache_key]
    value = load()
    with _LOCK:
        _CACHE[cache_key] = value
        while len(_CACHE) > CAPACITY:
            _CACHE.popitem(last=False)
    return value
