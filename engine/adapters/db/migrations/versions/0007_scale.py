"""province scale: indexes on what is open, search by code and national ID

Revision ID: 0007_scale
Revises: 0006_procedure_scope
Create Date: 2026-11-27

With years of history most rows are closed: at 10,000,000 dossiers and 40,000,000
steps (85 % closed), only 1 in 25 steps is open. The indexes that only ever serve
open rows (the inbox, the queue, due open steps, the scheduler's next instants)
become partial on PostgreSQL, so their size follows what is open, not the history
(docs/performance.md, "Province scale"). SQLite keeps them whole: SQLite uses a
partial index only when the query spells the same literal, and the engine binds
its values as parameters.

Search: the dossier code is matched as a substring (ILIKE), which a pg_trgm GIN
index answers on PostgreSQL (SQLite reads the narrow unique index on code); the
national ID number is matched exactly, through a B-tree index on both databases.
"""
import sqlalchemy as sa
from alembic import op

revision = '0007_scale'
down_revision = '0006_procedure_scope'
branch_labels = None
depends_on = None

# name -> (table, columns, the condition that makes it partial on PostgreSQL)
PARTIAL = {
    'ix_tasks_inbox': ('tasks', 'assignee_id, state, due_at', "state = 'open'"),
    'ix_tasks_queue': ('tasks', 'org_unit_id, role, state, due_at', "state = 'open'"),
    'ix_tasks_open_due': ('tasks', 'state, due_at', "state = 'open'"),
    'ix_tasks_next_escalation_at': ('tasks', 'next_escalation_at', 'next_escalation_at IS NOT NULL'),
    'ix_dossiers_next_escalation_at': ('dossiers', 'next_escalation_at', 'next_escalation_at IS NOT NULL'),
    'ix_workflow_states_next_timer_at': ('workflow_states', 'next_timer_at', 'next_timer_at IS NOT NULL'),
}
CODE_TRGM = 'ix_dossiers_code_trgm'
ID_NUMBER = 'ix_dossiers_applicant_id_number'


def upgrade() -> None:
    bind = op.get_bind()
    op.create_index(ID_NUMBER, 'dossiers', ['applicant_id_number'])
    if bind.dialect.name != 'postgresql':
        return
    for name, (table, columns, condition) in PARTIAL.items():
        op.execute(f'DROP INDEX IF EXISTS {name}')
        op.execute(f'CREATE INDEX {name} ON {table} ({columns}) WHERE {condition}')
    if bind.execute(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")).first():
        op.execute(f'CREATE INDEX {CODE_TRGM} ON dossiers USING gin (code gin_trgm_ops)')


def downgrade() -> None:
    bind = op.get_bind()
    op.drop_index(ID_NUMBER, 'dossiers')
    if bind.dialect.name != 'postgresql':
        return
    op.execute(f'DROP INDEX IF EXISTS {CODE_TRGM}')
    for name, (table, columns, _condition) in PARTIAL.items():
        op.execute(f'DROP INDEX IF EXISTS {name}')
        op.execute(f'CREATE INDEX {name} ON {table} ({columns})')
