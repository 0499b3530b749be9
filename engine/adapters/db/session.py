"""Database engine and session factory for SQLite (embedded) and PostgreSQL."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Row, create_engine, event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from engine.errors import InvalidInput


def make_engine(url: str, **kwargs) -> Engine:
    try:
        parsed = make_url(url)
    except Exception as exc:  # sqlalchemy raises ArgumentError with a terse message
        raise InvalidInput(
            f"database URL {url!r} is not valid: {exc}",
            f"URL cơ sở dữ liệu {url!r} không hợp lệ: {exc}",
            code="bad_database_url",
            hint="use sqlite:///path/to/file.db or postgresql+psycopg://user@host:5432/dbname",
        ) from exc
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {"timeout": 30, "check_same_thread": False})
        engine = create_engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling defers BEGIN; take control so that a
        # writer locks the database at BEGIN (no lost updates between read and write).
        # Read-only units (Runtime.read) begin deferred: WAL readers never wait for writers.
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    engine = create_engine(url, **kwargs)
    if not kwargs.get("pool_pre_ping"):
        event.listen(engine, "checkin", _note_checkin)
        event.listen(engine, "checkout", _ping_if_idle)
    event.listen(engine, "do_execute", _prepare_only_chosen_reads)
    return engine


# psycopg prepares a statement at its sixth run on a connection, and PostgreSQL may then
# keep one generic plan for it instead of planning it at every run. Read-only units end
# with COMMIT (`end_read_only`), so what they prepare survives them (psycopg forgets
# it on ROLLBACK); among reads, only statements marked `isoflow_prepare` (built so that
# their generic plan is right: the inbox) are prepared, at their first run. Other reads
# are planned at every run, as they always were: a generic plan can be far worse when a
# parameter decides which index is worth reading. Writes keep psycopg's default.
PREPARE_OPTION = "isoflow_prepare"


def as_read_only(connection: Connection) -> Connection:
    """`connection` for a read-only unit: its transactions begin deferred on SQLite (a
    reader never waits for the writer) and READ ONLY on PostgreSQL (in BEGIN itself, no
    round trip more). End them with `end_read_only`."""
    connection = connection.execution_options(isoflow_read_only=True)
    if connection.dialect.name == "postgresql":
        connection.connection.dbapi_connection.read_only = True
    return connection


def end_read_only(connection: Connection, *, failed: bool) -> None:
    """End a read-only unit's transaction before the connection is closed. On PostgreSQL
    with COMMIT, which changes nothing and keeps the statements the connection prepared
    (psycopg forgets them on ROLLBACK), unless the unit failed; the connection then goes
    back to the pool as it came. On SQLite closing the connection rolls back."""
    if connection.dialect.name != "postgresql":
        return
    if not failed and connection.in_transaction():
        connection.commit()
    else:
        connection.rollback()
    connection.connection.dbapi_connection.read_only = None


def prepare_choice(execution_options: Any) -> bool | None:
    """psycopg's `prepare` for a statement run with these options: None (its default)
    unless a read-only unit runs it."""
    if not execution_options.get("isoflow_read_only"):
        return None
    return bool(execution_options.get(PREPARE_OPTION))


def _prepare_only_chosen_reads(cursor, statement, parameters, context) -> bool:
    prepare = prepare_choice(context.execution_options)
    if prepare is None:
        return False  # SQLAlchemy executes it as usual
    cursor.execute(statement, parameters, prepare=prepare)
    return True


# A pooled connection that sat idle may have been closed by the server, a proxy or a
# restart; one in steady use has just been proven alive. Pinging only the former saves
# a round trip per checkout (pool_pre_ping pings every time: two per API write).
IDLE_BEFORE_PING = 10.0  # seconds


def _note_checkin(_dbapi_connection, record) -> None:
    record.info["isoflow_idle_since"] = time.monotonic()


def _ping_if_idle(dbapi_connection, record, _proxy) -> None:
    idle_since = record.info.get("isoflow_idle_since")
    if idle_since is None or time.monotonic() - idle_since < IDLE_BEFORE_PING:
        return
    try:
        cursor = dbapi_connection.cursor()
        cursor.execute("SELECT 1")
        cursor.close()
    except Exception as error:  # the pool replaces the connection and checks out another
        raise exc.DisconnectionError(f"pooled connection lost while idle: {error}") from error


def _sqlite_begin(conn) -> None:
    conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get("isoflow_read_only") else "BEGIN IMMEDIATE")


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (see make_engine)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


class Database:
    """One database: its engine and session factory (the app, the CLI and tests share this)."""

    def __init__(self, url: str, **engine_kwargs) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self.session_factory = make_session_factory(self.engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def read_one(self, statement: Any, params: dict[str, Any]) -> Row | None:
        """The first row of one read outside any transaction: on PostgreSQL in autocommit
        (the statement alone, no BEGIN and ROLLBACK round trips); on SQLite in a short
        read transaction. `statement` may be a `DirectStatement`."""
        with self.engine.connect() as connection:
            if self.dialect == "postgresql":
                connection = connection.execution_options(isolation_level="AUTOCOMMIT")
            else:
                connection = connection.execution_options(isoflow_read_only=True)
            from engine.adapters.db.direct import DirectStatement  # it needs this module

            if isinstance(statement, DirectStatement):
                return statement.first(connection, params)
            return connection.execute(statement, params).first()

    def dispose(self) -> None:
        self.engine.dispose()
