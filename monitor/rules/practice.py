"""What the scan finds besides the backlog: the practice measures inspectors look at.

HMICFRS (Cambridgeshire letter, 2024; Avon & Somerset and GMP PEEL, 2023) and the joint
MAPPA thematic (2022) look beyond the overdue count: at each person's own visit frequency
(the NPCC's tailored approach since 2017: set in the risk management plan, the risk-level
intervals only a default), at visits made in pairs and on varied days and times (College of
Policing APP), at supervisor reviews of each case, at caseloads, and at MAPPA levels.
docs/practice.md says what each measure means for supervisors and leads.

These are the measures' result types and the arithmetic the scan does with them; the scan
(:mod:`monitor.rules.scan`) fills them in the same pass over the people as the backlog.
They exist only when the measures are on (:func:`measures_on`): a register that has never
had a practice column reports exactly as before, byte for byte.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from monitor.core.durations import Duration, add_days, add_months
from monitor.core.practice_settings import PracticePolicy

# What every case line carries lives apart, so a scan with the measures off imports only it.
from monitor.rules.case_tags import MAPPA_FIRST, RISK_ORDER, TAGS, CaseTags, mappa_rank, measures_on

__all__ = ["MAPPA_FIRST", "RISK_ORDER", "TAGS", "CaseTags", "mappa_rank", "measures_on"]

WEEKDAYS: tuple[str, ...] = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
#: All of the last N visits within this many minutes of each other on the clock: one
#: "two-hour window" (no wrap past midnight).
SAME_TIME_MINUTES = 120
#: Shares are given to this many decimal places.
SHARE_PLACES = 4


@dataclass(frozen=True)
class LoneVisit:
    """A completed home visit in the look-back with no second officer recorded."""

    visit_id: str
    ref: str
    risk_level: str
    team: str
    offender_manager: str
    visit_date: date
    #: Who made it (the visit's officer, else the case's offender manager).
    officer: str
    tags: CaseTags | None = None

    @property
    def sort_key(self) -> tuple[int, int, int, str, str]:
        return (
            RISK_ORDER[self.risk_level],
            mappa_rank(self.tags),
            -self.visit_date.toordinal(),
            self.ref,
            self.visit_id,
        )

    def to_json(self) -> dict[str, Any]:
        out = {
            "visit_id": self.visit_id,
            "ref": self.ref,
            "risk_level": self.risk_level,
            "team": self.team,
            "offender_manager": self.offender_manager,
            "visit_date": self.visit_date.isoformat(),
            "officer": self.officer,
        }
        if self.tags is not None:
            out.update(self.tags.json())
        return out


@dataclass(frozen=True)
class Predictable:
    """A person whose last N completed home visits fell into a pattern they could plan around."""

    ref: str
    risk_level: str
    team: str
    offender_manager: str
    visits: int
    #: Monday 0 when every one fell on the same weekday, else None.
    weekday: int | None
    #: (earliest, latest) minutes after midnight when all were within two hours, else None.
    window: tuple[int, int] | None
    #: True: all had a time and none was in the evening; False: one was; None: not all timed.
    never_evening: bool | None
    tags: CaseTags | None = None

    @property
    def sort_key(self) -> tuple[int, int, str]:
        return (RISK_ORDER[self.risk_level], mappa_rank(self.tags), self.ref)

    @property
    def pattern(self) -> str:
        """In words: "last 3 visits all on Tuesdays, all between 10:05 and 11:40"."""
        parts = []
        if self.weekday is not None:
            parts.append(f"all on {WEEKDAYS[self.weekday]}s")
        if self.window is not None:
            parts.append(f"all between {clock(self.window[0])} and {clock(self.window[1])}")
        if self.never_evening:
            parts.append("none in the evening")
        return f"last {self.visits} visits " + ", ".join(parts)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ref": self.ref,
            "risk_level": self.risk_level,
            "team": self.team,
            "offender_manager": self.offender_manager,
            "last_visits": self.visits,
            "same_weekday": WEEKDAYS[self.weekday] if self.weekday is not None else None,
            "same_time": f"{clock(self.window[0])}-{clock(self.window[1])}" if self.window else None,
            "never_in_evening": self.never_evening,
            "pattern": self.pattern,
        }
        if self.tags is not None:
            out.update(self.tags.json())
        return out


def clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


#: The bits of a stored pattern (``register.derived.PATTERN_BITS``) that make one: a
#: weekday (1-7), none in the evening (16) or a two-hour window (32).
PATTERN_ANY = 7 | 16 | 32


def decode_pattern(code: int) -> tuple[int | None, tuple[int, int] | None, bool | None]:
    """(weekday, window, never_evening) of :class:`Predictable` from a person's stored pattern
    of their last N completed home visits (``register.derived.PATTERN_BITS``)."""
    weekday = (code & 7) - 1 if code & 7 else None
    window = ((code >> 6) & 2047, code >> 17) if code & 32 else None
    never = bool(code & 16) if code & 8 else None
    return weekday, window, never


def mappa_of(code: int) -> tuple[int | None, int | None]:
    """(category, level) from MAPPA as one number (``rules.rows.MAPPA_CODE``: category x 4 + level)."""
    return (code >> 2) or None, (code & 3) or None


@dataclass(frozen=True)
class LongPlanInterval:
    """A plan's visit interval longer than ``plan_interval_warn_multiple`` x the risk default."""

    ref: str
    risk_level: str
    team: str
    offender_manager: str
    status: str
    interval: str
    default_interval: str
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
            "interval": self.interval,
            "default_interval": self.default_interval,
        }
        if self.tags is not None:
            out.update(self.tags.json())
        return out


