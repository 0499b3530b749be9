"""quality system: objectives, complaints, nonconformities, corrective actions,
internal audits, management reviews, risks

Revision ID: 0007_quality
Revises: 0006_procedure_scope
Create Date: 2026-11-27

ISO 9001 records kept by isoflow (docs/iso.md). `nonconformities` has the unique key
(source_kind, source_id) that makes the automatic ones open exactly once, and
`action_reminders` (action, level) does the same for corrective action reminders;
`ix_dossiers_state_due` lets the sweep find open dossiers past their appointment.
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0007_quality'
down_revision = '0006_procedure_scope'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('quality_marks',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_quality_marks'))
    )
    op.create_table('audit_programmes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_unit_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('scope', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_audit_programmes_created_by_id_users')),
    sa.ForeignKeyConstraint(['org_unit_id'], ['org_units.id'], name=op.f('fk_audit_programmes_org_unit_id_org_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_programmes')),
    sa.UniqueConstraint('org_unit_id', 'year', name=op.f('uq_audit_programmes_org_unit_id_year'))
    )
    op.create_table('management_reviews',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_unit_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=16), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('chaired_by', sa.String(length=200), nullable=False),
    sa.Column('decisions', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_management_reviews_created_by_id_users')),
    sa.ForeignKeyConstraint(['org_unit_id'], ['org_units.id'], name=op.f('fk_management_reviews_org_unit_id_org_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_management_reviews')),
    sa.UniqueConstraint('org_unit_id', 'period', name=op.f('uq_management_reviews_org_unit_id_period'))
    )
    op.create_table('quality_objectives',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_unit_id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=500), nullable=False),
    sa.Column('measure', sa.String(length=32), nullable=False),
    sa.Column('target', sa.Float(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_quality_objectives_created_by_id_users')),
    sa.ForeignKeyConstraint(['org_unit_id'], ['org_units.id'], name=op.f('fk_quality_objectives_org_unit_id_org_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quality_objectives'))
    )
    with op.batch_alter_table('quality_objectives', schema=None) as batch_op:
        batch_op.create_index('ix_quality_objectives_unit_year', ['org_unit_id', 'year'], unique=False)

    op.create_table('risks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_unit_id', sa.Integer(), nullable=False),
    sa.Column('procedure_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('likelihood', sa.Integer(), nullable=False),
    sa.Column('impact', sa.Integer(), nullable=False),
    sa.Column('treatment', sa.Text(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('review_note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['org_unit_id'], ['org_units.id'], name=op.f('fk_risks_org_unit_id_org_units')),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_risks_owner_id_users')),
    sa.ForeignKeyConstraint(['procedure_id'], ['procedures.id'], name=op.f('fk_risks_procedure_id_procedures')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_risks'))
    )
    with op.batch_alter_table('risks', schema=None) as batch_op:
        batch_op.create_index('ix_risks_unit_state', ['org_unit_id', 'state'], unique=False)

    op.create_table('internal_audits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('programme_id', sa.Integer(), nullable=False),
    sa.Column('org_unit_id', sa.Integer(), nullable=False),
    sa.Column('procedure_id', sa.Integer(), nullable=False),
    sa.Column('procedure_version_id', sa.Integer(), nullable=False),
    sa.Column('auditor_id', sa.Integer(), nullable=False),
    sa.Column('planned_on', sa.Date(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('sample_size', sa.Integer(), nullable=False),
    sa.Column('sample_seed', sa.BigInteger(), nullable=True),
    sa.Column('sample', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('checklist', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('conclusion', sa.Text(), nullable=True),
    sa.Column('generated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['auditor_id'], ['users.id'], name=op.f('fk_internal_audits_auditor_id_users')),
    sa.ForeignKeyConstraint(['org_unit_id'], ['org_units.id'], name=op.f('fk_internal_audits_org_unit_id_org_units')),
    sa.ForeignKeyConstraint(['procedure_id'], ['procedures.id'], name=op.f('fk_internal_audits_procedure_id_procedures')),
    sa.ForeignKeyConstraint(['procedure_version_id'], ['procedure_versions.id'], name=op.f('fk_internal_audits_procedure_version_id_procedure_versions')),
    sa.ForeignKeyConstraint(['programme_id'], ['audit_programmes.id'], name=op.f('fk_internal_audits_programme_id_audit_programmes')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_internal_audits'))
    )
    with op.batch_alter_table('internal_audits', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_internal_audits_programme_id'), ['programme_id'], unique=False)

    op.create_table('complaints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_unit_id', sa.Integer(), nullable=False),
    sa.Column('dossier_id', sa.Integer(), nullable=False),
    sa.Column('complainant', sa.String(length=200), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('answered_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['answered_by_id'], ['users.id'], name=op.f('fk_complaints_answered_by_id_users')),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossiers.id'], name=op.f('fk_complaints_dossier_id_dossiers')),
    sa.ForeignKeyConstraint(['org_unit_id'], ['org_units.id'], name=op.f('fk_complaints_org_unit_id_org_units')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_complaints_recorded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_complaints'))
    )
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_complaints_dossier_id'), ['dossier_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_complaints_org_unit_id'), ['org_unit_id'], unique=False)

    op.create_table('nonconformities',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_unit_id', sa.Integer(), nullable=False),
    sa.Column('source_kind', sa.String(length=16), nullable=False),
    sa.Column('source_id', sa.Integer(), nullable=True),
    sa.Column('dossier_id', sa.Integer(), nullable=True),
    sa.Column('procedure_id', sa.Integer(), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('detected_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('opened_by', sa.String(length=100), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('correction', sa.Text(), nullable=True),
    sa.Column('corrected_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('root_cause', sa.Text(), nullable=True),
    sa.Column('verification', sa.Text(), nullable=True),
    sa.Column('effective', sa.Boolean(), nullable=True),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('verified_by_id', sa.Integer(), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['closed_by_id'], ['users.id'], name=op.f('fk_nonconformities_closed_by_id_users')),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossiers.id'], name=op.f('fk_nonconformities_dossier_id_dossiers')),
    sa.ForeignKeyConstraint(['org_unit_id'], ['org_units.id'], name=op.f('fk_nonconformities_org_unit_id_org_units')),
    sa.ForeignKeyConstraint(['procedure_id'], ['procedures.id'], name=op.f('fk_nonconformities_procedure_id_procedures')),
    sa.ForeignKeyConstraint(['verified_by_id'], ['users.id'], name=op.f('fk_nonconformities_verified_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_nonconformities')),
    sa.UniqueConstraint('source_kind', 'source_id', name=op.f('uq_nonconformities_source_kind_source_id'))
    )
    with op.batch_alter_table('nonconformities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_nonconformities_dossier_id'), ['dossier_id'], unique=False)
        batch_op.create_index('ix_nonconformities_unit_state', ['org_unit_id', 'state'], unique=False)

    op.create_table('audit_findings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('audit_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('step', sa.String(length=255), nullable=True),
    sa.Column('dossier_id', sa.Integer(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('nonconformity_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['audit_id'], ['internal_audits.id'], name=op.f('fk_audit_findings_audit_id_internal_audits')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_audit_findings_created_by_id_users')),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossiers.id'], name=op.f('fk_audit_findings_dossier_id_dossiers')),
    sa.ForeignKeyConstraint(['nonconformity_id'], ['nonconformities.id'], name=op.f('fk_audit_findings_nonconformity_id_nonconformities')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_findings'))
    )
    with op.batch_alter_table('audit_findings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_findings_audit_id'), ['audit_id'], unique=False)

    op.create_table('corrective_actions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('org_unit_id', sa.Integer(), nullable=False),
    sa.Column('nonconformity_id', sa.Integer(), nullable=True),
    sa.Column('review_id', sa.Integer(), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('done_note', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('next_reminder_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reminder_level', sa.String(length=16), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_corrective_actions_created_by_id_users')),
    sa.ForeignKeyConstraint(['nonconformity_id'], ['nonconformities.id'], name=op.f('fk_corrective_actions_nonconformity_id_nonconformities')),
    sa.ForeignKeyConstraint(['org_unit_id'], ['org_units.id'], name=op.f('fk_corrective_actions_org_unit_id_org_units')),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_corrective_actions_owner_id_users')),
    sa.ForeignKeyConstraint(['review_id'], ['management_reviews.id'], name=op.f('fk_corrective_actions_review_id_management_reviews')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_corrective_actions'))
    )
    with op.batch_alter_table('corrective_actions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_corrective_actions_next_reminder_at'), ['next_reminder_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_corrective_actions_nonconformity_id'), ['nonconformity_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_corrective_actions_review_id'), ['review_id'], unique=False)

    op.create_table('action_reminders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('action_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('threshold_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('fired_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('skipped', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['action_id'], ['corrective_actions.id'], name=op.f('fk_action_reminders_action_id_corrective_actions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_action_reminders')),
    sa.UniqueConstraint('action_id', 'level', name=op.f('uq_action_reminders_action_id_level'))
    )
    op.create_index('ix_dossiers_state_due', 'dossiers', ['state', 'due_at'], unique=False)



def downgrade() -> None:
    op.drop_index('ix_dossiers_state_due', table_name='dossiers')

    op.drop_table('action_reminders')
    with op.batch_alter_table('corrective_actions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_corrective_actions_review_id'))
        batch_op.drop_index(batch_op.f('ix_corrective_actions_nonconformity_id'))
        batch_op.drop_index(batch_op.f('ix_corrective_actions_next_reminder_at'))

    op.drop_table('corrective_actions')
    with op.batch_alter_table('audit_findings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_findings_audit_id'))

    op.drop_table('audit_findings')
    with op.batch_alter_table('nonconformities', schema=None) as batch_op:
        batch_op.drop_index('ix_nonconformities_unit_state')
        batch_op.drop_index(batch_op.f('ix_nonconformities_dossier_id'))

    op.drop_table('nonconformities')
    with op.batch_alter_table('complaints', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_complaints_org_unit_id'))
        batch_op.drop_index(batch_op.f('ix_complaints_dossier_id'))

    op.drop_table('complaints')
    with op.batch_alter_table('internal_audits', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_internal_audits_programme_id'))

    op.drop_table('internal_audits')
    with op.batch_alter_table('risks', schema=None) as batch_op:
        batch_op.drop_index('ix_risks_unit_state')

    op.drop_table('risks')
    with op.batch_alter_table('quality_objectives', schema=None) as batch_op:
        batch_op.drop_index('ix_quality_objectives_unit_year')

    op.drop_table('quality_objectives')
    op.drop_table('management_reviews')
    op.drop_table('audit_programmes')
    op.drop_table('quality_marks')
