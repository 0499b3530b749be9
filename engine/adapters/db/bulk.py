"""Insert a batch of rows in one statement.

On PostgreSQL: `INSERT ... SELECT ... FROM unnest(<one array per column>)` - one short
statement whatever the row count, so neither the driver nor the server parses a
statement with thousands of placeholders (a multi-row VALUES of 500 notices cost
~0.3 s in psycopg's query parsing alone; see docs/performance.md). Elsewhere
(SQLite) an ordinary executemany.
"""
from __future__ import annotations

import json
from typing import Any, Sequence

from sqlalchemy import JSON, Table, text
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection


def _is_json(column) -> bool:
    return isinstance(column.type, JSON) or isinstance(getattr(column.type, "impl", None), JSON)


def bulk_insert(conn: Connection, table: Table, rows: Sequence[dict[str, Any]], *,
                returning: Sequence[str] = (), conflict_on: Sequence[str] = ()) -> list[tuple]:
    """Insert `rows` (dicts with the same keys); with `conflict_on`, rows colliding with
    that unique key are skipped. Returns the `returning` columns of inserted rows."""
    if not rows:
        return []
    if conn.dialect.name != "postgresql":
        statement = sqlite_insert(table)
        if conflict_on:
            statement = statement.on_conflict_do_nothing(index_elements=list(conflict_on))
        if returning:
            return [tuple(r) for r in conn.execute(statement.returning(*[table.c[c] for c in returning]), list(rows))]
        conn.execute(statement, list(rows))
        return []
    names = list(rows[0])
    arrays, selects, params = [], [], {}
    for i, name in enumerate(names):
        column = table.c[name]
        values = [row[name] for row in rows]
        if _is_json(column):
            params[f"p{i}"] = [None if v is None else json.dumps(v, ensure_ascii=False) for v in values]
            arrays.append(f"CAST(:p{i} AS text[])")
            selects.append(f"CAST(u.c{i} AS jsonb)")
        else:
            params[f"p{i}"] = values
            arrays.append(f"CAST(:p{i} AS {column.type.compile(dialect=conn.dialect)}[])")
            selects.append(f"u.c{i}")
    sql = (f"INSERT INTO {table.name} ({', '.join(names)}) SELECT {', '.join(selects)} "
           f"FROM unnest({', '.join(arrays)}) AS u({', '.join(f'c{i}' for i in range(len(names)))})")
    if conflict_on:
        sql += f" ON CONFLICT ({', '.join(conflict_on)}) DO NOTHING"
    if returning:
        sql += f" RETURNING {', '.join(returning)}"
        return [tuple(r) for r in conn.execute(text(sql), params)]
    conn.execute(text(sql), params)
    return []


def bulk_update(conn: Connection, table: Table, key: str, rows: Sequence[dict[str, Any]]) -> None:
    """Set each row's columns where `key` matches; one statement on PostgreSQL."""
    if not rows:
        return
    names = [n for n in rows[0] if n != key]
    if conn.dialect.name != "postgresql":
        from sqlalchemy import bindparam, update

        statement = (update(table).where(table.c[key] == bindparam("_key"))
                     .values({n: bindparam(f"_{n}") for n in names}))
        conn.execute(statement, [{"_key": r[key], **{f"_{n}": r[n] for n in names}} for r in rows])
        return
    all_names = [key, *names]
    arrays = [f"CAST(:p{i} AS {table.c[n].type.compile(dialect=conn.dialect)}[])" for i, n in enumerate(all_names)]
    params = {f"p{i}": [r[n] for r in rows] for i, n in enumerate(all_names)}
    assignments = ", ".join(f"{n} = u.c{i + 1}" for i, n in enumerate(names))
    conn.execute(text(
        f"UPDATE {table.name} SET {assignments} FROM unnest({', '.join(arrays)}) "
        f"AS u({', '.join(f'c{i}' for i in range(len(all_names)))}) WHERE {table.name}.{key} = u.c0"), params)