#: Visit tallies, in this order: completed home visits in the look-back, those with their
#: pairing recorded, lone ones, those with announcement recorded, announced ones.
HOME, PAIRING, LONE, ANNOUNCING, ANNOUNCED = range(5)


def share(part: int, whole: int) -> float | None:
    return round(part / whole, SHARE_PLACES) if whole else None


@dataclass(frozen=True)
class Caseload:
    """One offender manager's caseload against ``[policy] caseload_ceiling``."""

    officer: str
    caseload: int
    weighted: float
    ceiling: int

    @property
    def over_ceiling(self) -> bool:
        return self.caseload > self.ceiling or self.weighted > self.ceiling

    def to_json(self) -> dict[str, Any]:
        return {"caseload": self.caseload, "weighted": self.weighted, "over_ceiling": self.over_ceiling}


def caseloads(cells: Mapping[tuple[str, str, str], int], weights: Mapping[str, float], ceiling: int) -> list[Caseload]:
    """Every offender manager's caseload and weighted caseload (from the scan's people per
    team, risk level and officer), worst first (weighted, then count, then officer)."""
    count: Counter[str] = Counter()
    weighted: dict[str, float] = {}
    for (_team, risk, officer), n in cells.items():
        count[officer] += n
        weighted[officer] = weighted.get(officer, 0.0) + n * weights[risk]
    rows = [Caseload(o, count[o], round(weighted[o], 2), ceiling) for o in count]
    rows.sort(key=lambda c: (-c.weighted, -c.caseload, c.officer))
    return rows


