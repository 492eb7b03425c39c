"""expected release: when someone in custody is expected back in the community

Revision ID: 0010_expected_release
Revises: 0009_practice
Create Date: 2026-12-06 15:00:00

One new nullable column: offenders.expected_release (optional in offenders.csv). The
forecast (monitor.planning) counts a person in custody with a date on or after its as-of
date as back in the community that week, owing a first home visit within the first-visit
window; nothing else reads it. A plain ADD COLUMN on either engine (no table rebuild).
"""
from alembic import op
import sqlalchemy as sa


revision = '0010_expected_release'
down_revision = '0009_practice'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('offenders', sa.Column('expected_release', sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('offenders', schema=None) as batch_op:
        batch_op.drop_column('expected_release')
