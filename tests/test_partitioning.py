"""The event log is partitioned by year on PostgreSQL (migration 0007) and plain on
SQLite; the code above the store sees one `events` table either way."""
from __future__ import annotations

from datetime import datetime

import pytest
from alembic import command
from sqlalchemy import text

from engine.adapters.db.migrate import alembic_config, upgrade
from engine.audit import Actor, append_event, verify_chain
from engine.domain.calendar import VN_TZ
from engine.runtime import Runtime
from engine.services import audit_log, dossiers
from engine.services.dossiers import Applicant
from tests.support import SYSTEM, build_world


def _receive(rt, name: str):
    return dossiers.receive(rt, SYSTEM, unit_code="TRIPHU", procedure_code="9.000001", applicant=Applicant(name))


def _events(db) -> list[tuple]:
    with db.engine.connect() as conn:
        return conn.execute(text("SELECT id, at, kind, hash FROM events ORDER BY id")).all()


def _partition_of(db, event_id: int) -> str:
    with db.engine.connect() as conn:
        return conn.execute(text("SELECT tableoid::regclass::text FROM events WHERE id = :i"), {"i": event_id}).scalar_one()


def test_events_land_in_their_year_and_the_chain_holds_across_partitions(db, clock) -> None:
    rt = Runtime(db, clock)
    build_world(rt)
    _receive(rt, "Nguyễn Văn An")
    with db.engine.begin() as conn:  # half past midnight on New Year's Day in Hanoi is still 2030 in UTC
        for at in (datetime(2030, 12, 31, 23, 30, tzinfo=VN_TZ), datetime(2031, 1, 1, 0, 30, tzinfo=VN_TZ)):
            append_event(conn, at=at, actor=Actor.system("test"), kind="test.year", entity_type="test", entity_id=1)
    rows = _events(db)
    with db.session_factory() as session:
        assert verify_chain(session) == []
    if db.dialect == "postgresql":
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
                                     "WHERE c.relname = 'events'")).scalar_one() == 1
        received = next(r for r in rows if r.kind == "dossier.received")
        assert _partition_of(db, received.id) == "events_y2026"
        assert [_partition_of(db, r.id) for r in rows[-2:]] == ["events_y2030", "events_y2031"]
        with db.engine.connect() as conn:  # a period's read touches only its year's partition
            plan = "\n".join(conn.execute(text(
                "EXPLAIN SELECT id FROM events WHERE at >= '2026-03-01 00:00+07' AND at < '2026-04-01 00:00+07'")).scalars())
        assert "events_y2026" in plan and "events_y2025" not in plan and "events_y2027" not in plan, plan
    else:
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT type FROM sqlite_master WHERE name = 'events'")).scalar_one() == "table"
    # the audit trail reads through the one table, in chain order, whatever the partition
    exported = list(audit_log.iter_events(rt, SYSTEM, audit_log.EventFilter()))
    assert [e.id for e in exported] == [r.id for r in rows]


def test_downgrade_and_upgrade_keep_every_event_and_the_chain(db, clock, database_url) -> None:
    rt = Runtime(db, clock)
    build_world(rt)
    _receive(rt, "Trần Thị Bình")
    before = _events(db)
    db.dispose()
    command.downgrade(alembic_config(database_url), "0007_quality")
    if db.dialect == "postgresql":
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM pg_partitioned_table")).scalar_one() == 0
    assert _events(db) == before
    db.dispose()
    upgrade(database_url)
    assert _events(db) == before
    _receive(rt, "Lê Văn Cường")  # appending continues the same sequence and chain
    after = _events(db)
    assert after[: len(before)] == before and after[len(before)].id == before[-1].id + 1
    with db.session_factory() as session:
        assert verify_chain(session) == []


@pytest.mark.postgres
def test_a_partitioned_log_still_refuses_an_event_without_a_known_actor(db, clock) -> None:
    from sqlalchemy.exc import IntegrityError

    rt = Runtime(db, clock)
    build_world(rt)
    with pytest.raises(IntegrityError), db.engine.begin() as conn:
        append_event(conn, at=clock.now(), actor=Actor(user_id=999_999, name="ghost"), kind="test.ghost",
                     entity_type="test", entity_id=1)
