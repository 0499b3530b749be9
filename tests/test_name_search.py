"""Applicant-name search by whole words, the last one a prefix (engine.adapters.db.name_search):
the same answers on SQLite and PostgreSQL, and on PostgreSQL from the commune's word keys."""
from __future__ import annotations

import pytest
from sqlalchemy import select, text

from engine.adapters.db.models import Dossier, OrgUnit
from engine.adapters.db.name_search import name_keys_query, search_words
from engine.runtime import Runtime
from engine.services import dossiers
from engine.services.dossiers import Applicant
from engine.views import dossiers as views
from tests.support import build_world

NAMES = ["Đặng Thị Thu Hà", "Trần Thu Hải", "Nguyễn Thị Ánh Dương", "Lê Văn Thanh", "Dương Văn Ánh",
         "Nguyễn Văn An", "Ma Thị Hà", "Hà Văn Hùng", "Lò Văn O'Pa", "Thị Thu Hà Đặng"]


@pytest.fixture
def world(db, clock):
    world = build_world(Runtime(db, clock))
    for name in NAMES:
        dossiers.receive(world.rt, world.actor("clerk"), unit_code="TRIPHU", procedure_code="9.000001",
                         applicant=Applicant(name))
    dossiers.receive(world.rt, world.actor("nh_clerk"), unit_code="NAHANG", procedure_code="9.000001",
                     applicant=Applicant("Đặng Thị Thu Hà"))
    return world


def found(world, who: str, typed: str) -> list[str]:
    rows, total = views.search_dossiers(world.rt, world.actor(who), views.DossierFilter(applicant=typed, sort="code"))
    assert total == len(rows)
    return sorted(r.applicant_name for r in rows)


@pytest.mark.parametrize("typed, names", [
    ("thu ha", ["Trần Thu Hải", "Thị Thu Hà Đặng", "Đặng Thị Thu Hà"]),  # Hà and Hải: the last word is a prefix
    ("THU HÀ", ["Trần Thu Hải", "Thị Thu Hà Đặng", "Đặng Thị Thu Hà"]),  # no case, no diacritics
    ("đặng thị thu hà", ["Đặng Thị Thu Hà"]),  # words in the order typed
    ("dang thi thu h", ["Đặng Thị Thu Hà"]),  # the last word unfinished
    ("ánh dương", ["Nguyễn Thị Ánh Dương"]),  # not "Dương Văn Ánh": order matters
    ("anh", ["Dương Văn Ánh", "Nguyễn Thị Ánh Dương"]),  # one word: any word starting with it
    ("an", ["Dương Văn Ánh", "Nguyễn Thị Ánh Dương", "Nguyễn Văn An"]),
    ("thanh", ["Lê Văn Thanh"]),
    ("hanh", []),  # a word's inside is not a word: "thanh" does not hold the word "hanh"
    ("uong", []),
    ("van  an", ["Dương Văn Ánh", "Nguyễn Văn An"]),  # spaces collapse
    ("thi ha", ["Ma Thị Hà"]),  # adjacent words: "Thị Thu Hà" has no "thị hà"
    ("o'pa", ["Lò Văn O'Pa"]),  # quotes are text, for LIKE and for the index query alike
    ("%", []), ("_", []), ("\\", []), ("a:*|b", []), ("' & '", []),
    ("ha\U0010ffff", []), ("\U0010ffff", []), ("thu h\ud7ff", []),
])
def test_whole_words_in_order_the_last_one_a_prefix(world, typed, names):
    assert found(world, "clerk", typed) == sorted(names)


def test_only_the_actors_communes_and_everywhere_for_the_province(world):
    assert found(world, "nh_clerk", "dang thi thu ha") == ["Đặng Thị Thu Hà"]  # Na Hang's own
    assert found(world, "admin", "dang thi thu ha") == ["Đặng Thị Thu Hà", "Đặng Thị Thu Hà"]


def test_nothing_typed_filters_nothing(world):
    assert len(found(world, "clerk", "   ")) == len(NAMES)