@dataclass(frozen=True)
class PracticeFigures:
    """The practice measures' figures for one scan (``Obligations.practice``).

    ``recorded``: the practice columns the register holds; a measure whose column is not
    there says "not recorded" (None), never 0 % or 100 %. ``visits``: tallies of the
    look-back's completed home visits per (team, risk level, visiting officer), see
    :data:`HOME`. ``people``: per (MAPPA category, MAPPA level), people in scope.
    ``plan_intervals``: people owing visits whose plan set their interval.
    """

    recorded: frozenset[str]
    policy: PracticePolicy
    lookback_start: date
    visits: dict[tuple[str, str, str], list[int]] = field(default_factory=dict)
    people: dict[tuple[int | None, int | None], int] = field(default_factory=dict)
    plan_intervals: int = 0
    caseloads: list[Caseload] = field(default_factory=list)
    #: How many entries each practice list and each MAPPA level's overdue visits had when
    #: scanned: the summary counts them whatever a caller lists (``Obligations.only``).
    counts: dict[str, int] = field(default_factory=dict)
    overdue_by_level: dict[str, int] = field(default_factory=dict)

    @property
    def lone_recorded(self) -> bool:
        return "second_officer" in self.recorded

    @property
    def announced_recorded(self) -> bool:
        return "announced" in self.recorded

    @property
    def reviews_recorded(self) -> bool:
        return "supervisor_reviewed_on" in self.recorded

    def tally(self, team: str | None = None, officer: str | None = None) -> list[int]:
        """The visit tallies (:data:`HOME`...) of one team or one visiting officer, or all."""
        if team is not None and officer is None:
            return self._by(0).get(team, [0, 0, 0, 0, 0])
        if officer is not None and team is None:
            return self._by(2).get(officer, [0, 0, 0, 0, 0])
        out = [0, 0, 0, 0, 0]
        for (t, _r, o), counts in self.visits.items():
            if (team is None or t == team) and (officer is None or o == officer):
                out = [a + b for a, b in zip(out, counts, strict=True)]
        return out

    def _by(self, position: int) -> dict[str, list[int]]:
        """The tallies summed by one part of their key (0 team, 2 officer), made once."""
        cache: dict[int, dict[str, list[int]]] = self.__dict__.setdefault("_tally_cache", {})
        found = cache.get(position)
        if found is None:
            found = cache[position] = {}
            for key, counts in self.visits.items():
                into = found.setdefault(key[position], [0, 0, 0, 0, 0])
                for i, n in enumerate(counts):
                    into[i] += n
        return found

    def caseload_of(self, officer: str) -> Caseload | None:
        return self._caseloads().get(officer)

    def _caseloads(self) -> dict[str, Caseload]:
        found: dict[str, Caseload] | None = self.__dict__.get("_caseload_cache")
        if found is None:
            found = self.__dict__["_caseload_cache"] = {c.officer: c for c in self.caseloads}
        return found

    def lone_share(self, counts: list[int]) -> float | None:
        return share(counts[LONE], counts[PAIRING]) if self.lone_recorded else None

    def announced_share(self, counts: list[int]) -> float | None:
        return share(counts[ANNOUNCED], counts[ANNOUNCING]) if self.announced_recorded else None

    def over_ceiling(self) -> list[Caseload]:
        return [c for c in self.caseloads if c.over_ceiling]

    def mappa_counts(self) -> dict[str, dict[str, int]]:
        """People in scope by MAPPA category and level, and overdue visits by level ("none": not given)."""
        by_category = {str(c): 0 for c in (1, 2, 3, 4)} | {"none": 0}
        by_level = {str(lv): 0 for lv in (1, 2, 3)} | {"none": 0}
        for (category, level), n in self.people.items():
            by_category["none" if category is None else str(category)] += n
            by_level["none" if level is None else str(level)] += n
        late = {str(lv): 0 for lv in (1, 2, 3)} | {"none": 0}
        late.update(self.overdue_by_level)
        return {"caseload_by_category": by_category, "caseload_by_level": by_level, "overdue_visits_by_level": late}

    def summary_json(self, obligations: Any) -> dict[str, Any]:
        """The summary's practice keys (after the backlog's), for ``Obligations.json_parts``."""
        total = self.tally()
        teams = sorted({t for t, _r, _o in self.visits} | set(obligations.summary.caseload_by_team))
        officers = sorted({o for _t, _r, o in self.visits})
        counts = self.counts
        return {
            "practice_recorded": sorted(self.recorded),
            "plan_intervals": self.plan_intervals,
            "long_plan_intervals": counts.get("long_plan_intervals", 0),
            "lone_visit_lookback": str(self.policy.lone_visit_lookback),
            "home_visits_in_lookback": total[HOME] if self.lone_recorded or self.announced_recorded else None,
            "lone_visits": total[LONE] if self.lone_recorded else None,
            "lone_visit_share": self.lone_share(total),
            "lone_visit_share_by_team": {t: self.lone_share(self.tally(team=t)) for t in teams},
            "lone_visit_share_by_officer": {o: self.lone_share(self.tally(officer=o)) for o in officers},
            "announced_visits": total[ANNOUNCED] if self.announced_recorded else None,
            "announced_share": self.announced_share(total),
            "announced_share_by_team": {t: self.announced_share(self.tally(team=t)) for t in teams},
            "predictable_visits": counts.get("predictable_visits", 0),
            "overdue_supervisor_reviews": counts.get("overdue_supervisor_reviews") if self.reviews_recorded else None,
            "caseload_ceiling": self.policy.caseload_ceiling,
            "officers_over_ceiling": len(self.over_ceiling()),
            "officer_caseloads": {c.officer: c.to_json() for c in sorted(self.caseloads, key=lambda c: c.officer)},
            "mappa": self.mappa_counts(),
        }


def lookback_start(as_of: date, lookback: Duration) -> date:
    """The day before the look-back's first day: visits after it and on or before ``as_of``
    count (P90D on 30 June: 2 April to 30 June)."""
    return add_days(add_months(as_of, -lookback.months), -lookback.days)
