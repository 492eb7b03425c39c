"""The force's backtest in a process of its own, worked out while the digest run scans and plans.

Why: the backtest replays twelve weeks of the register's history
(:mod:`monitor.planning.history`) and forecasts from the start of them. On a national
register that is about a third of a digest run's own work before rendering (3 of 10 s at
100,000 people), yet it needs nothing the run works out: only the register, the policy and
the date. So, when the machine has a second CPU and the register is large enough to be
worth it, a child process works it out while this one scans, plans and forecasts, and hands
back the small result (one count a week). Rendering starts when both are done, so the run
takes the longer of the two instead of their sum.

The child is *spawned* (a fresh interpreter running this module), never forked: the daemon
builds digests beside its scheduler's threads, and a fork copies their locks in whatever
state they are. Its inputs come on its standard input (pickled by this same program: the
database address, the policy, the plan settings and the date); its answer goes out on its
standard output as JSON: the register's stamp and the weekly counts. Nothing about a person
crosses the pipe, and the child's standard error is discarded (a database error can quote
a row): the caller logs only the kind of failure.

The answer counts only when the child read the same register as the run. The child sends
the register's stamp (:func:`register_stamp`: the last import run, when it finished, and
the absences), read in the same snapshot as its history (PostgreSQL: ``REPEATABLE READ``);
the run reads the stamp before its scan and again when it takes the answer, and all three
must be equal. So an import or an absence recorded while either was reading (PostgreSQL
gives each of the run's statements the latest register; SQLite keeps the run's first
snapshot) is never mixed in. A different stamp, a child that failed, was killed or is
still running after :data:`WAIT_SECONDS`: the backtest is worked out in the run's own
process, as it is for a small register, and the digests say the same either way.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import subprocess
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from typing import IO, TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from monitor.planning.backtest import backtest
from monitor.planning.forecast_results import Backtest, BacktestWeek
from monitor.planning.history import read_history
from monitor.planning.source_engine import EngineSource
from monitor.register.models import ImportRun, Offender, OfficerAbsence

if TYPE_CHECKING:
    from monitor.core.config import Policy
    from monitor.core.plan_settings import PlanSettings

log = logging.getLogger("monitor.digests.backtest")

#: People in the register from which the backtest gets a process of its own: below this it
#: costs less than starting one (a fresh interpreter is about half a second of a CPU).
MIN_PEOPLE = 20_000
#: How long the run waits for the child before working the backtest out itself.
WAIT_SECONDS = 600.0

_HERE = "worked out in this process instead"

Stamp = tuple[Any, ...]


def register_stamp(session: Session) -> Stamp:
    """What the backtest reads that can change between two transactions: the last import
    run and the officers' absences (recorded between imports by ``absences``)."""
    row = session.execute(
        select(
            select(func.max(ImportRun.id)).scalar_subquery(),
            select(func.max(ImportRun.finished_at)).scalar_subquery(),
            select(func.count()).select_from(OfficerAbsence).scalar_subquery(),
            select(func.max(OfficerAbsence.updated_at)).scalar_subquery(),
        )
    ).one()
    return tuple(None if v is None else str(v) for v in row)


def work_out(session: Session, policy: Policy, settings: PlanSettings, as_of: date) -> Backtest:
    """The force's backtest, in this process: the history from ``backtest_weeks`` back to
    ``as_of``, and the forecast made from its first day set against it."""
    weeks = settings.backtest_weeks
    history = read_history(EngineSource(session), policy, as_of - timedelta(days=7 * weeks), as_of)
    return backtest(history.then, history.actual, settings.default_visits_per_week, settings.growth_per_year)


