"""Print the query plans of the scan's statements on a register, to justify its indexes.

Why: the scan must stay one cheap statement at national scale on both engines, and that
rests on the planner using the indexes it was given. This prints, for a register already
imported, the plan of each statement the scan can issue (the stored visit facts, force-wide
and for one team; the live aggregates for a past date; the facts refresh an import runs),
as EXPLAIN QUERY PLAN on SQLite and EXPLAIN (ANALYZE) on PostgreSQL.

    .venv/bin/python benchmarks/plans.py sqlite:///var/monitor.db --as-of 2026-11-23
    .venv/bin/python benchmarks/plans.py postgresql://postgres@127.0.0.1/monitor --team TEAM-012

Read-only: the refresh is explained, never run (on PostgreSQL inside a transaction that is
rolled back).
"""

from __future__ import annotations

import argparse
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, insert, select, text

from monitor.register.db import make_engine
from monitor.register.derived import FACT_COLUMNS, facts_select
from monitor.register.models import Offender, VisitFacts
from monitor.rules.rows import live_facts_query, stored_facts_query


def refresh_statement() -> Any:
    return insert(VisitFacts).from_select(FACT_COLUMNS, facts_select())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("url")
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 11, 23))
    parser.add_argument("--team", help="Team for the one-team plans (default: the largest).")
    args = parser.parse_args()
    engine = make_engine(args.url)
    pg = engine.dialect.name == "postgresql"
    with engine.connect() as conn:
        team = args.team or conn.scalar(
            select(Offender.team).group_by(Offender.team).order_by(func.count().desc()).limit(1)
        )
        conn.rollback()
        past = args.as_of - timedelta(days=31)
        statements = [
            (f"stored facts, force-wide, {args.as_of}", stored_facts_query(args.as_of, None, None, False)),
            (f"stored facts, team {team}", stored_facts_query(args.as_of, team, None, False)),
            (f"live facts, team {team}, {past}", live_facts_query(past, team, None, False)),
            (f"live facts, force-wide, {past}", live_facts_query(past, None, None, False)),
            ("facts refresh (import), the SELECT", facts_select()),
        ]
        for label, statement in statements:
            sql = str(statement.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
            print(f"== {label}")
            if pg:
                for (line,) in conn.execute(text("EXPLAIN (ANALYZE, BUFFERS OFF) " + sql)):
                    print("  " + line)
            else:
                for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql):
                    print("  " + str(row[-1]))
            conn.rollback()  # EXPLAIN ANALYZE ran the refresh: undo it
    engine.dispose()


if __name__ == "__main__":
    main()
