"""sign-in identity: officers.sign_in_id, and the id a web session was opened with

Revision ID: 0007_sign_in_identity
Revises: 0006_visit_facts_clustered
Create Date: 2026-12-07 10:00:00

A force may sign officers in by an identifier its provider controls (an Entra ``oid``, a
UPN, a ``sub``) instead of the email claim, which some account types can edit; the
officers table keeps that identifier from officers.csv's optional ``sign_in_id`` column,
and a session remembers the one it was opened with so a change in the register ends it.
Both columns are nullable: nothing changes for a force that signs in by email.
"""
from alembic import op
import sqlalchemy as sa


revision = '0007_sign_in_identity'
down_revision = '0006_visit_facts_clustered'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('officers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sign_in_id', sa.String(length=255), nullable=True))
        batch_op.create_index(batch_op.f('ix_officers_sign_in_id'), ['sign_in_id'], unique=False)
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sign_in_id', sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('web_sessions', schema=None) as batch_op:
        batch_op.drop_column('sign_in_id')
    with op.batch_alter_table('officers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_officers_sign_in_id'))
        batch_op.drop_column('sign_in_id')
