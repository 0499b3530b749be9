"""procedure version scope and legal effective date

Revision ID: 0006_procedure_scope
Revises: 0004_event_head_trigger
Create Date: 2026-11-27

A procedure version is province-wide (no scope) or a commune's own local version
(`scope_org_unit_id`), which new dossiers of that commune get instead of the
province version it adapts (docs/authoring.md "Who controls a model").

`legal_effective_from` keeps the date the legal instrument gives; `effective_from`
stays the first day new dossiers get the version, which can never be before the day
it was published in the system. Versions published before this revision get their
effective date as legal date too (it is the only date they recorded).
"""
from alembic import op
import sqlalchemy as sa

revision = '0006_procedure_scope'
down_revision = '0005_folded_search'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('procedure_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scope_org_unit_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('legal_effective_from', sa.Date(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_procedure_versions_scope_org_unit_id_org_units'),
                                    'org_units', ['scope_org_unit_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_procedure_versions_scope_org_unit_id'), ['scope_org_unit_id'],
                              unique=False)
    op.execute("UPDATE procedure_versions SET legal_effective_from = effective_from WHERE effective_from IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table('procedure_versions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_procedure_versions_scope_org_unit_id'))
        batch_op.drop_constraint(batch_op.f('fk_procedure_versions_scope_org_unit_id_org_units'), type_='foreignkey')
        batch_op.drop_column('legal_effective_from')
        batch_op.drop_column('scope_org_unit_id')
