"""``--team`` and ``--officer`` checked against the register before a command reports on them.

A typo must not read as "no backlog": ``report --team NOPE`` (or ``team-01`` for
``TEAM-01``: codes are compared exactly, as the register stores them) used to print an
empty report and exit 0, which a supervisor's script or a tired reader takes for good
news. So a team or officer that neither the register nor the officer directory knows is
a usage error (exit 2) naming the closest known codes. A team or officer in the
directory with no cases yet is known: a new team's report is empty, and correct.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

from monitor.cli.app import EXIT_USAGE, fail

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

#: Known codes named when nothing is close (a force has a handful of teams).
SHOWN = 8


def check_scope(session: Session, team: str | None, officer: str | None) -> None:
    """Raise a usage failure (exit 2) for a team or officer the register does not know."""
    from sqlalchemy import exists, or_, select

    from monitor.register.models import Offender, Officer

    if team is not None:
        known = session.execute(
            select(or_(exists().where(Offender.team == team), exists().where(Officer.team == team)))
        ).scalar()
        if not known:
            teams = _distinct(session, Offender.team, Officer.team)
            raise fail(unknown_message("--team", team, "team", teams), EXIT_USAGE)
    if officer is not None:
        known = session.execute(
            select(
                or_(exists().where(Officer.officer_id == officer), exists().where(Offender.offender_manager == officer))
            )
        ).scalar()
        if not known:
            officers = _distinct(session, Officer.officer_id, Offender.offender_manager)
            raise fail(unknown_message("--officer", officer, "officer", officers), EXIT_USAGE)


def _distinct(session: Session, *columns: object) -> list[str]:
    from sqlalchemy import select, union

    query = union(*(select(column) for column in columns))  # type: ignore[call-overload]
    return sorted({value for (value,) in session.execute(query) if value})


def closest(value: str, known: list[str], n: int = 3) -> list[str]:
    """Known codes most like ``value``: a difference of case first, then by spelling."""
    same_case = [k for k in known if k.casefold() == value.casefold()]
    if same_case:  # team-01 for TEAM-01: that is the answer
        return same_case[:n]
    by_lower: dict[str, list[str]] = {}
    for k in known:
        by_lower.setdefault(k.casefold(), []).append(k)
    near = difflib.get_close_matches(value.casefold(), list(by_lower), n=n, cutoff=0.5)
    return [k for key in near for k in by_lower[key]][:n]


def unknown_message(option: str, value: str, what: str, known: list[str]) -> str:
    """``--team 'NOPE' is not a team in the register ...; did you mean TEAM-01?``."""
    article = "an" if what[0] in "aeiou" else "a"
    head = (
        f"{option} {value!r} is not {article} {what} in the register or the officer directory "
        f"(codes are matched exactly, case included)"
    )
    if not known:
        return f"{head}; the register is empty: import an extract first"
    near = closest(value, known)
    if near:
        return f"{head}; did you mean {', '.join(near)}?"
    listed = ", ".join(known[:SHOWN]) + (f" and {len(known) - SHOWN} more" if len(known) > SHOWN else "")
    return f"{head}; known {what}s: {listed}"
