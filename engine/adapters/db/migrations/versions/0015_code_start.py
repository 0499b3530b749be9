"""dossier codes compare byte by byte (collation "C"): searched by their start

Revision ID: 0015_code_start
Revises: 0014_scale2_finished_cover
Create Date: 2026-11-27

PostgreSQL only (SQLite's BINARY collation already compares bytes). A part of a dossier
code is now matched by the code's start, with or without its commune's code
(`engine.adapters.db.code_search`), as a range of the code's unique B-tree index. A range
is a start only when the column compares byte by byte, which the database's default
collation does not promise (en_US ignores the hyphens first), so the column moves to
the "C" collation; codes are ASCII identifiers, so their order is unchanged where it
already was bytewise. The trigram index that served the earlier substring match
(migration 0008) is dropped: at a province's size its lists for the shared commune and
date trigrams made every part slow. Changing the collation rebuilds the unique index
(about 15 s at 10,000,000 dossiers) under an exclusive lock: on a live province, run it
in a quiet hour.
"""
import sqlalchemy as sa
from alembic import op

revision = '0015_code_start'
down_revision = '0014_scale2_finished_cover'
branch_labels = None
depends_on = None

CODE_TRGM = 'ix_dossiers_code_trgm'


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute(f'DROP INDEX IF EXISTS {CODE_TRGM}')
    op.execute('ALTER TABLE dossiers ALTER COLUMN code TYPE VARCHAR(40) COLLATE "C"')


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != 'postgresql':
        return
    op.execute('ALTER TABLE dossiers ALTER COLUMN code TYPE VARCHAR(40) COLLATE "default"')
    if bind.execute(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")).first():
        op.execute(f'CREATE INDEX {CODE_TRGM} ON dossiers USING gin (code gin_trgm_ops)')
