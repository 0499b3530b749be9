"""The year partitions of dossiers and their steps on PostgreSQL (migration 0019).

A year's partitions must exist before its first receipt, or its dossiers go to the
legacy partition (they are stored all the same, only not apart). The migration creates
the current and the next year; the scheduler's sweep keeps the next one ahead.

Each local year of receipt owns a block of ids, and the partitions are those blocks, so
a read that knows a dossier's year (its code carries it, and a dossier's steps share
its year) can say so as an id range: PostgreSQL then reads that year's partition and
the legacy one instead of probing every partition's index (`ids_of_years`)."""
from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, and_, bindparam, or_, text, true

from engine.domain.calendar.working import VN_TZ

# Migration 0019's blocks (its functions hand out the ids; tests/test_partition_by_year.py
# checks that these agree with them): year Y owns [(Y - 2020) x BLOCK, (Y - 2019) x BLOCK),
# and `_legacy` everything below the first block.
BLOCK = 100_000_000
FIRST_YEAR, LAST_YEAR = 2021, 2040


def receipt_year(received_at: datetime) -> int:
    """The local (Vietnam) year of a receipt: the year whose ids the dossier and its steps take."""
    return received_at.astimezone(VN_TZ).year


def year_block(year: int) -> tuple[int, int]:
    """The ids [first, end) of `year`'s partitions; an empty range for a year without one
    (its rows are in `_legacy`)."""
    if FIRST_YEAR <= year <= LAST_YEAR:
        return (year - 2020) * BLOCK, (year - 2019) * BLOCK
    return 0, 0


def ids_of_years(column: ColumnElement[int], years: Iterable[int], dialect: str) -> ColumnElement[bool]:
    """`column` (a dossier's or a step's id) is in the blocks of `years` or in `_legacy`:
    the partitions where rows received in those years can be. Always true where nothing
    is partitioned (SQLite). Adjacent blocks are read as one range."""
    if dialect != "postgresql":
        return true()
    ranges = [(None, BLOCK)]  # _legacy: rows stored before the migration, years without partitions
    for first, end in sorted(year_block(year) for year in set(years)):
        if first == end:
            continue
        if first <= ranges[-1][1]:
            ranges[-1] = (ranges[-1][0], max(end, ranges[-1][1]))
        else:
            ranges.append((first, end))
    return or_(*[column < end if first is None else and_(column >= first, column < end) for first, end in ranges])


def ids_of_bound_block(column: ColumnElement[int]) -> ColumnElement[bool]:
    """`ids_of_years` for one year given at execution as the parameters `first` and `end`
    (`year_block`), for statements built once (PostgreSQL only)."""
    return or_(column < BLOCK, and_(column >= bindparam("first"), column < bindparam("end")))


_CODE_DAY = re.compile(r"-(\d\d)\d{4}-\d+$")


def code_year(code: str) -> int | None:
    """The year of receipt a whole code `<commune>-yymmdd-nnnn` carries (None if it is not one)."""
    match = _CODE_DAY.search(code)
    return 2000 + int(match.group(1)) if match else None


def code_block(code: str) -> tuple[int, int]:
    """The ids [first, end) of the year a code carries; every block when it carries none."""
    year = code_year(code)
    return year_block(year) if year is not None else (0, year_block(LAST_YEAR)[1])


def ids_of_code(column: ColumnElement[int], code: str, dialect: str) -> ColumnElement[bool]:
    """`ids_of_years` for the year a code carries (always true when it carries none)."""
    year = code_year(code)
    return ids_of_years(column, [year], dialect) if year is not None else true()


def years_of_code_start(after_commune: str) -> range | None:
    """The years of receipt of the codes whose part after `<commune>-` starts with
    `after_commune` ("2610" → 2026, "2" → 2020-2029); None when the start does not say."""
    if len(after_commune) >= 2 and after_commune[:2].isdigit():
        year = 2000 + int(after_commune[:2])
        return range(year, year + 1)
    if after_commune[:1].isdigit():
        decade = 2000 + 10 * int(after_commune[0])
        return range(decade, decade + 10)
    return None


def ensure_year_partitions(connection: Connection, years: list[int]) -> list[int]:
    """Create the partitions of `years` that are missing; returns the years created.
    A year without an id block (outside 2021-2040) raises the database's error."""
    if connection.dialect.name != "postgresql":
        return []
    # creating a partition locks the parent table: wait a little, else the next sweep tries again
    connection.execute(text("SET LOCAL lock_timeout = '5s'"))
    return [year for year in years
            if connection.execute(text("SELECT isoflow_add_year_partitions(:year)"), {"year": year}).scalar_one()]
