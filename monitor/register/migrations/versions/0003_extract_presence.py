"""extract presence: offenders and officers not in the latest full extract

Revision ID: 0003_extract_presence
Revises: 0001
Create Date: 2026-11-27 09:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0003_extract_presence'
down_revision = '0004_outbox_claims'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('offenders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('absent_since', sa.Date(), nullable=True))
    with op.batch_alter_table('officers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('absent_since', sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('officers', schema=None) as batch_op:
        batch_op.drop_column('absent_since')
    with op.batch_alter_table('offenders', schema=None) as batch_op:
        batch_op.drop_column('absent_since')
