"""web app: server-side sessions and the access log

Revision ID: 0002_web
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa


revision = '0002_web'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('web_sessions',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('officer_id', sa.String(length=64), nullable=True),
    sa.Column('subject', sa.String(length=255), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_web_sessions'))
    )
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_web_sessions_last_seen_at'), ['last_seen_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_web_sessions_officer_id'), ['officer_id'], unique=False)

    op.create_table('web_access_log',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('officer_id', sa.String(length=64), nullable=True),
    sa.Column('subject', sa.String(length=255), nullable=True),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('page', sa.String(length=255), nullable=False),
    sa.Column('scope', sa.String(length=100), nullable=False),
    sa.Column('filters', sa.String(length=255), nullable=False),
    sa.Column('cases_shown', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('status', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_web_access_log'))
    )
    with op.batch_alter_table('web_access_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_web_access_log_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_web_access_log_officer_id'), ['officer_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('web_access_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_web_access_log_officer_id'))
        batch_op.drop_index(batch_op.f('ix_web_access_log_at'))

    op.drop_table('web_access_log')
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_web_sessions_officer_id'))
        batch_op.drop_index(batch_op.f('ix_web_sessions_last_seen_at'))

    op.drop_table('web_sessions')
