"""The one engine: who owes what, as of a date.

Every report, digest, snapshot, metric and daemon job calls :func:`scan`; nothing else
computes a due date. The rules, with their sources, are in docs/rules.md; this module
implements them literally.

Why it is shaped like this: a force holds thousands of registrants and a decade of visits
(a national register about 100,000 people and a million visits). What the rules take from
the visit history (latest completed home visit since the status began, latest ever, failed
attempts since) is kept per person by every import (:mod:`monitor.register.derived`), so
the scan is one statement reading one row per person: the register LEFT JOIN its visit
facts. Where the stored facts do not hold for the as-of date (a date in the past, a person
with a later visit, facts older than the last import) the same aggregates are computed
set-based from the visits, for just those people, by the same definition. Python then sees
exactly one row per person and does the calendar arithmetic (calendar months clamped to
month end), which SQL dialects disagree on, with one memo table per interval so a national
register costs a dictionary lookup per due date. Dates arrive as day ordinals (the database
computes them, :class:`monitor.rules.rows.day_number`), so a person who owes nothing costs
no ``date`` object at all. Personal data is selected only when policy
allows it, so it is never even loaded into memory otherwise.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING, Any

from monitor.core.config import Policy
from monitor.core.gcpause import paused_gc
from monitor.rules.calendar import DATES, Calendar
from monitor.rules.case_tags import CaseTags, PracticeInput, practice_input
from monitor.rules.obligations import (
    PRACTICE_LISTS,
    Item,
    NotInExtract,
    Obligations,
    Personal,
    ReactiveHighRisk,
    Unlocated,
)
from monitor.rules.scan_parts import SORT_KEY as _SORT_KEY
from monitor.rules.scan_parts import count_late, sort_items, summary_of

if TYPE_CHECKING:  # SQLAlchemy is imported by scan(), not by a caller that brings its own rows
    from sqlalchemy.orm import Session

#: Risk levels at which reactive management (no routine visits) is flagged.
REACTIVE_FLAGGED: tuple[str, ...] = ("very_high", "high")


#: The lists a scan can count without listing (``scan(..., count_only=...)``): the two
#: that make up nine tenths of a national result.
COUNTABLE: frozenset[str] = frozenset({"overdue_risk_reviews", "overdue_notifications"})
#: ...and the practice measures' lists (a quarter of a national result when they are on),
#: which are counted in the summary only.
PRACTICE_COUNTABLE: frozenset[str] = frozenset(PRACTICE_LISTS)


def scan(
    session: Session,
    policy: Policy,
    as_of: date,
    *,
    team: str | None = None,
    officer: str | None = None,
    count_only: Collection[str] = (),
    keep: list[Sequence[Any]] | None = None,
) -> Obligations:
    """Every overdue or soon-due obligation for people in scope on ``as_of``.

    ``team`` / ``officer`` restrict the scope to ``offender.team`` /
    ``offender.offender_manager``; the summary describes that scope only.

    ``count_only`` names lists of :data:`COUNTABLE` that are counted, per team and risk
    level (``Obligations.unlisted_counts``) and in the summary, but left empty
    (``Obligations.unlisted`` says which). Why: a national register owes about 130,000
    risk reviews and notifications; a caller that only counts them (a report of the
    overdue visits, the daily snapshot, the web app's force page) should not pay for an
    item each, and a sort, nor hold them. The practice lists of :data:`PRACTICE_COUNTABLE`
    can be counted too (in the summary only): a report of the overdue visits need not make
    30,000 lone visits and supervisor reviews.

    The practice measures (:mod:`monitor.rules.practice`) come with the same scan when
    they are on: the register's state says which practice columns it holds.

    ``keep``: a list the scan's rows are added to, for a caller that reads them again in
    the same transaction (the digests' planner), instead of asking the database twice.
    """
    from monitor.rules.lookback import lookback_rows, register_state
    from monitor.rules.rows import scan_rows

    conn = session.connection()
    practice = practice_input(policy, register_state(conn).practice_columns)
    n = policy.practice.predictable_visits_last if practice is not None else None
    rows: Iterable[Sequence[Any]] = scan_rows(conn, as_of, team, officer, policy.include_names, n)
    if keep is not None:
        keep.extend(rows)
        rows = keep
    if practice is not None and practice.reads_visits:
        lookback = policy.practice.lone_visit_lookback
        practice = replace(practice, visits=lookback_rows(conn, as_of, lookback, team, officer))
    return scan_from(rows, policy, as_of, team=team, officer=officer, count_only=count_only, practice=practice)


def scan_from(
    rows: Iterable[Sequence[Any]],
    policy: Policy,
    as_of: date,
    *,
    team: str | None = None,
    officer: str | None = None,
    count_only: Collection[str] = (),
    practice: PracticeInput | None = None,
) -> Obligations:
    """:func:`scan` of rows read elsewhere: one per person in the scope that ``team`` and
    ``officer`` name, as :func:`monitor.rules.rows.scan_rows` gives them (for instance
    :func:`monitor.rules.stored_rows.stored_rows`, which reads them without SQLAlchemy),
    with the practice columns when ``practice`` is given."""
    unknown = set(count_only) - COUNTABLE - PRACTICE_COUNTABLE
    if unknown:
        raise ValueError(f"cannot count without listing: {sorted(unknown)}")
    with paused_gc():  # hundreds of thousands of acyclic objects (see core.gcpause)
        return _scan(rows, policy, as_of, team, officer, frozenset(count_only), practice)


def _scan(
    rows: Iterable[Sequence[Any]],
    policy: Policy,
    as_of: date,
    team: str | None,
    officer: str | None,
    count_only: frozenset[str],
    practice: PracticeInput | None,
) -> Obligations:
    cal = Calendar(policy)
    today = as_of.toordinal()  # the rows' dates are day ordinals (rules.rows.day_number)
    day = DATES  # ordinal -> date, for what is listed
    overdue: list[Item] = []
    due_soon: list[Item] = []
    reviews: list[Item] = []
    notifications: list[Item] = []
    unlocated: list[Unlocated] = []
    absent: list[NotInExtract] = []
    reactive_high: list[ReactiveHighRisk] = []
    caseload: Counter[tuple[str, str, str]] = Counter()  # (team, risk, offender manager)
    soon = -policy.due_soon_days
    names = policy.include_names
    personal: Personal | None = None
    list_reviews = "overdue_risk_reviews" not in count_only
    list_notifications = "overdue_notifications" not in count_only
    # Overdue but counted, not listed: per (team, risk level), and the worst of each cell.
    review_cells: Counter[tuple[str, str]] = Counter()
    notification_cells: Counter[tuple[str, str]] = Counter()
    worst: dict[str, dict[tuple[str, str], tuple[int, str]]] = {"overdue_risk_reviews": {}, "overdue_notifications": {}}
    # The practice measures (None: off, and nothing below differs from before them). With
    # them on the common cases are inlined here (a person without a plan, a review not yet
    # due, no pattern); the track keeps the rest (rules.practice_scan).
    on = practice is not None
    tags: CaseTags | None = None  # the case's, for every line but its visit
    visit_tags: CaseTags | None = None
    mappa_first = False  # someone at MAPPA level 2 or 3: sort them first within their risk
    track: Any = None
    case_tags: Any = {}
    risk_tags: Any = {}
    plan_tags: Any = {}
    mappa_people: Any = {}
    who: Any = {}
    plans: Any = {}
    supervision: Any = {}
    pattern_any = 0
    if on:  # imported only when on: a register without the practice columns loads nothing more
        from monitor.rules.practice import PATTERN_ANY as pattern_any
        from monitor.rules.practice_scan import PracticeTrack

        track = PracticeTrack(policy, cal, count_only)
        case_tags, risk_tags, plan_tags = track.case_tags, track.risk_tags, track.plan_tags
        mappa_people, who, plans, supervision = track.mappa_people, track.who, cal.plans, cal.supervision

    # Core execution on the session's connection: plain rows, no ORM identity map to fill.
    plan: str | None = None
    mappa = reviewed = pattern = 0
    for row in rows:
        # Unpacked by name either way (a starred target cost four times as much per row).
        if on:
            (
                ref,
                risk,
                status,
                team_code,
                manager,
                registered_on,
                status_since,
                management,
                assessed,
                notified,
                nfa,
                absent_since,
                surname,
                forenames,
                born,
                last_visit,
                last_visit_any,
                failed,
                plan,
                mappa,
                reviewed,
                pattern,
            ) = row
        else:
            (
                ref,
                risk,
                status,
                team_code,
                manager,
                registered_on,
                status_since,
                management,
                assessed,
                notified,
                nfa,
                absent_since,
                surname,
                forenames,
                born,
                last_visit,
                last_visit_any,
                failed,
            ) = row
        caseload[team_code, risk, manager] += 1
        start: int = status_since or registered_on
        if names:
            personal = Personal(surname, forenames, day[born])
        # Before S (an --as-of in the past) they were not yet in this status: nothing that
        # runs from S is owed or listed yet, and no day count goes negative.
        in_status = start <= today
        if on:
            # The practice columns (rules.rows): plan, MAPPA as one number, last supervisor
            # review (0 never, None not recorded), pattern of the last visits.
            tags = case_tags[mappa]
            mappa_people[mappa] += 1
            if mappa & 2:  # MAPPA level 2 or 3
                mappa_first = True
            who[ref] = (risk, team_code, manager, tags)  # for the look-back's visits
            if plan is not None:
                track.plan(ref, risk, status, team_code, manager, plan, tags)
            # Supervisor reviews: community or missing, from S (a review before S does not count).
            if reviewed is not None and in_status and (status == "community" or status == "missing"):
                due = supervision[risk][reviewed if reviewed >= start else start]
                if today > due:
                    track.supervise(ref, risk, team_code, manager, due, today, reviewed or None, personal, tags)
        if absent_since is not None and absent_since <= today:  # marked on or before the as-of date
            absent.append(
                NotInExtract(ref, risk, team_code, manager, status, day[absent_since], today - absent_since, tags)
            )
        if management == "reactive" and risk in REACTIVE_FLAGGED:
            reactive_high.append(ReactiveHighRisk(ref, risk, team_code, manager, status, tags))

        if status == "community":
            if management == "active" and in_status:
                if on:
                    if plan is None:  # the risk level's interval
                        due = cal.intervals[risk][last_visit] if last_visit else cal.window[start]
                        visit_tags = risk_tags[risk, mappa]
                    else:
                        due = plans[plan][last_visit] if last_visit else cal.window[start]
                        visit_tags = plan_tags[plan, mappa]
                        track.plan_count += 1
                    if pattern and pattern & pattern_any:
                        track.pattern(ref, risk, team_code, manager, tags, pattern)
                else:
                    due = cal.visit_due(risk, start, last_visit)
                days = today - due
                if days >= soon:
                    item = Item(
                        "visit",
                        ref,
                        risk,
                        team_code,
                        manager,
                        day[due],
                        days,
                        day[last_visit],
                        failed,
                        False,
                        personal,
                        visit_tags,
                    )
                    (overdue if days > 0 else due_soon).append(item)
            due = cal.review_due(risk, start, assessed)
            if today > due and in_status and not list_reviews:
                count_late(review_cells, worst["overdue_risk_reviews"], (team_code, risk), today - due, ref)
            elif today > due and in_status:
                due_day, late = day[due], today - due
                reviews.append(
                    Item(
                        "risk_review",
                        ref,
                        risk,
                        team_code,
                        manager,
                        due_day,
                        late,
                        day[assessed],
                        0,
                        False,
                        personal,
                        tags,
                    )
                )
        elif status != "missing":
            continue

        nfa = bool(nfa)
        due = cal.notification_due(status, start, registered_on, notified, nfa)
        if today > due and not list_notifications:
            count_late(notification_cells, worst["overdue_notifications"], (team_code, risk), today - due, ref)
        elif today > due:
            due_day, late = day[due], today - due
            notifications.append(
                Item(
                    "notification", ref, risk, team_code, manager, due_day, late, day[notified], 0, nfa, personal, tags
                )
            )
        if status == "missing" and in_status:
            unlocated.append(
                Unlocated(ref, risk, team_code, manager, day[start], today - start, day[last_visit_any], personal, tags)
            )

    for items in (overdue, due_soon, reviews, notifications):
        sort_items(items, mappa_first)
    unlocated.sort(key=_SORT_KEY)
    absent.sort(key=_SORT_KEY)
    reactive_high.sort(key=_SORT_KEY)

    # Each of the two lists is either listed or only counted: one of the two terms is 0.
    summary = summary_of(
        policy,
        overdue,
        due_soon,
        len(reviews) + review_cells.total(),
        len(notifications) + notification_cells.total(),
        unlocated,
        caseload,
    )
    summary = replace(summary, not_in_extract=len(absent), reactive_high_risk=len(reactive_high))
    caseload_by_officer: Counter[str] = Counter()
    for (_team, _risk, manager), n in caseload.items():
        caseload_by_officer[manager] += n
    result = Obligations(
        as_of=as_of,
        team=team,
        officer=officer,
        overdue_visits=overdue,
        due_soon=due_soon,
        overdue_risk_reviews=reviews,
        overdue_notifications=notifications,
        whereabouts_unknown=unlocated,
        summary=summary,
        failed_attempts_flag=policy.failed_attempts_flag,
        include_names=policy.include_names,
        caseload=dict(caseload),
        extra={"caseload_by_officer": dict(sorted(caseload_by_officer.items()))},
        not_in_extract=absent,
        reactive_high_risk=reactive_high,
        unlisted=count_only,
        unlisted_counts={
            name: dict(cells)
            for name, cells in (("overdue_risk_reviews", review_cells), ("overdue_notifications", notification_cells))
            if name in count_only
        },
        unlisted_worst={name: cells for name, cells in worst.items() if name in count_only},
    )
    if practice is None:
        return result
    return track.finish(result, practice, as_of, caseload)
