"""practice quality: plan intervals, MAPPA, supervisor reviews, paired and announced visits

Revision ID: 0009_practice
Revises: 0008_capacity
Create Date: 2026-12-06 12:00:00

New nullable columns only (docs/practice.md): offenders gain the visit interval of the
person's risk management plan, MAPPA category and level, and the last supervisor review;
visits gain the second officer, whether the visit was announced, and the visit's time of
day in the configured timezone (``visit_minute``); visit_facts gain the pattern of each
person's last few completed home visits (predictable visits); visit_facts_state what the
register records; backlog_snapshots the practice trend figures. A partial index on (visit_date) of completed home visits only finds those of a look-back as a range, and holds
every column the look-back reads, so it never reads the table.

``visit_minute`` of visits already stored is filled from their time (``visited_at``, UTC)
in Europe/London, the configured timezone of every force the service is made for; a later
import under another timezone sets it again. The stored visit facts are marked stale, so
the next import recomputes everyone's (until then each scan computes them from the visits).
"""
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from alembic import op
import sqlalchemy as sa


revision = '0009_practice'
down_revision = '0008_capacity'
branch_labels = None
depends_on = None

LONDON = ZoneInfo("Europe/London")
COMPLETED_HOME = "outcome = 'completed' AND visit_type = 'home'"
RECENT = ("recent_pattern",)
SNAPSHOT = ("most_overdue_review_days", "lookback_home_visits", "lookback_lone_visits",
            "overdue_supervisor_reviews", "predictable_visits")


def upgrade() -> None:
    with op.batch_alter_table('offenders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('visit_interval', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('mappa_category', sa.SmallInteger(), nullable=True))
        batch_op.add_column(sa.Column('mappa_level', sa.SmallInteger(), nullable=True))
        batch_op.add_column(sa.Column('supervisor_reviewed_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('supervisor_review_recorded', sa.Boolean(), nullable=True))
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.add_column(sa.Column('second_officer', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('paired', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('announced', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('visit_minute', sa.SmallInteger(), nullable=True))
        batch_op.create_index(
            'ix_visits_completed_home_date',
            ['visit_date', 'ref', 'officer', 'paired', 'announced', 'visit_id'],
            unique=False,
            sqlite_where=sa.text(COMPLETED_HOME),
            postgresql_where=sa.text(COMPLETED_HOME),
        )
    # visit_facts is a WITHOUT ROWID table on SQLite (0006): a plain ADD COLUMN keeps it so.
    for name in RECENT:
        op.add_column('visit_facts', sa.Column(name, sa.Integer(), nullable=True))
    op.add_column('visit_facts_state', sa.Column('recent_n', sa.Integer(), nullable=True))
    op.add_column('visit_facts_state', sa.Column('practice_columns', sa.Text(), nullable=True))
    with op.batch_alter_table('backlog_snapshots', schema=None) as batch_op:
        for name in SNAPSHOT:
            batch_op.add_column(sa.Column(name, sa.Integer(), nullable=True))
    _fill_visit_minutes()
    # The facts now have columns no import has filled: stale until the next import.
    op.execute("UPDATE visit_facts_state SET import_id = NULL")


def _fill_visit_minutes() -> None:
    bind = op.get_bind()
    visits = sa.table('visits', sa.column('visit_id', sa.String), sa.column('visited_at', sa.DateTime),
                      sa.column('visit_minute', sa.SmallInteger))
    rows = bind.execute(sa.select(visits.c.visit_id, visits.c.visited_at).where(visits.c.visited_at.is_not(None)))
    batch = []
    update = (
        sa.update(visits).where(visits.c.visit_id == sa.bindparam('vid')).values(visit_minute=sa.bindparam('minute'))
    )
    for visit_id, at in rows.fetchall():
        if isinstance(at, str):  # SQLite: naive UTC text
            at = datetime.fromisoformat(at)
        if at is None:
            continue
        local = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(LONDON)
        batch.append({'vid': visit_id, 'minute': local.hour * 60 + local.minute})
        if len(batch) >= 5000:
            bind.execute(update, batch)
            batch = []
    if batch:
        bind.execute(update, batch)


def downgrade() -> None:
    with op.batch_alter_table('backlog_snapshots', schema=None) as batch_op:
        for name in reversed(SNAPSHOT):
            batch_op.drop_column(name)
    op.drop_column('visit_facts_state', 'practice_columns')
    op.drop_column('visit_facts_state', 'recent_n')
    for name in reversed(RECENT):
        op.drop_column('visit_facts', name)
    with op.batch_alter_table('visits', schema=None) as batch_op:
        batch_op.drop_index('ix_visits_completed_home_date')
        batch_op.drop_column('visit_minute')
        batch_op.drop_column('announced')
        batch_op.drop_column('paired')
        batch_op.drop_column('second_officer')
    with op.batch_alter_table('offenders', schema=None) as batch_op:
        batch_op.drop_column('supervisor_review_recorded')
        batch_op.drop_column('supervisor_reviewed_on')
        batch_op.drop_column('mappa_level')
        batch_op.drop_column('mappa_category')
        batch_op.drop_column('visit_interval')
