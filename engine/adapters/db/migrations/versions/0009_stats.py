"""citizen satisfaction ratings and lateness reasons

Revision ID: 0009_stats
Revises: 0008_scale
Create Date: 2026-11-27

`satisfaction_ratings`: one rating per dossier (unique), given at the desk or through
the public lookup; feeds the satisfaction share of the statistics (docs/statistics.md).
`lateness_reasons`: the responsible officer's reason for a step finished past its due
instant, one per step.

Two indexes for the statistics over millions of dossiers (docs/performance.md):
`ix_dossiers_finished_at` / `ix_tasks_completed_at` (what finished in a period, for
indicator 2.2) and, on PostgreSQL only, `ix_dossiers_span` / `ix_tasks_span`, GiST
indexes on the range [received_at, finished_at] ([created_at, completed_at] for steps)
that find what is relevant to a period (begun before its end and not finished before
its start) without reading the whole history begun before it.
"""
from alembic import op
import sqlalchemy as sa

import engine.adapters.db.types

revision = '0009_stats'
down_revision = '0008_scale'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'satisfaction_ratings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('dossier_id', sa.Integer(), nullable=False),
        sa.Column('org_unit_id', sa.Integer(), nullable=False),
        sa.Column('rating', sa.String(length=16), nullable=False),
        sa.Column('comment', sa.String(length=1000), nullable=False),
        sa.Column('via', sa.String(length=16), nullable=False),
        sa.Column('recorded_by_id', sa.Integer(), nullable=True),
        sa.Column('rated_at', engine.adapters.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['dossier_id'], ['dossiers.id'], name=op.f('fk_satisfaction_ratings_dossier_id_dossiers')),
        sa.ForeignKeyConstraint(['org_unit_id'], ['org_units.id'], name=op.f('fk_satisfaction_ratings_org_unit_id_org_units')),
        sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_satisfaction_ratings_recorded_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_satisfaction_ratings')),
        sa.UniqueConstraint('dossier_id', name=op.f('uq_satisfaction_ratings_dossier_id')),
    )
    op.create_index(op.f('ix_satisfaction_ratings_rated_at'), 'satisfaction_ratings', ['rated_at'], unique=False)
    op.create_table(
        'lateness_reasons',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('task_id', sa.Integer(), nullable=False),
        sa.Column('dossier_id', sa.Integer(), nullable=False),
        sa.Column('reason', sa.String(length=32), nullable=False),
        sa.Column('detail', sa.String(length=1000), nullable=False),
        sa.Column('recorded_by_id', sa.Integer(), nullable=False),
        sa.Column('recorded_at', engine.adapters.db.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['dossier_id'], ['dossiers.id'], name=op.f('fk_lateness_reasons_dossier_id_dossiers')),
        sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_lateness_reasons_recorded_by_id_users')),
        sa.ForeignKeyConstraint(['task_id'], ['tasks.id'], name=op.f('fk_lateness_reasons_task_id_tasks')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_lateness_reasons')),
        sa.UniqueConstraint('task_id', name=op.f('uq_lateness_reasons_task_id')),
    )
    op.create_index(op.f('ix_lateness_reasons_dossier_id'), 'lateness_reasons', ['dossier_id'], unique=False)
    op.create_index('ix_dossiers_finished_at', 'dossiers', ['finished_at'], unique=False)
    op.create_index('ix_tasks_completed_at', 'tasks', ['completed_at'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f"CREATE INDEX {SPAN_INDEX} ON dossiers USING gist ({span('received_at', 'finished_at')})")
        op.execute(f"CREATE INDEX {TASK_SPAN_INDEX} ON tasks USING gist ({span('created_at', 'completed_at')})")


def span(begun: str, ended: str) -> str:
    """The range an index holds; engine.views.statistics (`_Window.overlapping`) writes the
    same expression so the planner uses the index. An end before the beginning (never
    written by the runtime, but possible in imported data) gives a one-instant range
    instead of an error that would refuse the row's insert or update."""
    return f"tstzrange({begun}, CASE WHEN {ended} < {begun} THEN {begun} ELSE {ended} END, '[]')"


SPAN_INDEX = 'ix_dossiers_span'
TASK_SPAN_INDEX = 'ix_tasks_span'


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f'DROP INDEX IF EXISTS {TASK_SPAN_INDEX}')
        op.execute(f'DROP INDEX IF EXISTS {SPAN_INDEX}')
    op.drop_index('ix_tasks_completed_at', table_name='tasks')
    op.drop_index('ix_dossiers_finished_at', table_name='dossiers')
    op.drop_index(op.f('ix_lateness_reasons_dossier_id'), table_name='lateness_reasons')
    op.drop_table('lateness_reasons')
    op.drop_index(op.f('ix_satisfaction_ratings_rated_at'), table_name='satisfaction_ratings')
    op.drop_table('satisfaction_ratings')
