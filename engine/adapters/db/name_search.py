"""Applicant-name search by whole words (Vietnamese syllables), the last one a prefix.

What a user types is folded like the stored key (`engine.domain.text.fold`: no case, no
diacritics, đ as d) and split into words; a dossier matches when its folded name holds
those words in the order typed, one after the other, the first starting a word and
the last one possibly unfinished: "anh duong" and "ANH DƯƠ" find "Nguyễn Thị Ánh
Dương", "thu ha" finds "Đặng Thị Thu Hà" and "Trần Thu Hải", "uong" finds nothing.

That condition (`name_matches`) is one LIKE on " " + the folded name, the same on
every database; SQLite evaluates it row by row (one commune's dossiers). On
PostgreSQL an index finds the candidates first: migration 0013 creates the SQL function
`isoflow_name_keys(org_unit_id, folded)`, which turns a name into its words and its
pairs of neighbouring words, each also prefixed by the commune ("@17 thu ha"), and a
GIN index on it. `name_keys_query` asks that index for every neighbouring pair typed
(the last one as a prefix), inside the actor's communes when they are few: the posting
lists it reads are then those of one commune's pairs, not of a syllable common to
millions of names (what made the earlier trigram match slow at a province's size).
"""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, and_, cast, func, literal
from sqlalchemy.dialects.postgresql import TSQUERY

from engine.adapters.db.models import Dossier
from engine.domain.text import fold

NAME_KEYS_FUNCTION = "isoflow_name_keys"
# Up to this many communes the index is asked within each of them; beyond, in the whole
# province (a query over 120 communes' keys costs more than the whole-province lists).
SCOPED_UNITS = 16


def search_words(typed: str) -> list[str]:
    """The folded words of what a user typed (empty when nothing searchable)."""
    return fold(typed).split()


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def name_matches(words: Sequence[str]) -> ColumnElement[bool]:
    """The exact condition: the words, in order and adjacent, the first starting a word,
    the last one a prefix."""
    pattern = "% " + _escape_like(" ".join(words)) + "%"
    return (literal(" ") + Dossier.applicant_name_folded).like(pattern, escape="\\")


def _lexeme(key: str, prefix: bool = False) -> str:
    # a quoted tsquery lexeme: quotes and backslashes doubled; `:*` asks for a prefix
    return "'" + key.replace("\\", "\\\\").replace("'", "''") + "'" + (":*" if prefix else "")


def name_keys_query(words: Sequence[str], unit_ids: Sequence[int] | None) -> str:
    """The tsquery text for `isoflow_name_keys`: every neighbouring pair typed (one word:
    the word), the last as a prefix; within each of `unit_ids` when given."""
    if len(words) == 1:
        keys = [(words[0], True)]
    else:
        keys = [(f"{a} {b}", i == len(words) - 2) for i, (a, b) in enumerate(zip(words, words[1:]))]

    def conjunction(scope: str) -> str:
        return " & ".join(_lexeme(scope + key, prefix) for key, prefix in keys)

    if unit_ids is None:
        return conjunction("")
    return " | ".join(f"({conjunction(f'@{unit} ')})" for unit in unit_ids)


def name_keys_match(words: Sequence[str], unit_ids: Sequence[int]) -> ColumnElement[bool]:
    """The index condition (PostgreSQL): candidates for `name_matches`, found in the GIN
    index on `isoflow_name_keys(org_unit_id, applicant_name_folded)`."""
    scoped = list(unit_ids) if len(unit_ids) <= SCOPED_UNITS else None
    keys = getattr(func, NAME_KEYS_FUNCTION)(Dossier.org_unit_id, Dossier.applicant_name_folded)
    return keys.op("@@")(cast(name_keys_query(words, scoped), TSQUERY))


def applicant_condition(dialect: str, typed: str, unit_ids: Sequence[int]) -> ColumnElement[bool] | None:
    """The whole applicant filter for this database, or None when nothing was typed."""
    words = search_words(typed)
    if not words:
        return None
    if dialect == "postgresql":
        return and_(name_keys_match(words, unit_ids), name_matches(words))
    return name_matches(words)
