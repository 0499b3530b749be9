"""applicant names searched by whole words within the commune: isoflow_name_keys + GIN

Revision ID: 0013_scale_name_keys
Revises: 0012_scale_closed_state
Create Date: 2026-11-27

PostgreSQL only (SQLite matches row by row). `isoflow_name_keys(org_unit_id, folded)`
turns a folded applicant name into a tsvector of its words and its pairs of
neighbouring words, each once as is and once prefixed by the commune's id
("thu ha", "@17 thu ha"); `ix_dossiers_applicant_keys` is a GIN index on it, read by
`engine.adapters.db.name_search`. It replaces the pg_trgm index on the folded name
(migration 0005), whose trigram lists for common syllables hold millions of rows at a
province's size. On a live province, build the index first without blocking writes
(`CREATE INDEX CONCURRENTLY ix_dossiers_applicant_keys ...` after creating the
function, the definitions below); this migration then finds it in place.
"""
from alembic import op
import sqlalchemy as sa

revision = '0013_scale_name_keys'
down_revision = '0012_scale_closed_state'
branch_labels = None
depends_on = None

FUNCTION = """
CREATE OR REPLACE FUNCTION isoflow_name_keys(unit integer, folded text) RETURNS tsvector
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT array_to_tsvector(k || ARRAY(SELECT '@' || unit || ' ' || x FROM unnest(k) x))
  FROM (SELECT w || ARRAY(SELECT w[i] || ' ' || w[i + 1] FROM generate_series(1, cardinality(w) - 1) i) AS k
        FROM (SELECT string_to_array(folded, ' ') AS w) s) t
$$
"""
INDEX = ("CREATE INDEX IF NOT EXISTS ix_dossiers_applicant_keys ON dossiers "
         "USING gin (isoflow_name_keys(org_unit_id, applicant_name_folded::text))")
TRGM_INDEX = 'ix_dossiers_applicant_name_folded_trgm'
BTREE_INDEX = 'ix_dossiers_applicant_name_folded'


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute(FUNCTION)
    op.execute("SET LOCAL maintenance_work_mem = '256MB'")
    op.execute(INDEX)
    op.execute(f'DROP INDEX IF EXISTS {TRGM_INDEX}')
    op.execute(f'DROP INDEX IF EXISTS {BTREE_INDEX}')


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != 'postgresql':
        return
    op.execute('DROP INDEX IF EXISTS ix_dossiers_applicant_keys')
    op.execute('DROP FUNCTION IF EXISTS isoflow_name_keys(integer, text)')
    if bind.execute(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")).first():
        op.execute(f'CREATE INDEX {TRGM_INDEX} ON dossiers USING gin (applicant_name_folded gin_trgm_ops)')
    else:
        op.create_index(BTREE_INDEX, 'dossiers', ['applicant_name_folded'])
