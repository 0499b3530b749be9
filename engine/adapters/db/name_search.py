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
GIN index on it. `name_keys_query` asks that index for the neighbouring pairs typed,
inside the actor's communes when they are few: the posting lists it reads are then
those of one commune's pairs, not of a syllable common to millions of names (what made
the earlier trigram match slow at a province's size). The unfinished last word is
asked for as the whole words it can end as (`word_endings`, from the table `name_words`
of migration 0017): a prefix in a GIN query gathers every posting list of every key
that starts so before the other keys can narrow it. Pairs held by more than COMMON_KEY
of the dossiers (`key_frequencies`) are left to the exact match while a rarer one is
asked: skipping through a long posting list costs more than the rows it rules out.
"""
from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

from sqlalchemy import ColumnElement, Connection, and_, cast, column, false, func, literal, select, table, text
from sqlalchemy.dialects.postgresql import TSQUERY

from engine.adapters.db.code_search import starts_with
from engine.adapters.db.models import Dossier
from engine.domain.text import fold

NAME_KEYS_FUNCTION = "isoflow_name_keys"
# Up to this many communes the index is asked within each of them; beyond, in the whole
# province (a query over 120 communes' keys costs more than the whole-province lists).
SCOPED_UNITS = 16
# Up to this many stored words an unfinished last word can end as are asked for whole;
# beyond (one or two letters typed), the index's own prefix match.
MAX_ENDINGS = 32
NAME_WORDS = table("name_words", column("word"))  # PostgreSQL only (migration 0017)
# A key held by more than this share of the dossiers ("thi thu": 6.5 % of a province) is
# left to the exact match (`name_matches`) while a rarer key is asked.
COMMON_KEY = 0.01
# The index's statistics change with ANALYZE only; they steer which keys are asked, never
# what is found, so each process rereads them this often (seconds).
STATISTICS_TTL = 600.0
_frequencies: dict[str, tuple[float, dict[str, float]]] = {}  # per database: (read at, shares)


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


def word_endings(connection: Connection, prefix: str) -> list[str] | None:
    """The stored words of applicants' names that start with `prefix` (PostgreSQL's
    `name_words`), or None when there are more than MAX_ENDINGS."""
    words = connection.execute(select(NAME_WORDS.c.word).where(starts_with(NAME_WORDS.c.word, prefix))  # collation "C"
                               .order_by(NAME_WORDS.c.word).limit(MAX_ENDINGS + 1)).scalars().all()
    return None if len(words) > MAX_ENDINGS else list(words)


# The name index's most common keys with their shares, per index that holds them: the
# index itself on a plain table; each partition's on a partitioned one (migration 0019:
# ANALYZE keeps an index's element statistics only where its rows are).
_KEY_STATISTICS = """
SELECT s.most_common_elems::text::text[], s.most_common_elem_freqs, greatest(t.reltuples, 0)
FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
JOIN pg_stats s ON s.schemaname = current_schema() AND s.tablename = i.relname
WHERE s.most_common_elems IS NOT NULL AND (x.indexrelid = 'ix_dossiers_applicant_keys'::regclass
   OR x.indexrelid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'ix_dossiers_applicant_keys'::regclass))
"""


def key_frequencies(connection: Connection) -> dict[str, float]:
    """The share of dossiers holding each of the index's most common keys, as the last
    ANALYZE measured them (PostgreSQL keeps a tsvector index's most common elements),
    read per database again every STATISTICS_TTL seconds. Over partitions, a key's
    share is weighted by each partition's rows (a key too rare to be listed in one
    partition counts as none there)."""
    now, database = time.monotonic(), str(connection.engine.url)
    read = _frequencies.get(database)
    if read is None or now - read[0] > STATISTICS_TTL:
        rows = connection.execute(text(_KEY_STATISTICS)).all()
        total = sum(row[2] for row in rows) or 1.0
        shares: dict[str, float] = {}
        for keys, frequencies, row_count in rows:
            for key, frequency in zip(keys, frequencies):
                shares[key] = shares.get(key, 0.0) + frequency * row_count / total
        read = _frequencies[database] = (now, shares)
    return read[1]


def name_keys_query(words: Sequence[str], unit_ids: Sequence[int] | None,
                    endings: Sequence[str] | None = None, frequencies: Mapping[str, float] | None = None) -> str:
    """The tsquery text for `isoflow_name_keys`: the neighbouring pairs typed (one word:
    the word), within each of `unit_ids` when given. The last word is unfinished: asked
    for as each of `endings` (the whole words it can end as, at least one), or as a
    prefix when `endings` is None. With `frequencies` (`key_frequencies`), common pairs
    are left out while a rarer one remains (the exact match checks them all)."""
    *before, last = words
    lead = f"{before[-1]} " if before else ""
    # each term: its keys (the last term's: its alternatives) and whether they are prefixes
    terms: list[tuple[list[str], bool]] = [([f"{a} {b}"], False) for a, b in zip(before, before[1:])]
    terms.append(([lead + last], True) if endings is None else ([lead + e for e in endings], False))
    if frequencies:
        share = [sum(frequencies.get(key, 0.0) for key in keys) for keys, _ in terms]
        rare = [term for term, f in zip(terms, share) if f <= COMMON_KEY]
        terms = rare or [min(zip(terms, share), key=lambda pair: pair[1])[0]]

    def conjunction(scope: str) -> str:
        out = []
        for keys, prefix in terms:
            alternatives = [_lexeme(scope + key, prefix) for key in keys]
            out.append(alternatives[0] if len(alternatives) == 1 else "(" + " | ".join(alternatives) + ")")
        return " & ".join(out)

    if unit_ids is None:
        return conjunction("")
    return " | ".join(f"({conjunction(f'@{unit} ')})" for unit in unit_ids)


def name_keys_match(words: Sequence[str], unit_ids: Sequence[int], endings: Sequence[str] | None = None,
                    frequencies: Mapping[str, float] | None = None) -> ColumnElement[bool]:
    """The index condition (PostgreSQL): candidates for `name_matches`, found in the GIN
    index on `isoflow_name_keys(org_unit_id, applicant_name_folded)`."""
    scoped = list(unit_ids) if len(unit_ids) <= SCOPED_UNITS else None
    keys = getattr(func, NAME_KEYS_FUNCTION)(Dossier.org_unit_id, Dossier.applicant_name_folded)
    return keys.op("@@")(cast(name_keys_query(words, scoped, endings, frequencies), TSQUERY))


def names_keyed_by_commune(dialect: str, unit_ids: Sequence[int]) -> bool:
    """Whether `applicant_condition` asks the index within each of these communes (its
    keys then imply the commune): `name_keys_match` scopes up to SCOPED_UNITS."""
    return dialect == "postgresql" and len(unit_ids) <= SCOPED_UNITS


def applicant_condition(connection: Connection, typed: str, unit_ids: Sequence[int]) -> ColumnElement[bool] | None:
    """The whole applicant filter for this database, or None when nothing was typed."""
    words = search_words(typed)
    if not words:
        return None
    if connection.dialect.name != "postgresql":
        return name_matches(words)
    endings = word_endings(connection, words[-1])
    if endings == []:  # no applicant's name has a word that starts so
        return false()
    return and_(name_keys_match(words, unit_ids, endings, key_frequencies(connection)), name_matches(words))