@dataclass
class Pending:
    """A backtest being worked out by a child process (:func:`start`)."""

    process: subprocess.Popen[bytes]
    #: The register's stamp when the run asked for the child (before its own scan).
    stamp: Stamp
    answered: bool = False

    def result(self, session: Session) -> Backtest | None:
        """The child's backtest if it read the register ``session`` reads, else None (the
        caller works it out itself); the child is gone when this returns."""
        self.answered = True
        try:
            out, _ = self.process.communicate(timeout=WAIT_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.communicate()
            log.warning("the backtest's worker process took too long; %s", _HERE)
            return None
        if self.process.returncode != 0:
            log.warning("the backtest's worker process ended with status %s; %s", self.process.returncode, _HERE)
            return None
        try:
            answer = json.loads(out)
            if "error" in answer:
                log.warning("the backtest's worker process failed (%s); %s", answer["error"], _HERE)
                return None
            if not tuple(answer["stamp"]) == self.stamp == register_stamp(session):
                log.info("the register changed while the backtest's worker read it; %s", _HERE)
                return None
            return Backtest(
                made_on=date.fromisoformat(answer["made_on"]),
                points=[BacktestWeek(date.fromisoformat(on), fc, actual) for on, fc, actual in answer["points"]],
            )
        except (ValueError, KeyError, TypeError):
            log.warning("the backtest's worker process gave an answer that could not be read; %s", _HERE)
            return None

    def cancel(self) -> None:
        """Stop the child if the run ended before it asked for the answer (a no-op after)."""
        if self.answered:
            return
        self.answered = True
        if self.process.poll() is None:
            self.process.kill()
        self.process.communicate()


def start(session: Session, policy: Policy, settings: PlanSettings, as_of: date) -> Pending | None:
    """A child process working out the force's backtest, or None when it is not worth one
    (one CPU, no backtest, a small register, a database another process cannot open)."""
    if not settings.backtest_weeks or len(os.sched_getaffinity(0)) < 2:
        return None
    url = session.get_bind().engine.url
    if url.get_backend_name() == "sqlite" and (not url.database or url.database == ":memory:"):
        return None  # a database only this process can see
    people = session.scalar(select(func.count()).select_from(Offender)) or 0
    if people < MIN_PEOPLE:
        return None
    return spawn(url.render_as_string(hide_password=False), policy, settings, as_of, register_stamp(session))


def spawn(url: str, policy: Policy, settings: PlanSettings, as_of: date, stamp: Stamp) -> Pending | None:
    """The child process for the register at ``url``, its task sent (None if it cannot start);
    ``stamp``: the register's as the run read it before its own scan."""
    task = (url, policy, settings, as_of)
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", __name__],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            close_fds=True,
        )
    except OSError as exc:
        log.warning(
            "could not start the backtest's worker process (%s); worked out in this process", type(exc).__name__
        )
        return None
    assert process.stdin is not None
    try:
        process.stdin.write(pickle.dumps(task))
        process.stdin.close()
        process.stdin = None  # sent in full: communicate() then only reads the answer
    except OSError:
        process.kill()
        process.communicate()
        return None
    return Pending(process, stamp)


def _answer(task_in: IO[bytes], out: IO[str]) -> None:
    """In the child: read the task, work out the backtest in one read transaction, answer."""
    from monitor.register.db import make_engine, reading

    url, policy, settings, as_of = pickle.load(task_in)  # noqa: S301 (written by the parent, through its own pipe)
    try:
        # PostgreSQL: one snapshot for the stamp and every read (its default isolation gives
        # each statement its own); SQLite's read transaction is one snapshot already.
        sqlite = url.startswith("sqlite")
        engine = make_engine(url) if sqlite else make_engine(url, isolation_level="REPEATABLE READ")
        with reading(engine) as session:
            stamp = register_stamp(session)
            result = work_out(session, policy, settings, as_of)
        answer: dict[str, Any] = {
            "stamp": list(stamp),
            "made_on": result.made_on.isoformat(),
            "points": [[p.on.isoformat(), p.forecast, p.actual] for p in result.points],
        }
    except Exception as exc:  # the kind only: a message could quote the register
        answer = {"error": type(exc).__name__}
    out.write(json.dumps(answer))


if __name__ == "__main__":
    _answer(sys.stdin.buffer, sys.stdout)
