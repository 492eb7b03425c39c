"""Due dates: the policy's intervals in calendar arithmetic, remembered per start date.

Why apart from the scan: the rules' date arithmetic (calendar months clamped to the month's
end, the first-visit window, notification after a return) is the part people check against
the statute, and the part SQL dialects disagree on, so it is kept in Python and in one
place. The scan reads dates as day ordinals (``date.toordinal()``, computed by the
database), so the rules here compare and look up integers. A register holds a few thousand
distinct dates, so the scan looks most due dates up in a memo table instead of computing them
again for each of a national register's people.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, overload

from monitor.core.config import Policy
from monitor.core.durations import Duration
from monitor.core.memo import Memo


class _Dates(Memo[int | None, date | None]):
    """Ordinal -> date, made once per distinct day (None stays None)."""

    if TYPE_CHECKING:  # what a lookup gives, for the type checker only: dict's own lookup runs

        @overload
        def __getitem__(self, day: int) -> date: ...
        @overload
        def __getitem__(self, day: None) -> None: ...
        @overload
        def __getitem__(self, day: int | None) -> date | None: ...
        def __getitem__(self, day: int | None) -> date | None: ...


#: Entries a memo table may hold before it starts again (hostile data cannot grow it).
MEMO_MAX = 200_000
#: ``DATES[n]`` is ``date.fromordinal(n)``; ``DATES[None]`` is None.
DATES = _Dates(lambda day: None if day is None else date.fromordinal(day), MEMO_MAX)
#: One memo table per interval: ``table[start]`` is the day due (see :func:`_after_table`).
_TABLES: dict[Duration, Memo[int, int]] = {}


def _after_table(duration: Duration) -> Memo[int, int]:
    """The memo table of one interval's calendar arithmetic, shared by every scan.

    Days are ordinals (``date.toordinal()``), as the scan reads them from the database: a
    register holds a few thousand distinct dates, so a national scan does a few thousand
    month-clamp calculations and otherwise dictionary lookups, with no date object made
    for a person who owes nothing.
    """
    table = _TABLES.get(duration)
    if table is None:
        table = _TABLES[duration] = Memo(lambda start: duration.after(date.fromordinal(start)).toordinal(), MEMO_MAX)
    return table


class Calendar:
    """The policy's due-date rules over memo tables (see :func:`_after_table`), on day ordinals."""

    def __init__(self, policy: Policy) -> None:
        self.intervals = {risk: _after_table(d) for risk, d in policy.intervals.items()}
        self.window = _after_table(policy.first_visit_within)
        self.reviews = {risk: _after_table(d) for risk, d in policy.review_interval.items()}
        self.notify = _after_table(policy.notification_interval)
        self.notify_nfa = _after_table(policy.notification_interval_no_fixed_abode)
        self.after_return = _after_table(policy.notification_after_return)
        #: A plan's visit interval (canonical ISO text, as stored) -> its memo table.
        self.plans: Memo[str, Memo[int, int]] = Memo(lambda text: _after_table(Duration.parse(text)), MEMO_MAX)
        self.supervision = {risk: _after_table(d) for risk, d in policy.practice.supervisor_review_interval.items()}

    def visit_due(self, risk: str, start: int, last_visit: int | None) -> int:
        """Next home visit: the risk interval after the last completed one, else the first-visit window after S."""
        return self.intervals[risk][last_visit] if last_visit else self.window[start]

    def supervisor_review_due(self, risk: str, start: int, reviewed: int | None) -> int:
        """Next supervisor review: the interval after the last one, or after S when there is
        none or it came before S (a review from before the current status does not count)."""
        return self.supervision[risk][reviewed if reviewed is not None and reviewed >= start else start]

    def review_due(self, risk: str, start: int, assessed: int | None) -> int:
        """Next risk review; a new or returning person always gets the first-visit window."""
        window = self.window[start]
        if assessed is None:
            return window
        due = self.reviews[risk][assessed]
        return max(due, window) if assessed < start else due

    def notification_due(
        self, status: str, start: int, registered_on: int, last_notified: int | None, no_fixed_abode: bool
    ) -> int:
        """Next periodic notification (s.85): yearly, weekly without a fixed abode.

        If it fell due while the person was away (custody, hospital, abroad) the deadline is
        ``notification_after_return`` after they came back (S). The register carries no
        status history, so "fell due while away" is read as due < S for a returned person.
        """
        due = (self.notify_nfa if no_fixed_abode else self.notify)[last_notified or registered_on]
        if status == "community" and start > registered_on and due < start:
            due = self.after_return[start]
        return due


def _day(value: date | None) -> int | None:
    return value.toordinal() if value is not None else None


def visit_due(policy: Policy, risk: str, start: date, last_visit: date | None) -> date:
    """Next home visit: the risk interval after the last completed one, else the first-visit window after S."""
    return date.fromordinal(Calendar(policy).visit_due(risk, start.toordinal(), _day(last_visit)))


def review_due(policy: Policy, risk: str, start: date, assessed: date | None) -> date:
    """Next risk review; a new or returning person always gets the first-visit window."""
    return date.fromordinal(Calendar(policy).review_due(risk, start.toordinal(), _day(assessed)))


def notification_due(
    policy: Policy,
    status: str,
    start: date,
    registered_on: date,
    last_notified: date | None,
    no_fixed_abode: bool,
) -> date:
    """Next periodic notification (s.85); see :meth:`Calendar.notification_due`."""
    due = Calendar(policy).notification_due(
        status, start.toordinal(), registered_on.toordinal(), _day(last_notified), no_fixed_abode
    )
    return date.fromordinal(due)
