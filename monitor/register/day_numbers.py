"""Dates as day ordinals computed by the database: :class:`day_number`.

Why in ``register``: the scan reads every date this way (:mod:`monitor.rules.rows`), and the
visit facts kept at import use it too, for the weekday of a visit (``(day + 6) % 7`` is
``date.weekday()``), so it lives below both.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer
from sqlalchemy.exc import CompileError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement


class day_number(FunctionElement[int]):
    """A date column as its day ordinal (``date.toordinal()``), computed by the database.

    Why: a national scan reads about 650,000 dates. Made into ``date`` objects by the driver
    (or, on SQLite, parsed from text one value at a time) they were a third of the scan's
    fetch; as integers they cost nothing to read, the rules compare and look them up as
    they are (:mod:`monitor.rules.calendar`), and a date is made only for what is listed.
    """

    type = Integer()
    inherit_cache = True
    name = "day_number"


@compiles(day_number)
def _day_number_unknown(element: day_number, compiler: SQLCompiler, **kw: Any) -> str:
    raise CompileError(f"day_number() has no form for {compiler.dialect.name}")


@compiles(day_number, "sqlite")
def _day_number_sqlite(element: day_number, compiler: SQLCompiler, **kw: Any) -> str:
    # Dates are stored as ISO text; julianday() of a date is N.5 exactly (midnight), and
    # 0001-01-01 (ordinal 1) is 1721425.5.
    return f"CAST(julianday({compiler.process(element.clauses, **kw)}) - 1721424.5 AS INTEGER)"


@compiles(day_number, "postgresql")
def _day_number_postgresql(element: day_number, compiler: SQLCompiler, **kw: Any) -> str:
    return f"({compiler.process(element.clauses, **kw)} - DATE '0001-01-01' + 1)"
