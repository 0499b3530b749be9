"""the words of applicants' names, so an unfinished last word is looked up whole

Revision ID: 0017_name_words
Revises: 0016_pool_index
Create Date: 2026-11-27

PostgreSQL only. The name search asks the GIN index of migration 0013 for every pair of
neighbouring words typed, the last one unfinished ("thu ha" also finds "Thu Hải"). A
prefix in a GIN query is a partial match: the index gathers every posting list of every
key that starts so into a bitmap before it can AND the other keys in (74,000 rows for
"thu ha" in a province), which made a four-word name take 70-90 ms at 10,000,000
dossiers. `name_words` holds each folded word that occurs in an applicant's name (a few
thousand: Vietnamese names are made of syllables); `engine.adapters.db.name_search`
turns the unfinished word into the words it can end as, so the index is asked for
whole keys and skips through the common ones (14 ms for the same name). A trigger adds
the words of every dossier written; words are never removed (a word no dossier holds
any more only adds an empty branch to a query). The table is filled here from the
dossiers already stored (one pass over the table, about a minute at 10,000,000).
"""
from alembic import op

revision = '0017_name_words'
down_revision = '0016_pool_index'
branch_labels = None
depends_on = None

WORDS_OF_DOSSIERS = """
INSERT INTO name_words (word)
SELECT DISTINCT w FROM dossiers, unnest(string_to_array(applicant_name_folded::text, ' ')) AS w
WHERE w <> '' ON CONFLICT DO NOTHING
"""
TRIGGER_FUNCTION = """
CREATE OR REPLACE FUNCTION isoflow_keep_name_words() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO name_words (word)
  SELECT DISTINCT w FROM unnest(string_to_array(NEW.applicant_name_folded::text, ' ')) AS w
  WHERE w <> '' ON CONFLICT DO NOTHING;
  RETURN NULL;
END $$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute('CREATE TABLE name_words (word TEXT COLLATE "C" PRIMARY KEY)')
    op.execute(WORDS_OF_DOSSIERS)
    op.execute(TRIGGER_FUNCTION)
    op.execute('CREATE TRIGGER tr_dossiers_name_words AFTER INSERT OR UPDATE OF applicant_name_folded ON dossiers '
               'FOR EACH ROW EXECUTE FUNCTION isoflow_keep_name_words()')


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute('DROP TRIGGER IF EXISTS tr_dossiers_name_words ON dossiers')
    op.execute('DROP FUNCTION IF EXISTS isoflow_keep_name_words()')
    op.execute('DROP TABLE IF EXISTS name_words')
