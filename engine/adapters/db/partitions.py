"""The year partitions of dossiers and their steps on PostgreSQL (migration 0019).

A year's partitions must exist before its first receipt, or its dossiers go to the
legacy partition (they are stored all the same, only not apart). The migration creates
the current and the next year; the scheduler's sweep keeps the next one ahead."""
from __future__ import annotations

from sqlalchemy import Connection, text


def ensure_year_partitions(connection: Connection, years: list[int]) -> list[int]:
    """Create the partitions of `years` that are missing; returns the years created.
    A year without an id block (outside 2021-2040) raises the database's error."""
    if connection.dialect.name != "postgresql":
        return []
    # creating a partition locks the parent table: wait a little, else the next sweep tries again
    connection.execute(text("SET LOCAL lock_timeout = '5s'"))
    return [year for year in years
            if connection.execute(text("SELECT isoflow_add_year_partitions(:year)"), {"year": year}).scalar_one()]