def test_the_index_query_asks_for_neighbouring_pairs_within_the_communes():
    assert search_words("  Đặng THỊ  thu hà ") == ["dang", "thi", "thu", "ha"]
    assert name_keys_query(["dang", "thi", "thu", "ha"], [7]) == "('@7 dang thi' & '@7 thi thu' & '@7 thu ha':*)"
    assert name_keys_query(["anh"], [1, 2]) == "('@1 anh':*) | ('@2 anh':*)"
    assert name_keys_query(["o'pa", "a\\b"], None) == "'o''pa a\\\\b':*"
    # the unfinished last word asked for as the whole words it can end as
    assert name_keys_query(["dang", "thi", "thu", "ha"], [7], ["ha", "hai"]) == (
        "('@7 dang thi' & '@7 thi thu' & ('@7 thu ha' | '@7 thu hai'))")
    assert name_keys_query(["an"], None, ["an"]) == "'an'"
    # common pairs are left to the exact match while a rarer key remains; all common: the rarest
    shares = {"thi thu": 0.065, "dang thi": 0.004, "thu ha": 0.003, "thu hai": 0.003}
    assert name_keys_query(["dang", "thi", "thu", "ha"], None, ["ha", "hai"], shares) == (
        "'dang thi' & ('thu ha' | 'thu hai')")
    assert name_keys_query(["thi", "thu", "ha"], [3], None, {"thi thu": 0.065, "thu ha": 0.2}) == "('@3 thi thu')"


@pytest.mark.postgres
@pytest.mark.parametrize("common", [0.0, 1.0])
def test_whichever_keys_are_asked_the_answers_are_the_same(world, monkeypatch, common):
    """Every key counted common (only the rarest asked) or none: the exact match decides."""
    import engine.adapters.db.name_search as name_search

    monkeypatch.setattr(name_search, "COMMON_KEY", common)
    monkeypatch.setattr(name_search, "key_frequencies", lambda connection: {"dang thi": 0.5, "thi thu": 0.4})
    assert found(world, "clerk", "dang thi thu ha") == ["Đặng Thị Thu Hà"]
    assert found(world, "clerk", "thi thu h") == sorted(["Đặng Thị Thu Hà", "Thị Thu Hà Đặng"])
    assert found(world, "clerk", "nguyen thi anh d") == ["Nguyễn Thị Ánh Dương"]


@pytest.mark.postgres
def test_postgresql_keeps_the_words_of_names_and_asks_for_the_endings_whole(world, db):
    from engine.adapters.db.name_search import MAX_ENDINGS, word_endings

    with db.engine.connect() as conn:
        assert word_endings(conn, "ha") == ["ha", "hai"]  # Hà, Hải (Hùng does not start with "ha")
        assert word_endings(conn, "o'p") == ["o'pa"] and word_endings(conn, "zz") == []
    dossiers.receive(world.rt, world.actor("clerk"), unit_code="TRIPHU", procedure_code="9.000001",
                     applicant=Applicant("Vũ Thu Hạnh"))  # the trigger keeps the new word
    with db.engine.begin() as conn:
        assert word_endings(conn, "ha") == ["ha", "hai", "hanh"]
        conn.execute(text("INSERT INTO name_words SELECT 'q' || g FROM generate_series(1, :n) g"), {"n": MAX_ENDINGS + 1})
        assert word_endings(conn, "q") is None  # too many: the index's own prefix match
        assert word_endings(conn, "q1") is not None
    assert found(world, "clerk", "thu ha") == sorted(["Trần Thu Hải", "Thị Thu Hà Đặng", "Đặng Thị Thu Hà", "Vũ Thu Hạnh"])
    assert found(world, "clerk", "thu hanh") == ["Vũ Thu Hạnh"] and found(world, "clerk", "thu hz") == []


@pytest.mark.postgres
def test_the_migration_fills_the_words_of_the_names_already_stored(world, db, database_url):
    from alembic import command

    from engine.adapters.db.migrate import alembic_config

    command.downgrade(alembic_config(database_url), "0016_pool_index")
    command.upgrade(alembic_config(database_url), "head")
    with db.engine.connect() as conn:
        words = set(conn.execute(text("SELECT word FROM name_words")).scalars())
    assert {"dang", "thi", "thu", "ha", "hai", "o'pa", "duong", "hung"} <= words
    assert found(world, "clerk", "thu ha") == sorted(["Trần Thu Hải", "Thị Thu Hà Đặng", "Đặng Thị Thu Hà"])


