"""``/officers/<id>``: one offender manager's week: overdue, due in the next days, reviews, notifications.

An offender manager sees their own; a supervisor sees the officers holding cases in
their team, limited to that team's cases; the lead sees anyone's. The due-soon window
is the officer digest's (``digest.officer_due_soon_days``), so the page and the
Monday email agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flask import Blueprint, Response, g, url_for
from sqlalchemy.orm import Session

from monitor.register.db import reading
from monitor.register.models import Officer
from monitor.rules.obligations import Obligations
from monitor.rules.tallies import warrant_flagged
from monitor.web.access import officer_scan_scope, rule
from monitor.web.exports import csv_response, print_response
from monitor.web.figures import backlog, due_within, scan_scope
from monitor.web.pages import render
from monitor.web.planning import officer_week
from monitor.web.state import state

bp = Blueprint("officer", __name__)


def officer_scan(db: Session, officer_id: str) -> tuple[Obligations, list[tuple[str, str, Sequence[Any]]]]:
    web = state()
    team, officer = officer_scan_scope(g.viewer, officer_id)
    ob = scan_scope(db, web.config, web.today(), team=team, officer=officer)
    days = web.config.digest.officer_due_soon_days
    sections: list[tuple[str, str, Sequence[Any]]] = [
        ("Overdue home visits", "visit", ob.overdue_visits),
        (f"Home visits due in the next {days} days", "visit", due_within(ob.due_soon, days)),
        ("Overdue risk reviews", "review", ob.overdue_risk_reviews),
        ("Overdue periodic notifications", "notification", ob.overdue_notifications),
        ("Whereabouts unknown", "unknown", ob.whereabouts_unknown),
    ]
    if ob.practice is not None:  # the practice measures (docs/practice.md)
        if ob.practice.reviews_recorded:
            sections.append(("Overdue supervisor reviews", "supervision", ob.overdue_supervisor_reviews))
        sections.append(("Predictable visits", "predictable", ob.predictable_visits))
        if ob.practice.lone_recorded:
            lookback = ob.practice.policy.lone_visit_lookback
            sections.append((f"Lone visits, last {lookback}", "lone", ob.lone_visits))
    return ob, sections


def _all(sections: list[tuple[str, str, Sequence[Any]]]) -> list[Any]:
    return [c for _t, _k, cases in sections for c in cases]


@bp.get("/officers/<key:officer_id>")
@rule("officer")
def officer(officer_id: str) -> Response:
    web = state()
    with reading(web.engine) as db:
        ob, sections = officer_scan(db, officer_id)
        days = web.config.digest.officer_due_soon_days
        b = backlog(ob, ob.summary.active_caseload, days)
        record = db.get(Officer, officer_id)
        flags = warrant_flagged((*ob.overdue_visits, *due_within(ob.due_soon, days)), ob.failed_attempts_flag)
        team, _officer = officer_scan_scope(g.viewer, officer_id)
        week = officer_week(db, web.config, web.today(), officer_id, team)
        planned = {i.ref for i in week.planned} if week is not None else set()
        g.audit.cases = len({c.ref for c in _all(sections)} | planned)
        return render(
            "web/officer.html",
            title=f"Officer {officer_id}",
            db=db,
            officer_id=officer_id,
            record=record,
            b=b,
            sections=sections,
            flags=flags,
            limited_to=g.viewer.team if g.viewer.role == "supervisor" else None,
            flag=ob.failed_attempts_flag,
            due_soon_days=days,
            include_names=ob.include_names,
            case_url=web.config.mail.case_url,
            week=week,
        )


@bp.get("/officers/<key:officer_id>/export.csv")
@rule("officer")
def officer_csv(officer_id: str) -> Response:
    with reading(state().engine) as db:
        ob, sections = officer_scan(db, officer_id)
        return csv_response(ob, _all(sections), f"officer-{officer_id}")


@bp.get("/officers/<key:officer_id>/export.html")
@rule("officer")
def officer_print(officer_id: str) -> Response:
    with reading(state().engine) as db:
        ob, sections = officer_scan(db, officer_id)
        return print_response(
            db,
            title=f"Officer {officer_id}",
            scope_words=f"officer {officer_id}",
            filter_words="",
            sections=sections,
            include_names=ob.include_names,
            flag=ob.failed_attempts_flag,
            back=url_for("officer.officer", officer_id=officer_id),
        )
