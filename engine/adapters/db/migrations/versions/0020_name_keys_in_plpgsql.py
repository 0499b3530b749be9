"""isoflow_name_keys in PL/pgSQL: same keys, a plan kept per connection

Revision ID: 0020_name_keys_in_plpgsql
Revises: 0019_partition_by_year
Create Date: 2026-11-28

PostgreSQL only. The GIN index `ix_dossiers_applicant_keys` calls
`isoflow_name_keys(org_unit_id, applicant_name_folded)` (migration 0013) for every new
version of a dossier row: at a receipt, and at every change of status or escalation
instant, since those columns are indexed and such an update is not HOT. Written in SQL
with subqueries, the function cannot be inlined and PostgreSQL plans its body again at
every statement that calls it: 0.15 ms of the 0.3 ms such an UPDATE costs. PL/pgSQL
keeps its plans for the connection's life. The keys are the same (a test compares them
with the SQL body on names of every shape), so the indexes stay valid and are not rebuilt.
"""
from alembic import op

revision = '0020_name_keys_in_plpgsql'
down_revision = '0019_partition_by_year'
branch_labels = None
depends_on = None

PLPGSQL = """
CREATE OR REPLACE FUNCTION isoflow_name_keys(unit integer, folded text) RETURNS tsvector
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
  words text[] := string_to_array(folded, ' ');
  keys text[] := words;
BEGIN
  FOR i IN 1 .. cardinality(words) - 1 LOOP  -- each word, then each pair of neighbours
    keys := keys || (words[i] || ' ' || words[i + 1]);
  END LOOP;
  RETURN array_to_tsvector(keys || ARRAY(SELECT '@' || unit || ' ' || k FROM unnest(keys) k));
END
$$
"""
# migration 0013's body, restored on downgrade
SQL = """
CREATE OR REPLACE FUNCTION isoflow_name_keys(unit integer, folded text) RETURNS tsvector
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  SELECT array_to_tsvector(k || ARRAY(SELECT '@' || unit || ' ' || x FROM unnest(k) x))
  FROM (SELECT w || ARRAY(SELECT w[i] || ' ' || w[i + 1] FROM generate_series(1, cardinality(w) - 1) i) AS k
        FROM (SELECT string_to_array(folded, ' ') AS w) s) t
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(PLPGSQL)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(SQL)
