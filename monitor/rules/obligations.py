"""What the scan returns: every obligation that is overdue or coming due, and a summary.

These types are the contract between the one engine (:func:`monitor.rules.scan.scan`) and
everything that shows its results: reports, digests, snapshots, metrics, the daemon.
``to_json`` produces exactly the JSON report contract (docs/reference/reports.md, with its
documented extensions); nothing downstream recomputes a due date.

Ordering everywhere: risk (very_high first), then days overdue (most first), then ref.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date
from typing import TYPE_CHECKING, Any

from monitor.core.slots import stores_through_slots
from monitor.rules.case_tags import RISK_ORDER, CaseTags, mappa_rank

if TYPE_CHECKING:  # the practice measures' types (rules.practice), imported only when they are on
    from monitor.rules.practice import LoneVisit, LongPlanInterval, PracticeFigures, Predictable

RISK_LABELS: dict[str, str] = {
    "very_high": "Very high",
    "high": "High",
    "medium": "Medium",
    "low": "Low",
}
AGE_BANDS: tuple[str, ...] = ("1-7", "8-28", "29-90", "91+")
#: The practice measures' lists (docs/practice.md), after the backlog's in the JSON.
PRACTICE_LISTS: tuple[str, ...] = (
    "lone_visits",
    "predictable_visits",
    "overdue_supervisor_reviews",
    "long_plan_intervals",
)


@stores_through_slots
@dataclass(frozen=True, slots=True)
class Personal:
    """Personal data, present only when ``policy.include_names`` is on."""

    surname: str | None
    forenames: str | None
    date_of_birth: date | None


@stores_through_slots
@dataclass(frozen=True, slots=True)
class Item:
    """One obligation for one person.

    ``kind`` is ``visit``, ``risk_review``, ``notification`` or ``supervisor_review``. ``days_overdue`` is
    ``as_of - due_date`` in days: positive when overdue, zero or negative when due soon.
    ``last_done`` is the last completed home visit, last risk assessment, last
    notification or last supervisor review, by kind. ``failed_attempts`` counts no-access home visits since the
    last completed one (visits only).
    """

    kind: str
    ref: str
    risk_level: str
    team: str
    offender_manager: str
    due_date: date
    days_overdue: int
    last_done: date | None = None
    failed_attempts: int = 0
    no_fixed_abode: bool = False
    personal: Personal | None = None
    #: The interval applied and MAPPA (practice measures on only; see rules.practice).
    tags: CaseTags | None = None

    @property
    def sort_key(self) -> tuple[int, int, int, str]:
        return (RISK_ORDER[self.risk_level], mappa_rank(self.tags), -self.days_overdue, self.ref)

    def to_json(self, failed_attempts_flag: int = 2) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ref": self.ref,
            "risk_level": self.risk_level,
            "team": self.team,
            "offender_manager": self.offender_manager,
            "due_date": self.due_date.isoformat(),
            "days_overdue": self.days_overdue,
        }
        last = self.last_done.isoformat() if self.last_done else None
        if self.kind == "visit":
            out["last_visit"] = last
            out["failed_attempts"] = self.failed_attempts
            out["warrant_flag"] = self.failed_attempts >= failed_attempts_flag
            if self.days_overdue <= 0:
                out["due_in_days"] = -self.days_overdue
        elif self.kind == "risk_review":
            out["last_assessed"] = last
        elif self.kind == "supervisor_review":
            out["last_reviewed"] = last
        else:
            out["last_notified"] = last
            out["no_fixed_abode"] = self.no_fixed_abode
        if self.tags is not None:
            out.update(self.tags.json())
        if self.personal is not None:
            out.update(_personal_json(self.personal))
        return out


@stores_through_slots
@dataclass(frozen=True, slots=True)
class Unlocated:
    """A person whose whereabouts are unknown (status ``missing``): listed, never dropped."""

    ref: str
    risk_level: str
    team: str
    offender_manager: str
    missing_since: date
    days_missing: int
    last_visit: date | None = None
    personal: Personal | None = None
    tags: CaseTags | None = None

    @property
    def sort_key(self) -> tuple[int, int, int, str]:
        return (RISK_ORDER[self.risk_level], mappa_rank(self.tags), -self.days_missing, self.ref)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ref": self.ref,
            "risk_level": self.risk_level,
            "team": self.team,
            "offender_manager": self.offender_manager,
            "missing_since": self.missing_since.isoformat(),
            "days_missing": self.days_missing,
            "last_visit": self.last_visit.isoformat() if self.last_visit else None,
        }
        if self.tags is not None:
            out.update(self.tags.json())
        if self.personal is not None:
            out.update(_personal_json(self.personal))
        return out


@dataclass(frozen=True)
class NotInExtract:
    """A person the latest full extract left out: kept, listed, for the supervisor to resolve.

    Marked at import (``offenders.absent_since``); they still count, and are still listed
    wherever an obligation of theirs is overdue, until a later extract has them again or
    the register says their registration ended.
    """

    ref: str
    risk_level: str
    team: str
    offender_manager: str
    status: str
    absent_since: date
    days_absent: int
    tags: CaseTags | None = None

    @property
    def sort_key(self) -> tuple[int, int, int, str]:
        return (RISK_ORDER[self.risk_level], mappa_rank(self.tags), -self.days_absent, self.ref)

    def to_json(self) -> dict[str, Any]:
        out = {
            "ref": self.ref,
            "risk_level": self.risk_level,
            "team": self.team,
            "offender_manager": self.offender_manager,
            "status": self.status,
            "absent_since": self.absent_since.isoformat(),
            "days_absent": self.days_absent,
        }
        return out | self.tags.json() if self.tags is not None else out


@dataclass(frozen=True)
class ReactiveHighRisk:
    """A very high or high risk person marked reactive: owes no routine visit, so say so."""

    ref: str
    risk_level: str
    team: str
    offender_manager: str
    status: str
    tags: CaseTags | None = None

    @property
    def sort_key(self) -> tuple[int, int, str]:
        return (RISK_ORDER[self.risk_level], mappa_rank(self.tags), self.ref)

    def to_json(self) -> dict[str, Any]:
        out = {
            "ref": self.ref,
            "risk_level": self.risk_level,
            "team": self.team,
            "offender_manager": self.offender_manager,
            "status": self.status,
        }
        return out | self.tags.json() if self.tags is not None else out


def _personal_json(p: Personal) -> dict[str, Any]:
    return {
        "surname": p.surname,
        "forenames": p.forenames,
        "date_of_birth": p.date_of_birth.isoformat() if p.date_of_birth else None,
    }


@dataclass(frozen=True)
class Summary:
    """Backlog figures HMICFRS asked for: size, risk mix, how overdue, the worst case.

    ``active_caseload`` counts people in scope who are registered on the as-of date and
    whose registration has not ended, in any status except deceased and deregistered.
    ``by_risk``/``by_team``/``by_age`` count overdue *visits*. ``caseload_by_team`` and
    ``risk_by_age`` are extensions (docs/reference/reports.md).
    """

    active_caseload: int
    overdue_visits: int
    by_risk: dict[str, int]
    by_team: dict[str, int]
    by_age: dict[str, int]
    most_overdue_days: int | None
    most_overdue_ref: str | None
    due_soon: int
    overdue_risk_reviews: int
    overdue_notifications: int
    whereabouts_unknown: int
    failed_attempt_flags: int
    caseload_by_team: dict[str, int]
    caseload_by_risk: dict[str, int]
    risk_by_age: dict[str, dict[str, int]]
    not_in_extract: int = 0
    reactive_high_risk: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "active_caseload": self.active_caseload,
            "overdue_visits": self.overdue_visits,
            "by_risk": dict(self.by_risk),
            "by_team": dict(self.by_team),
            "by_age": dict(self.by_age),
            "most_overdue_days": self.most_overdue_days,
            "most_overdue_ref": self.most_overdue_ref,
            "due_soon": self.due_soon,
            "overdue_risk_reviews": self.overdue_risk_reviews,
            "overdue_notifications": self.overdue_notifications,
            "whereabouts_unknown": self.whereabouts_unknown,
            "failed_attempt_flags": self.failed_attempt_flags,
            "caseload_by_team": dict(self.caseload_by_team),
            "caseload_by_risk": dict(self.caseload_by_risk),
            "risk_by_age": {r: dict(v) for r, v in self.risk_by_age.items()},
            "not_in_extract": self.not_in_extract,
            "reactive_high_risk": self.reactive_high_risk,
        }


#: The report's lists, in the JSON contract's order (each an ``Obligations`` attribute).
LISTS: tuple[str, ...] = (
    "overdue_visits",
    "due_soon",
    "overdue_risk_reviews",
    "overdue_notifications",
    "whereabouts_unknown",
    "not_in_extract",
    "reactive_high_risk",
    *PRACTICE_LISTS,
)


@dataclass(frozen=True)
class Obligations:
    """Everything the scan found for one as-of date and scope, each list in contract order."""

    as_of: date
    team: str | None
    officer: str | None
    overdue_visits: list[Item]
    due_soon: list[Item]
    overdue_risk_reviews: list[Item]
    overdue_notifications: list[Item]
    whereabouts_unknown: list[Unlocated]
    summary: Summary
    failed_attempts_flag: int = 2
    include_names: bool = False
    #: In-scope people per (team, risk level, offender manager): snapshots and per-officer
    #: tables need the cross, which the summary's per-team and per-risk counts do not give.
    caseload: dict[tuple[str, str, str], int] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    #: In-scope people the latest full extract left out (they stay in every list above).
    not_in_extract: list[NotInExtract] = field(default_factory=list)
    #: In-scope very high and high risk people marked reactive (no routine visits).
    reactive_high_risk: list[ReactiveHighRisk] = field(default_factory=list)
    #: Lists (of :data:`LISTS`) left empty on purpose: counted by the summary but not
    #: listed (``scan(count_only=...)``, :meth:`only`). The JSON and CSV leave them out,
    #: so an unlisted list is never read as "none".
    unlisted: frozenset[str] = frozenset()
    #: The lists the scan counted instead of listing: their entries per (team, risk level).
    unlisted_counts: dict[str, dict[tuple[str, str], int]] = field(default_factory=dict)
    #: ...and the most overdue of each such cell: (days overdue, ref).
    unlisted_worst: dict[str, dict[tuple[str, str], tuple[int, str]]] = field(default_factory=dict)
    #: The practice measures (docs/practice.md): None when they are off, and then the JSON
    #: and CSV are exactly as before. Their four lists below are empty when off; the lists
    #: of a measure the register does not record are left out of the JSON (not "none").
    practice: PracticeFigures | None = None
    lone_visits: list[LoneVisit] = field(default_factory=list)
    predictable_visits: list[Predictable] = field(default_factory=list)
    overdue_supervisor_reviews: list[Item] = field(default_factory=list)
    long_plan_intervals: list[LongPlanInterval] = field(default_factory=list)

    def count(self, name: str) -> int:
        """How many entries list ``name`` has, listed or only counted."""
        if name not in self.unlisted:
            return len(getattr(self, name))
        if name not in self.unlisted_counts and self.practice is not None and name in self.practice.counts:
            return self.practice.counts[name]  # a practice list (scan(count_only=...))
        if name not in self.unlisted_counts:
            raise ValueError(f"{name} was left out, not counted")
        return sum(self.unlisted_counts[name].values())

    def only(self, lists: Iterable[str]) -> Obligations:
        """This result listing only ``lists`` (of :data:`LISTS`); the summary is unchanged."""
        keep = set(lists)
        if keep - set(LISTS):
            raise ValueError(f"not a list of the report: {sorted(keep - set(LISTS))}")
        if keep & self.unlisted:
            raise ValueError(f"not listed by the scan: {sorted(keep & self.unlisted)}")
        drop = frozenset(LISTS) - keep
        emptied: dict[str, Any] = {name: [] for name in drop}
        return replace(self, unlisted=self.unlisted | drop, **emptied)

    def to_json(self) -> dict[str, Any]:
        return {key: list(value) if isinstance(value, Iterator) else value for key, value in self.json_parts()}

    def json_parts(self) -> Iterable[tuple[str, Any]]:
        """The JSON contract's keys in order; each list as an iterator of its entries.

        An entry's dict is made only as it is encoded, so a national report never holds
        140,000 of them at once (``reports.export.render_json``).
        """
        flag = self.failed_attempts_flag
        yield "as_of", self.as_of.isoformat()
        for name in self.listed():
            entries = getattr(self, name)
            yield name, (e.to_json(flag) if isinstance(e, Item) else e.to_json() for e in entries)
        summary = self.summary.to_json()
        if self.practice is not None:
            summary.update(self.practice.summary_json(self))
        yield "summary", summary

    def listed(self) -> list[str]:
        """The lists of :data:`LISTS` this result gives, in order: not those only counted,
        nor the practice lists when the measures are off or their column is not recorded."""
        shown = [name for name in LISTS if name not in self.unlisted]
        if self.practice is None:
            return [name for name in shown if name not in PRACTICE_LISTS]
        missing = {
            "lone_visits": not self.practice.lone_recorded,
            "overdue_supervisor_reviews": not self.practice.reviews_recorded,
        }
        return [name for name in shown if not missing.get(name, False)]

    def case_refs(self) -> list[str]:
        """Every case reference this result discloses (for the disclosure log)."""
        refs: set[str] = set()
        for items in (
            self.overdue_visits,
            self.due_soon,
            self.overdue_risk_reviews,
            self.overdue_notifications,
        ):
            refs.update(i.ref for i in items)
        refs.update(u.ref for u in self.whereabouts_unknown)
        refs.update(n.ref for n in self.not_in_extract)
        refs.update(r.ref for r in self.reactive_high_risk)
        for name in PRACTICE_LISTS:
            refs.update(x.ref for x in getattr(self, name))
        return sorted(refs)
