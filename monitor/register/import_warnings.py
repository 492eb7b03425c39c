"""Warnings an import gives about rows it stores: allowed, but worth a second look.

Not rejects (the row is stored as the extract has it), and one warning per file for each
kind, naming the first cases, so a national extract does not print thousands of lines. Case
references only, never personal data.
"""

from __future__ import annotations

from monitor.core.durations import Duration, longer_than

#: Risk levels for which reactive management (no routine visits) is worth a warning.
HIGH_RISK = ("very_high", "high")
#: Cases named in one warning before "and N more".
NAMED_IN_WARNING = 10


def _named(cases: list[str]) -> str:
    named = ", ".join(cases[:NAMED_IN_WARNING])
    more = f" and {len(cases) - NAMED_IN_WARNING} more" if len(cases) > NAMED_IN_WARNING else ""
    return named + more


def reactive_warning(file: str, cases: list[str]) -> str:
    """One warning for every very high or high risk person marked reactive (not a reject)."""
    people = "person is" if len(cases) == 1 else "people are"
    return (
        f"{file}: {len(cases)} very high or high risk {people} marked reactive, so no routine home visit "
        f"is due (check this is intended): {_named(cases)}"
    )


def long_plan(plan: str | None, default: Duration, multiple: float) -> bool:
    """Whether a plan's visit interval (canonical ISO text) is longer than ``multiple`` times
    the risk level's default (``[policy] plan_interval_warn_multiple``)."""
    return plan is not None and longer_than(Duration.parse(plan), default, multiple)


def long_plan_warning(file: str, cases: list[str], multiple: float) -> str:
    """One warning for every plan visit interval longer than ``multiple`` x its risk default."""
    people = "person's" if len(cases) == 1 else "people's"
    return (
        f"{file}: {len(cases)} {people} visit_interval is longer than {multiple:g} times their risk level's "
        f"default interval (stored as given and listed under long_plan_intervals; check the plan): {_named(cases)}"
    )
