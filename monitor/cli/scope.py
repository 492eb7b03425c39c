"""Shared by ``plan`` and ``forecast``: the scope a person asked for, checked against the register.

Unlike ``report`` (which warns and prints an empty report, so a script does not break on a
new team), a plan or forecast of a team or officer nobody knows is a mistake worth stopping
for: it would advise on nothing and look like good news. So an unknown ``--team``,
``--officer`` or ``--officer-away`` is a usage error (exit 2) that names the closest known
ones. Team codes and officer ids are register values, so they are shown as printable text.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from monitor.cli.app import EXIT_USAGE, fail
from monitor.reports.table import printable

#: Known names offered as "did you mean".
CLOSEST = 3


def closest(wanted: str, known: Iterable[str]) -> str:
    """``did you mean: A, B?`` (or the first few known ones when nothing is close)."""
    names = sorted(set(known))
    near = difflib.get_close_matches(wanted, names, n=CLOSEST, cutoff=0.5)
    if near:
        return "closest known: " + ", ".join(printable(n) for n in near)
    if not names:
        return "the register has none yet"
    return "known: " + ", ".join(printable(n) for n in names[:CLOSEST]) + (", ..." if len(names) > CLOSEST else "")


def check_known(option: str, wanted: str | None, known: Iterable[str], what: str) -> None:
    """Exit 2 when ``wanted`` is given and not among ``known``, naming the closest ones."""
    if wanted is None:
        return
    names = set(known)
    if wanted not in names:
        raise fail(
            f"{option}: no {what} {printable(wanted)!r} in the register or the officer directory; "
            f"{closest(wanted, names)}",
            EXIT_USAGE,
        )
