"""statistics: the finished-in-a-period index covers what indicator 2.2 reads

Revision ID: 0014_scale2_finished_cover
Revises: 0013_scale_name_keys
Create Date: 2026-11-27

PostgreSQL only. Indicator 2.2 (average processing time) reads every dossier finished in
the period through the index on `finished_at` and, with a plain index, visits the table
for each one to read its commune, classification and receipt instant: at a province's
size (175,000 dossiers finished in a month) that is a table page per dossier.
`ix_dossiers_finished_cover` holds the same key and INCLUDEs those columns (and the id
and procedure version the pauses and the field/procedure groupings join on), so the
pass is an index-only scan; it replaces `ix_dossiers_finished_at` (migration 0009), which
every other reader of `finished_at` used through the same leading column. On SQLite
(no INCLUDE there) the index is renamed only, so both databases match the model. On a live province, build it first without
blocking writes (`CREATE INDEX CONCURRENTLY ix_dossiers_finished_cover ...`, the
definition below); this migration then finds it in place.
"""
from alembic import op

revision = '0014_scale2_finished_cover'
down_revision = '0013_scale_name_keys'
branch_labels = None
depends_on = None

COVER_INDEX = 'ix_dossiers_finished_cover'
PLAIN_INDEX = 'ix_dossiers_finished_at'
COVERED = ('org_unit_id', 'classification', 'received_at', 'id', 'procedure_version_id')


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        op.create_index(COVER_INDEX, 'dossiers', ['finished_at'])
        op.drop_index(PLAIN_INDEX, table_name='dossiers')
        return
    op.execute("SET LOCAL maintenance_work_mem = '256MB'")
    op.execute(f"CREATE INDEX IF NOT EXISTS {COVER_INDEX} ON dossiers (finished_at) INCLUDE ({', '.join(COVERED)})")
    op.execute(f'DROP INDEX IF EXISTS {PLAIN_INDEX}')


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        op.create_index(PLAIN_INDEX, 'dossiers', ['finished_at'])
        op.drop_index(COVER_INDEX, table_name='dossiers')
        return
    op.execute(f'CREATE INDEX IF NOT EXISTS {PLAIN_INDEX} ON dossiers (finished_at)')
    op.execute(f'DROP INDEX IF EXISTS {COVER_INDEX}')
