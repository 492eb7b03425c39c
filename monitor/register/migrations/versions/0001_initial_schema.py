"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-26 08:12:41.953140
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('backlog_snapshots',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('taken_on', sa.Date(), nullable=False),
    sa.Column('team', sa.String(length=64), nullable=False),
    sa.Column('risk_level', sa.String(length=16), nullable=False),
    sa.Column('caseload', sa.Integer(), nullable=False),
    sa.Column('overdue_visits', sa.Integer(), nullable=False),
    sa.Column('age_1_7', sa.Integer(), nullable=False),
    sa.Column('age_8_28', sa.Integer(), nullable=False),
    sa.Column('age_29_90', sa.Integer(), nullable=False),
    sa.Column('age_91_plus', sa.Integer(), nullable=False),
    sa.Column('due_soon', sa.Integer(), nullable=False),
    sa.Column('overdue_risk_reviews', sa.Integer(), nullable=False),
    sa.Column('overdue_notifications', sa.Integer(), nullable=False),
    sa.Column('whereabouts_unknown', sa.Integer(), nullable=False),
    sa.Column('most_overdue_days', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_backlog_snapshots')),
    sa.UniqueConstraint('taken_on', 'team', 'risk_level', name='uq_backlog_snapshots_day_team_risk')
    )
    op.create_table('heartbeats',
    sa.Column('worker', sa.String(length=128), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    sa.Column('pid', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('beat_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('stopped_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('worker', name=op.f('pk_heartbeats'))
    )
    op.create_table('import_runs',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_runs'))
    )
    op.create_table('job_runs',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('job', sa.String(length=32), nullable=False),
    sa.Column('scheduled_for', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.Column('worker', sa.String(length=128), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_runs')),
    sa.UniqueConstraint('job', 'scheduled_for', name='uq_job_runs_job_scheduled_for')
    )
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.create_index('ix_job_runs_job_started', ['job', 'started_at'], unique=False)

    op.create_table('outbox',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('recipient', sa.String(length=64), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('period', sa.String(length=32), nullable=False),
    sa.Column('message_id', sa.String(length=255), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('case_refs', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('claim_token', sa.String(length=64), nullable=True),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sa.UniqueConstraint('kind', 'recipient', 'period', name='uq_outbox_kind_recipient_period'),
    sa.UniqueConstraint('message_id', name=op.f('uq_outbox_message_id'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_status_next', ['status', 'next_attempt_at'], unique=False)

    op.create_table('disclosures',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('outbox_id', sa.Integer(), nullable=True),
    sa.Column('message_id', sa.String(length=255), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('recipient', sa.String(length=64), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('case_refs', sa.JSON(), nullable=False),
    sa.Column('transport', sa.String(length=16), nullable=False),
    sa.Column('relay_reply', sa.Text(), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id'], name=op.f('fk_disclosures_outbox_id_outbox')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_disclosures'))
    )
    with op.batch_alter_table('disclosures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_disclosures_message_id'), ['message_id'], unique=False)

    op.create_table('import_rejects',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=False),
    sa.Column('file', sa.String(length=255), nullable=False),
    sa.Column('line', sa.Integer(), nullable=False),
    sa.Column('field', sa.String(length=64), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['import_runs.id'], name=op.f('fk_import_rejects_import_id_import_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_rejects'))
    )
    with op.batch_alter_table('import_rejects', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_import_rejects_import_id'), ['import_id'], unique=False)

    op.create_table('offenders',
    sa.Column('ref', sa.String(length=64), nullable=False),
    sa.Column('risk_level', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('team', sa.String(length=64), nullable=False),
    sa.Column('offender_manager', sa.String(length=64), nullable=False),
    sa.Column('registered_on', sa.Date(), nullable=False),
    sa.Column('status_since', sa.Date(), nullable=True),
    sa.Column('management', sa.String(length=16), nullable=False),
    sa.Column('risk_assessed_on', sa.Date(), nullable=True),
    sa.Column('last_notified_on', sa.Date(), nullable=True),
    sa.Column('no_fixed_abode', sa.Boolean(), nullable=False),
    sa.Column('registration_ends', sa.Date(), nullable=True),
    sa.Column('surname', sa.String(length=200), nullable=True),
    sa.Column('forenames', sa.String(length=200), nullable=True),
    sa.Column('date_of_birth', sa.Date(), nullable=True),
    sa.Column('import_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['import_runs.id'], name=op.f('fk_offenders_import_id_import_runs')),
    sa.PrimaryKeyConstraint('ref', name=op.f('pk_offenders'))
    )
    with op.batch_alter_table('offenders', schema=None) as batch_op:
        batch_op.create_index('ix_offenders_offender_manager', ['offender_manager'], unique=False)
        batch_op.create_index('ix_offenders_team', ['team'], unique=False)

    op.create_table('officers',
    sa.Column('officer_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('team', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=32), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['import_runs.id'], name=op.f('fk_officers_import_id_import_runs')),
    sa.PrimaryKeyConstraint('officer_id', name=op.f('pk_officers'))
    )
    with op.batch_alter_table('officers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_officers_team'), ['team'], unique=False)

    op.create_table('visits',
    sa.Column('visit_id', sa.String(length=64), nullable=False),
    sa.Column('ref', sa.String(length=64), nullable=False),
    sa.Column('visit_date', sa.Date(), nullable=False),
    sa.Column('visited_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('visit_type', sa.String(length=16), nullable=False),
    sa.Column('officer', sa.String(length=64), nullable=True),
    sa.Column('import_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['import_runs.id'], name=op.f('fk_visits_import_id_import_runs')),
    sa.ForeignKeyConstraint(['ref'], ['offenders.ref'], name=op.f('fk_visits_ref_offenders')),
    sa.PrimaryKeyConstraint('visit_id', name=op.f('pk_visits'))
    )
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.create_index('ix_visits_ref_outcome_type_date', ['ref', 'outcome', 'visit_type', 'visit_date'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.drop_index('ix_visits_ref_outcome_type_date')

    op.drop_table('visits')
    with op.batch_alter_table('officers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_officers_team'))

    op.drop_table('officers')
    with op.batch_alter_table('offenders', schema=None) as batch_op:
        batch_op.drop_index('ix_offenders_team')
        batch_op.drop_index('ix_offenders_offender_manager')

    op.drop_table('offenders')
    with op.batch_alter_table('import_rejects', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_import_rejects_import_id'))

    op.drop_table('import_rejects')
    with op.batch_alter_table('disclosures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_disclosures_message_id'))

    op.drop_table('disclosures')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_status_next')

    op.drop_table('outbox')
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_job_runs_job_started')

    op.drop_table('job_runs')
    op.drop_table('import_runs')
    op.drop_table('heartbeats')
    op.drop_table('backlog_snapshots')

