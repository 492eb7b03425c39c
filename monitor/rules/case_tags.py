"""Whether the practice measures are on, what they read besides the scan's rows, and what every
case line carries when they are: the interval that applied and the MAPPA category and level
(docs/practice.md), and the order MAPPA gives a list.

Why a module of its own: the result types (:mod:`monitor.rules.obligations`) and the scan need
these whether or not the measures are on (a case line without them has no tags; MAPPA level 2
and 3 come first only when someone is at those levels), while the measures' own types and
arithmetic (:mod:`monitor.rules.practice`) are imported only when they are on, so a report of
a register without the practice columns imports nothing more than it did.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from monitor.core.memo import Memo

if TYPE_CHECKING:
    from monitor.core.config import Policy
    from monitor.core.practice_settings import PracticePolicy

#: Risk levels in the contract's order, very high first (``rules.obligations`` names it too).
RISK_ORDER: dict[str, int] = {"very_high": 0, "high": 1, "medium": 2, "low": 3}
#: MAPPA levels listed first within their risk level (active multi-agency management and
#: senior oversight).
MAPPA_FIRST: frozenset[int] = frozenset({2, 3})


def measures_on(policy: PracticePolicy, recorded: Iterable[str]) -> bool:
    """Whether the practice measures are shown: ``[policy] practice_measures`` "on", or
    "auto" (the default) and the register holds any practice column."""
    return policy.measures == "on" or (policy.measures == "auto" and any(True for _ in recorded))


@dataclass(frozen=True)
class PracticeInput:
    """What the practice measures read besides the people's rows: the practice columns the
    register records, and the look-back's completed home visits (rules.lookback: visit id,
    ref, day number, officer, paired, announced), read after the people's rows and tallied
    against them (rules.practice_scan)."""

    recorded: frozenset[str]
    visits: Iterable[Sequence[Any]] = ()

    @property
    def reads_visits(self) -> bool:
        return bool(self.recorded & {"second_officer", "announced"})


def practice_input(policy: Policy, recorded: frozenset[str]) -> PracticeInput | None:
    """The practice measures' input when they are on for this register, else None."""
    return PracticeInput(recorded) if measures_on(policy.practice, recorded) else None


class CaseTags:
    """What a case line says besides the backlog: the interval that applied (visits only:
    canonical ISO 8601 and ``plan`` or ``risk_level``) and the MAPPA category and level
    (None: not given). One object per distinct combination, shared (:data:`TAGS`); frozen.

    ``mappa_rank`` is 0 for MAPPA level 2 or 3 (listed first within their risk level), else
    1: an attribute, so sorting by it runs in C (``attrgetter("tags.mappa_rank")``). A plain
    slotted class rather than a dataclass: importing one costs a millisecond on every command.

    Equal and hashed by identity: :data:`TAGS` makes one object per combination, and the
    digests and reports look case-line texts up by it hundreds of thousands of times, so a
    lookup must not call Python (a value hash was a tenth of a national digest run).
    """

    __slots__ = ("interval", "interval_source", "mappa_category", "mappa_level", "mappa_rank")
    interval: str | None
    interval_source: str | None
    mappa_category: int | None
    mappa_level: int | None
    mappa_rank: int

    def __init__(
        self, interval: str | None, interval_source: str | None, mappa_category: int | None, mappa_level: int | None
    ) -> None:
        set_ = object.__setattr__
        set_(self, "interval", interval)
        set_(self, "interval_source", interval_source)
        set_(self, "mappa_category", mappa_category)
        set_(self, "mappa_level", mappa_level)
        set_(self, "mappa_rank", 0 if mappa_level in MAPPA_FIRST else 1)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"CaseTags is frozen: cannot set {name}")

    def _key(self) -> tuple[str | None, str | None, int | None, int | None]:
        return (self.interval, self.interval_source, self.mappa_category, self.mappa_level)

    def __repr__(self) -> str:
        return "CaseTags(interval={!r}, interval_source={!r}, mappa_category={!r}, mappa_level={!r})".format(
            *self._key()
        )

    def json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.interval is not None:
            out["interval"] = self.interval
            out["interval_source"] = self.interval_source
        out["mappa_category"] = self.mappa_category
        out["mappa_level"] = self.mappa_level
        return out


#: ``TAGS[interval, source, category, level]``: the one CaseTags of that combination (never
#: cleared: a register has a few hundred combinations at most, and a second object for one
#: would not be equal to the first).
TAGS: Memo[tuple[str | None, str | None, int | None, int | None], CaseTags] = Memo(
    lambda key: CaseTags(*key), limit=10**9
)


def mappa_rank(tags: CaseTags | None) -> int:
    return 1 if tags is None else tags.mappa_rank
