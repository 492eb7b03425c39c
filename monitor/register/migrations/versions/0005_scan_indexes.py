"""scan indexes and visit facts

Revision ID: 0005_scan_indexes
Revises: 0001
Create Date: 2026-11-29 20:20:00

visit_facts holds, per person, the scan's inputs from the visit history (latest completed
home visit since the status began, latest ever, failed attempts since, and the horizon
date after which they hold for any as-of date); visit_facts_state records the import
after which they were refreshed. See monitor/register/derived.py.
"""
from alembic import op
import sqlalchemy as sa


revision = '0005_scan_indexes'
down_revision = '0002_web'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('visit_facts',
    sa.Column('ref', sa.String(length=64), nullable=False),
    sa.Column('last_visit', sa.Date(), nullable=True),
    sa.Column('last_visit_any', sa.Date(), nullable=True),
    sa.Column('failed_attempts', sa.Integer(), nullable=False),
    sa.Column('horizon', sa.Date(), nullable=True),
    sa.PrimaryKeyConstraint('ref', name=op.f('pk_visit_facts'))
    )
    op.create_table('visit_facts_state',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('import_id', sa.Integer(), nullable=True),
    sa.Column('refreshed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_visit_facts_state'))
    )


def downgrade() -> None:
    op.drop_table('visit_facts_state')
    op.drop_table('visit_facts')