@pytest.mark.postgres
def test_postgresql_keys_are_the_names_words_and_pairs_per_commune(world, db):
    with db.engine.connect() as conn:
        unit = conn.scalar(select(OrgUnit.id).where(OrgUnit.code == "TRIPHU"))
        keys = conn.execute(text("SELECT isoflow_name_keys(:u, 'dang thi thu ha')::text"), {"u": unit}).scalar_one()
        assert set(keys.replace("' '", "'|'").strip("'").split("'|'")) == {
            *(k for k in ("dang", "thi", "thu", "ha", "dang thi", "thi thu", "thu ha")),
            *(f"@{unit} {k}" for k in ("dang", "thi", "thu", "ha", "dang thi", "thi thu", "thu ha"))}
        # every stored name's keys answer the query built for it (the function and the query agree)
        for name, in conn.execute(select(Dossier.applicant_name_folded)).all():
            words = name.split()
            for scoped in ([unit], None):
                query = name_keys_query(words, scoped)
                hit = conn.execute(text("SELECT count(*) FROM dossiers WHERE org_unit_id = :u AND "
                                        "isoflow_name_keys(org_unit_id, applicant_name_folded) @@ CAST(:q AS tsquery) "
                                        "AND applicant_name_folded = :n"), {"u": unit, "q": query, "n": name}).scalar()
                assert hit >= 1, (name, query)


@pytest.mark.postgres
@pytest.mark.parametrize("folded", ["dang thi thu ha", "ha", "", "ha ha ha", "ma  thi", "lo van o'pa", "a b c d e f g"])
def test_postgresql_keys_are_those_of_the_first_sql_body(db, folded):
    """Migration 0020 rewrote the function the GIN indexes call; the indexes stay valid
    only if every name gets the very keys migration 0013's body gave it."""
    first_body = """
      SELECT array_to_tsvector(k || ARRAY(SELECT '@' || :unit || ' ' || x FROM unnest(k) x))
      FROM (SELECT w || ARRAY(SELECT w[i] || ' ' || w[i + 1] FROM generate_series(1, cardinality(w) - 1) i) AS k
            FROM (SELECT string_to_array(CAST(:folded AS text), ' ') AS w) s) t"""
    with db.engine.connect() as conn:
        assert conn.scalar(text(
            "SELECT lanname FROM pg_proc JOIN pg_language l ON l.oid = prolang WHERE proname = 'isoflow_name_keys'")) \
            == "plpgsql"
        for unit in (1, 12345):
            params = {"unit": unit, "folded": folded}
            try:
                expected = conn.execute(text(first_body), params).scalar_one()
            except Exception as refused:  # an empty word: both bodies refuse it alike
                conn.rollback()
                with pytest.raises(type(refused)):
                    conn.execute(text("SELECT isoflow_name_keys(:unit, :folded)"), params).scalar_one()
                conn.rollback()
                continue
            assert conn.execute(text("SELECT isoflow_name_keys(:unit, :folded)"), params).scalar_one() == expected


@pytest.mark.postgres
def test_postgresql_answers_from_the_word_keys_index(world, db):
    with db.engine.connect() as conn:
        conn.execute(text("SET enable_seqscan = off"))  # the table is tiny: make the planner show its index
        plan = "\n".join(conn.execute(text(
            "EXPLAIN SELECT id FROM dossiers WHERE isoflow_name_keys(org_unit_id, applicant_name_folded) "
            "@@ CAST(:q AS tsquery)"), {"q": name_keys_query(["anh", "duong"], [1])}).scalars())
    # the index, or on dossiers partitioned by year (migration 0019) its partitions' copies
    assert "ix_dossiers_applicant_keys" in plan or "_isoflow_name_keys_idx" in plan, plan


@pytest.mark.postgres
def test_postgresql_key_shares_come_from_the_index_statistics(world, db):
    import engine.adapters.db.name_search as name_search

    name_search._frequencies.clear()
    with db.engine.connect() as conn:
        conn.execute(text("ANALYZE dossiers"))
        conn.commit()
        shares = name_search.key_frequencies(conn)
    # 5 of the 11 names hold the word "thi" ("Thị"), 1 holds "lo"
    assert shares["thi"] == pytest.approx(5 / 11, abs=0.02) and shares["lo"] == pytest.approx(1 / 11, abs=0.02), shares
    name_search._frequencies.clear()


def test_many_communes_are_asked_in_the_whole_province_keys(world, monkeypatch):
    """Beyond SCOPED_UNITS communes the query uses the unscoped keys: same answers."""
    import engine.adapters.db.name_search as name_search

    monkeypatch.setattr(name_search, "SCOPED_UNITS", 0)
    assert found(world, "admin", "dang thi thu ha") == ["Đặng Thị Thu Hà", "Đặng Thị Thu Hà"]
    assert found(world, "clerk", "thu ha") == (
        sorted(["Thị Thu Hà Đặng", "Trần Thu Hải", "Đặng Thị Thu Hà"]))
