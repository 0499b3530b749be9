"""Pooled PostgreSQL connections are pinged at checkout only after sitting idle
(engine.adapters.db.session): a connection the server dropped while idle is replaced
without the caller noticing; one in steady use costs no extra round trip."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from engine.adapters.db import session as db_session
from engine.adapters.db.session import Database

pytestmark = pytest.mark.postgres


def _backend_of(db: Database) -> int:
    with db.engine.connect() as conn:
        return conn.execute(text("SELECT pg_backend_pid()")).scalar_one()


def _terminate(database_url: str, pid: int) -> None:
    other = Database(database_url)
    try:
        with other.engine.connect() as conn:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            for _ in range(100):  # until the server has let it go
                if not conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid"),
                                    {"pid": pid}).scalar_one():
                    break
                time.sleep(0.02)
    finally:
        other.dispose()


def test_a_connection_dropped_while_idle_is_replaced_at_checkout(database_url, monkeypatch) -> None:
    db = Database(database_url, pool_size=1)
    try:
        pid = _backend_of(db)
        _terminate(database_url, pid)
        monkeypatch.setattr(db_session, "IDLE_BEFORE_PING", 0.0)  # as if it sat idle long enough
        assert _backend_of(db) != pid  # pinged, found dead, replaced: the caller saw nothing
    finally:
        db.dispose()


def test_a_connection_in_steady_use_is_not_pinged(database_url) -> None:
    db = Database(database_url, pool_size=1)
    try:
        pid = _backend_of(db)
        _terminate(database_url, pid)
        # just checked in: no ping, so its first statement meets the dropped connection
        with pytest.raises(OperationalError), db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        assert _backend_of(db) != pid  # the pool discarded it; the next checkout is fresh
    finally:
        db.dispose()
