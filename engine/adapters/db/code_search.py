"""Dossier-code search by the code's start, with or without its commune's code.

Codes are `<commune>-yymmdd-nnnn` (engine.services.dossiers). A clerk types a code
from its start ("X001-2610", "x001-261015-00") or from after the commune
("261015-0042", "2610"); both match by the code's start, in any letter case. A
substring elsewhere in the code ("0042" alone) does not: a substring index reads long
posting lists at a province's size, since every code shares its commune's and its
days' trigrams (docs/performance.md).

Each candidate start is a range of the code column (`code >= start AND code < start
with its last character raised`), which the code's unique B-tree index reads in order.
That holds because the code compares byte by byte: the column is in the "C" collation
on PostgreSQL (migration 0015) and in SQLite's BINARY collation. Ranges, not LIKE,
so a generic plan of a prepared statement still uses the index. A start that says its
year ("X001-26...") says which year's partitions to read (engine.adapters.db.partitions).
"""
from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import NamedTuple

from sqlalchemy import ColumnElement, and_, false, or_

from engine.adapters.db.models import Dossier
from engine.adapters.db.partitions import years_of_code_start


def starts_with(column: ColumnElement[str], start: str) -> ColumnElement[bool]:
    """`column` starts with `start`, as a range an index reads in order; only for a column
    that compares byte by byte (collation "C" on PostgreSQL, BINARY on SQLite)."""
    stem = start.rstrip(chr(sys.maxunicode))  # the last code point has no successor
    if not stem:
        return column >= start
    following = ord(stem[-1]) + 1
    if 0xD800 <= following <= 0xDFFF:  # surrogates are not text: the next character is U+E000
        following = 0xE000
    return and_(column >= start, column < stem[:-1] + chr(following))


class CodeStart(NamedTuple):
    matches: ColumnElement[bool]
    years: frozenset[int] | None  # the years of receipt of every code it matches; None: any


def code_start(typed: str, units: Mapping[int, str]) -> CodeStart:
    """Dossiers of `units` ({id: code}) whose code starts with `typed`, or whose code
    after `<commune>-` does; letter case is ignored for the commune's code. The years
    come from the digits typed after the commune ("X001-2610": 2026)."""
    typed = typed.strip()
    if not typed:
        return CodeStart(false(), frozenset())
    upper = typed.upper()
    own_starts, whole_units = [], []
    for unit_id, unit_code in sorted(units.items()):
        own = unit_code + "-"
        if upper.startswith(own.upper()):
            own_starts.append((unit_code, typed[len(own):]))
        elif own.upper().startswith(upper):  # part of the commune's code: all of its dossiers
            whole_units.append(unit_id)
    if not own_starts:  # typed from after the commune's code
        own_starts = [(unit_code, typed) for _, unit_code in sorted(units.items())]
    branches = [starts_with(Dossier.code, f"{unit_code}-{after}") for unit_code, after in own_starts]
    years: set[int] | None = set()
    for _, after in own_starts:
        said = years_of_code_start(after)
        years = None if said is None or years is None else years | set(said)
    if whole_units:
        branches.append(Dossier.org_unit_id.in_(whole_units))
        years = None
    return CodeStart(or_(*branches) if branches else false(), None if years is None else frozenset(years))
