"""Shared by ``plan`` and ``forecast``: where the planner reads from, and the scope asked for, checked.

Unlike ``report`` (which warns and prints an empty report, so a script does not break on a
new team), a plan or forecast of a team or officer nobody knows is a mistake worth stopping
for: it would advise on nothing and look like good news. So an unknown ``--team``,
``--officer`` or ``--officer-away`` is a usage error (exit 2) that names the closest known
ones. Team codes and officer ids are register values, so they are shown as printable text.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, TypeVar

from monitor.cli.app import EXIT_USAGE, App, fail
from monitor.reports.table import printable

if TYPE_CHECKING:
    from monitor.planning.source import Source

T = TypeVar("T")


#: Known names offered as "did you mean".
CLOSEST = 3


def closest(wanted: str, known: Iterable[str]) -> str:
    """``did you mean: A, B?`` (or the first few known ones when nothing is close)."""
    names = sorted(set(known))
    near = difflib.get_close_matches(wanted, names, n=CLOSEST, cutoff=0.5)
    if near:
        return "closest known: " + ", ".join(printable(n) for n in sorted(near))
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


def with_source(app: App, ask: Callable[[Source], T], *, force: bool) -> T:
    """``ask(source)`` in one read transaction: for the force on a plain SQLite file through
    :mod:`sqlite3` alone (:class:`monitor.planning.source_sqlite.SqliteSource`), as the
    force-wide report reads; otherwise, or whenever that path does not hold (stored visit
    facts that do not hold on the date, a schema that is not current, any database error),
    through the engine, which then says what is wrong in its usual words."""
    if force:
        import sqlite3

        from monitor.planning.source_sqlite import SqliteSource
        from monitor.register.sqlite_file import open_current
        from monitor.rules.stored_rows import FactsDoNotHold

        conn = open_current(app.config.database_url)
        if conn is not None:
            try:
                conn.execute("BEGIN DEFERRED")  # one snapshot; never the write lock
                return ask(SqliteSource(conn))
            except (FactsDoNotHold, sqlite3.Error):
                pass  # the engine below reads it, and names whatever is wrong
            finally:
                conn.close()
    from monitor.planning.source_engine import EngineSource
    from monitor.register.db import reading

    with reading(app.engine()) as session:
        return ask(EngineSource(session))
