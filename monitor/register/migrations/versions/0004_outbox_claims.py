"""outbox claims name their worker; re-routed digests; the re-queue audit

Revision ID: 0004_outbox_claims
Revises: 0001
Create Date: 2026-11-30 10:00:00.000000
"""
from alembic import op
import sqlalchemy as sa


revision = '0004_outbox_claims'
down_revision = '0005_scan_indexes'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_by', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('routed_because', sa.Text(), nullable=True))
        batch_op.create_index('ix_outbox_status_id', ['status', 'id'], unique=False)

    op.create_table('outbox_requeues',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('operator', sa.String(length=255), nullable=False),
    sa.Column('outbox_id', sa.Integer(), nullable=False),
    sa.Column('from_status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id'], name=op.f('fk_outbox_requeues_outbox_id_outbox')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_requeues'))
    )
    with op.batch_alter_table('outbox_requeues', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_outbox_requeues_outbox_id'), ['outbox_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('outbox_requeues', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_requeues_outbox_id'))

    op.drop_table('outbox_requeues')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_status_id')
        batch_op.drop_column('routed_because')
        batch_op.drop_column('claimed_by')
