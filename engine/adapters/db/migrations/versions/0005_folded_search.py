"""folded applicant name for accent- and case-insensitive search

Revision ID: 0005_folded_search
Revises: 0004_event_head_trigger
Create Date: 2026-11-27

`dossiers.applicant_name_folded` holds `engine.domain.text.fold(applicant_name)`
(lower case, no diacritics, đ as d), back-filled here in batches with the same
Python function the write path uses, so both databases match "ánh dương",
"ANH DUONG" and a decomposed (NFD) "Ánh Dương" alike. The search matches a substring
of it: PostgreSQL indexes it with a pg_trgm GIN index when the extension can be
created (it is a trusted extension since PostgreSQL 13), a B-tree index otherwise;
SQLite gets a B-tree index the substring scan reads instead of the table.
"""
import sqlalchemy as sa
from alembic import op

from engine.domain.text import fold

revision = '0005_folded_search'
down_revision = '0004_event_head_trigger'
branch_labels = None
depends_on = None

FOLDED_LENGTH = 400
BATCH = 2000
TRGM_INDEX = 'ix_dossiers_applicant_name_folded_trgm'
BTREE_INDEX = 'ix_dossiers_applicant_name_folded'


def upgrade() -> None:
    bind = op.get_bind()
    op.add_column('dossiers', sa.Column('applicant_name_folded', sa.String(length=FOLDED_LENGTH), nullable=False,
                                        server_default=''))
    dossiers = sa.table('dossiers', sa.column('id', sa.Integer), sa.column('applicant_name', sa.String),
                        sa.column('applicant_name_folded', sa.String))
    last_id = 0
    while True:
        rows = bind.execute(sa.select(dossiers.c.id, dossiers.c.applicant_name).where(dossiers.c.id > last_id)
                            .order_by(dossiers.c.id).limit(BATCH)).all()
        if not rows:
            break
        bind.execute(dossiers.update().where(dossiers.c.id == sa.bindparam('row_id'))
                     .values(applicant_name_folded=sa.bindparam('folded')),
                     [{'row_id': row.id, 'folded': fold(row.applicant_name or '')[:FOLDED_LENGTH]} for row in rows])
        last_id = rows[-1].id
    if bind.dialect.name == 'postgresql' and _trigram_available(bind):
        op.execute(f'CREATE INDEX {TRGM_INDEX} ON dossiers USING gin (applicant_name_folded gin_trgm_ops)')
    else:
        op.create_index(BTREE_INDEX, 'dossiers', ['applicant_name_folded'])


def _trigram_available(bind) -> bool:
    """Create pg_trgm if this role may; a refusal leaves the B-tree index instead."""
    if not bind.execute(sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")).first():
        return False
    savepoint = bind.begin_nested()
    try:
        bind.execute(sa.text('CREATE EXTENSION IF NOT EXISTS pg_trgm'))
    except sa.exc.DBAPIError:
        savepoint.rollback()
        return False
    savepoint.commit()
    return True


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        op.execute(f'DROP INDEX IF EXISTS {TRGM_INDEX}')
        op.execute(f'DROP INDEX IF EXISTS {BTREE_INDEX}')
        op.drop_column('dossiers', 'applicant_name_folded')
    else:
        op.drop_index(BTREE_INDEX, 'dossiers')
        # SQLite >= 3.35 drops a column in place; a batch copy of the table would trip
        # the foreign keys of the rows that point at dossiers
        op.execute('ALTER TABLE dossiers DROP COLUMN applicant_name_folded')
