"""the pools of unclaimed steps get their own index: the inbox reads it alone

Revision ID: 0016_pool_index
Revises: 0015_code_start
Create Date: 2026-11-27

A user's inbox merges their own steps with each pool they hold a role in (a commune's
unclaimed steps of one role) and counts both (`engine.views.dossiers._inbox`). The queue
index (`ix_tasks_queue`: commune, role, state, due) holds claimed and unclaimed steps
alike, so the pool's ordered range and its count visited the table for every open step
of the commune and role to test `assignee_id IS NULL`: 2,400 table pages for the largest
commune's desk at 10,000,000 dossiers (docs/performance.md). `ix_tasks_pool` holds the
unclaimed open steps only (partial on PostgreSQL), keyed in the inbox's order (due
instant, then id), so the range and the count read the index alone. SQLite keeps it
whole, as it does the other partial indexes (migration 0008). On a live province,
build it first without blocking writes (`CREATE INDEX CONCURRENTLY`, the definition
below); this migration then finds it in place.
"""
from alembic import op

revision = '0016_pool_index'
down_revision = '0015_code_start'
branch_labels = None
depends_on = None

NAME = 'ix_tasks_pool'
COLUMNS = 'org_unit_id, role, due_at, id'
CONDITION = "state = 'open' AND assignee_id IS NULL"


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f'CREATE INDEX IF NOT EXISTS {NAME} ON tasks ({COLUMNS}) WHERE {CONDITION}')
    else:
        op.execute(f'CREATE INDEX IF NOT EXISTS {NAME} ON tasks ({COLUMNS})')


def downgrade() -> None:
    op.execute(f'DROP INDEX IF EXISTS {NAME}')
