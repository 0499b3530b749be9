"""Core statements run on the driver's cursor: for the few statements that every dossier
write and every bearer-token request runs, on PostgreSQL.

Around each execution SQLAlchemy computes the statement's cache key, builds an execution
context and reads the result's metadata from `cursor.description`, which psycopg builds
anew, one object per column, at every call. For the dossier aggregate's read (47
columns) that work took longer than the statement's round trip itself
(docs/performance.md). A `DirectStatement` is compiled once per dialect; each run
converts its parameters and its result values with the type processors SQLAlchemy would
use, is prepared or not as on SQLAlchemy's path (`session.prepare_choice`), tells the
cursor-execute listeners (tests count statements with them) and raises SQLAlchemy's
exceptions (the unit of work maps them to conflicts), invalidating a connection the
server dropped. Other dialects run the statement through `Connection.execute`.
"""
from __future__ import annotations

from collections import namedtuple
from typing import Any, Callable, NamedTuple

from sqlalchemy import Connection

from engine.adapters.db.session import prepare_choice

_DIRECT_DIALECTS = ("postgresql",)


class _Compiled(NamedTuple):
    sql: str
    defaults: dict[str, Any]  # parameters the statement carries its own values for
    bind_processors: tuple[tuple[str, Callable[[Any], Any]], ...]
    row_class: Any


class DirectStatement:
    """A Core statement (SELECT, or DML with RETURNING) with named parameters only."""

    __slots__ = ("statement", "_compiled", "_result_processors")

    def __init__(self, statement: Any) -> None:
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}
        # per dialect, from the first result's column types (as SQLAlchemy does)
        self._result_processors: dict[str, tuple[tuple[int, Callable[[Any], Any]], ...]] = {}

    def rows(self, connection: Connection, parameters: dict[str, Any]) -> list[Any]:
        """All rows, each indexable and with the columns' keys as attributes."""
        dialect = connection.dialect
        if dialect.name not in _DIRECT_DIALECTS:
            return list(connection.execute(self.statement, parameters))
        compiled = self._compiled.get(dialect.name) or self._compile(connection)
        values = {**compiled.defaults, **parameters}
        for name, process in compiled.bind_processors:
            if name in values:
                values[name] = process(values[name])
        if not connection.in_transaction():
            # as `Connection.execute` would: else the driver's own transaction would end uncommitted
            connection.begin()
        sql = compiled.sql
        cursor = connection.connection.driver_connection.cursor()
        try:
            if connection._has_events or connection.engine._has_events:
                for listener in connection.dispatch.before_cursor_execute:
                    sql, values = listener(connection, cursor, sql, values, None, False)
            try:
                # prepared as SQLAlchemy's path would (a read-only unit's choice, psycopg's default otherwise)
                cursor.execute(sql, values, prepare=prepare_choice(connection.get_execution_options()))
            except dialect.loaded_dbapi.Error as error:
                # wraps it as SQLAlchemy's exception, invalidating the connection if it is gone
                connection._handle_dbapi_exception(error, sql, values, cursor, None)
            if connection._has_events or connection.engine._has_events:
                for listener in connection.dispatch.after_cursor_execute:
                    listener(connection, cursor, sql, values, None, False)
            processors = self._result_processors.get(dialect.name)
            if processors is None:
                processors = self._result_processors[dialect.name] = self._processors_for(cursor, connection)
            rows = cursor.fetchall()
        finally:
            cursor.close()
        make = compiled.row_class._make
        if not processors:
            return [make(row) for row in rows]
        processed = []
        for row in rows:
            values = list(row)
            for index, process in processors:
                values[index] = process(values[index])
            processed.append(make(values))
        return processed

    def first(self, connection: Connection, parameters: dict[str, Any]) -> Any | None:
        rows = self.rows(connection, parameters)
        return rows[0] if rows else None

    def _compile(self, connection: Connection) -> _Compiled:
        dialect = connection.dialect
        compiled = self.statement.compile(dialect=dialect)
        defaults, processors = {}, []
        for bind, name in compiled.bind_names.items():
            if bind.expanding or bind.literal_execute:
                raise ValueError(f"parameter {name!r}: a direct statement takes neither lists nor literal values")
            if not bind.required:
                defaults[name] = bind.effective_value
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                processors.append((name, process))
        keys = [column.key for column in self.statement.exported_columns]
        result = _Compiled(compiled.string, defaults, tuple(processors), namedtuple("Row", keys, rename=True))
        self._compiled[dialect.name] = result
        return result

    def _processors_for(self, cursor: Any, connection: Connection) -> tuple[tuple[int, Callable[[Any], Any]], ...]:
        dialect, columns = connection.dialect, list(self.statement.exported_columns)
        description = cursor.description or []
        if len(description) != len(columns):
            raise RuntimeError(f"the statement returned {len(description)} columns, {len(columns)} expected")
        found = []
        for index, (column, described) in enumerate(zip(columns, description)):
            process = column.type.dialect_impl(dialect).result_processor(dialect, described.type_code)
            if process is not None:
                found.append((index, process))
        return tuple(found)
