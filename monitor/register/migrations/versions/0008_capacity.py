"""capacity: officers' visits per week and their absences (the planner's inputs)

Revision ID: 0008_capacity
Revises: 0007_sign_in_identity
Create Date: 2026-12-01 09:00:00

officers.visits_per_week (optional in officers.csv) is the home visits an officer can
lead in a normal week; officer_absences (absences.csv) holds time away, keyed by officer
and first day. Both feed monitor.planning (visit-monitor plan / forecast) and nothing else.
"""
from alembic import op
import sqlalchemy as sa


revision = '0008_capacity'
down_revision = '0007_sign_in_identity'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('officers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('visits_per_week', sa.Integer(), nullable=True))
    op.create_table('officer_absences',
    sa.Column('absence_key', sa.String(length=80), nullable=False),
    sa.Column('officer_id', sa.String(length=64), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('fraction', sa.Float(), nullable=False),
    sa.Column('withdrawn_on', sa.Date(), nullable=True),
    sa.Column('import_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['import_id'], ['import_runs.id'], name=op.f('fk_officer_absences_import_id_import_runs')),
    sa.PrimaryKeyConstraint('absence_key', name=op.f('pk_officer_absences'))
    )
    with op.batch_alter_table('officer_absences', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_officer_absences_officer_id'), ['officer_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('officer_absences', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_officer_absences_officer_id'))
    op.drop_table('officer_absences')
    with op.batch_alter_table('officers', schema=None) as batch_op:
        batch_op.drop_column('visits_per_week')
