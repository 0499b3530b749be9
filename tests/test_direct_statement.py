"""Core statements run on the driver's cursor (`DirectStatement`): same rows, types,
listeners and exceptions as `Connection.execute`, on the real database (SQLite falls
back to `Connection.execute`; CI runs this on PostgreSQL too)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import bindparam, event, insert, select, text
from sqlalchemy.exc import IntegrityError, OperationalError

from engine.adapters.db.direct import DirectStatement
from engine.adapters.db.session import PREPARE_OPTION, as_read_only, end_read_only
from engine.adapters.db.models import ApiToken, OrgUnit, User
from engine.runtime import Runtime
from engine.services.auth import issue_token
from tests.support import build_world

_units = OrgUnit.__table__
_NEW_UNIT = (
    insert(_units)
    .values(code=bindparam("code"), name=bindparam("name"), kind="commune", category="normal", address="",
            sessions=bindparam("sessions"), active=True)
    .returning(_units.c.id, _units.c.sessions)
)


@pytest.fixture
def world(db, clock):
    return build_world(Runtime(db, clock))


def test_rows_and_their_types_are_those_of_connection_execute(world):
    issue_token(world.rt, world.actor("clerk"), name="desk", lifetime=timedelta(days=2))
    query = (select(ApiToken.id, ApiToken.expires_at, ApiToken.revoked_at, User.username, User.id)
             .join(User, User.id == ApiToken.user_id).where(ApiToken.name == bindparam("name")))
    with world.rt.db.engine.connect() as connection:
        expected = connection.execute(query, {"name": "desk"}).all()
        rows = DirectStatement(query).rows(connection, {"name": "desk"})
    assert [tuple(row) for row in rows] == [tuple(row) for row in expected] and len(rows) == 1
    [row] = rows
    assert row.expires_at.tzinfo == timezone.utc and row.revoked_at is None  # UTCDateTime's result processing
    assert row[3] == "clerk" and row.username == "clerk"


def test_parameters_go_through_their_types_and_values_come_back(world):
    sessions = [["07:00", "11:30"], ["13:30", "17:00"]]
    with world.rt.db.engine.connect() as connection:
        with connection.begin():
            row = DirectStatement(_NEW_UNIT).first(connection, {"code": "HOAAN", "name": "Xã Hòa An",
                                                                  "sessions": sessions})
        assert row.sessions == sessions  # a JSON document, written and read as one
        assert connection.execute(select(_units.c.sessions).where(_units.c.id == row.id)).scalar_one() == sessions
    # a statement's own values (here the code) need no parameter
    fixed = DirectStatement(select(_units.c.name).where(_units.c.code == "TRIPHU"))
    with world.rt.db.engine.connect() as connection:
        assert fixed.first(connection, {}).name == "Xã Tri Phú"


def test_a_database_error_is_sqlalchemys_and_the_transaction_can_roll_back(world):
    statement = DirectStatement(_NEW_UNIT)
    with world.rt.db.engine.connect() as connection:
        connection.begin()
        with pytest.raises(IntegrityError, match="TRIPHU"):
            statement.first(connection, {"code": "TRIPHU", "name": "again", "sessions": None})
        connection.rollback()
        with connection.begin():
            assert statement.first(connection, {"code": "HOAAN", "name": "Xã Hòa An", "sessions": None}) is not None


def test_cursor_listeners_see_each_statement(world):
    seen = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append((" ".join(statement.split())[:24], "NAHANG" in str(parameters)))

    statement = DirectStatement(select(_units.c.id).where(_units.c.code == bindparam("code")))
    with world.rt.db.engine.connect() as connection:
        event.listen(connection, "before_cursor_execute", record)
        assert statement.first(connection, {"code": "NAHANG"}) is not None
    assert [s for s in seen if not s[0].startswith("BEGIN")] == [("SELECT org_units.id FROM", True)]  # SQLite: BEGIN too


@pytest.mark.postgres
def test_lists_and_literal_values_are_refused(world):
    listed = DirectStatement(select(_units.c.id).where(_units.c.code.in_(bindparam("codes", expanding=True))))
    with world.rt.db.engine.connect() as connection:
        with pytest.raises(ValueError, match="'codes'"):
            listed.rows(connection, {"codes": ["TQ"]})


@pytest.mark.postgres
def test_a_connection_the_server_dropped_is_invalidated_and_the_pool_goes_on(world):
    statement = DirectStatement(select(_units.c.id).where(_units.c.code == bindparam("code")))
    engine = world.rt.db.engine
    with engine.connect() as connection:
        backend = connection.execute(text("SELECT pg_backend_pid()")).scalar()
        connection.commit()
        with engine.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
        with pytest.raises(OperationalError) as raised:
            statement.first(connection, {"code": "TQ"})
        assert raised.value.connection_invalidated
    with engine.connect() as connection:  # a fresh connection from the pool
        assert statement.first(connection, {"code": "TQ"}) is not None


def test_outside_a_transaction_it_begins_one_as_connection_execute_does(world):
    statement = DirectStatement(_NEW_UNIT)
    with world.rt.db.engine.connect() as connection:
        assert statement.first(connection, {"code": "HOAAN", "name": "Xã Hòa An", "sessions": None}) is not None
        assert connection.in_transaction()
        connection.commit()
        assert statement.first(connection, {"code": "HOAHA", "name": "Xã Hòa Hà", "sessions": None}) is not None
        # closed without commit: rolled back
    with world.rt.db.engine.connect() as connection:
        codes = connection.execute(text("SELECT code FROM org_units WHERE code LIKE 'HOA%'")).scalars().all()
    assert codes == ["HOAAN"]


def test_an_instant_parameter_is_converted_like_connection_executes_it(world):
    issue_token(world.rt, world.actor("clerk"), name="desk", lifetime=timedelta(days=2))
    later = DirectStatement(select(ApiToken.name).where(ApiToken.expires_at > bindparam("at")))
    at = datetime(2000, 1, 1, 7, tzinfo=timezone(timedelta(hours=7)))
    with world.rt.db.engine.connect() as connection:
        assert [row.name for row in later.rows(connection, {"at": at})] == ["desk"]
        with pytest.raises(Exception, match="naive datetime"):  # UTCDateTime's own check ran
            later.rows(connection, {"at": at.replace(tzinfo=None)})


@pytest.mark.postgres
def test_a_read_only_unit_prepares_only_the_statements_it_chose(world):
    plain = DirectStatement(select(_units.c.id).where(_units.c.code == bindparam("code")))
    chosen = DirectStatement(select(_units.c.name).where(_units.c.code == bindparam("code")))
    prepared = text("SELECT statement FROM pg_prepared_statements")
    with world.rt.db.engine.connect() as connection:
        reading = as_read_only(connection)
        for _ in range(8):  # psycopg's own threshold is 5 runs
            plain.first(reading, {"code": "TQ"})
        chosen.first(reading.execution_options(**{PREPARE_OPTION: True}), {"code": "TQ"})
        statements = " ".join(reading.execute(prepared).scalars().all())
        end_read_only(reading, failed=False)
    assert "org_units.name" in statements and "SELECT org_units.id" not in statements
