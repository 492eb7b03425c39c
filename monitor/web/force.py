"""``/force`` (lead): every team side by side, worst first, each linking to its team page.

One force-wide scan (cached per register version, see :mod:`monitor.web.figures`) cut
by team: caseload, overdue visits by risk and age band, the most overdue, reviews,
notifications and whereabouts unknown, with the force totals and the backlog trend.
"""

from __future__ import annotations

from flask import Blueprint, Response, g

from monitor.register.db import reading
from monitor.rules.obligations import AGE_BANDS
from monitor.web.access import rule
from monitor.web.figures import RISKS, Line, force_figures, trend
from monitor.web.pages import render
from monitor.web.planning import force_forecast
from monitor.web.state import state
from monitor.web.team import age_chart, risk_chart

bp = Blueprint("force", __name__)


@bp.get("/force")
@rule("lead")
def force() -> Response:
    web = state()
    days = web.config.policy.due_soon_days
    with reading(web.engine) as db:
        figures = force_figures(db, web.config, web.today(), web.extras.get("scan_cache"))
        ob, b, teams = figures.ob, figures.backlog, figures.teams
        chart, points = trend(db, web.today(), None)
        forecast = force_forecast(db, web.config, web.today(), web.extras.get("scan_cache"))
        refs = {line.backlog.most_overdue_ref for line in teams} | {b.most_overdue_ref}
        g_view = figures.governance
        if g_view is not None:  # the oldest overdue visit and risk review of each team
            refs |= {r for row in (g_view.force, *g_view.teams) for r in (row.oldest_visit_ref, row.oldest_review_ref)}
        g.audit.cases = len(refs - {None})
        return render(
            "web/force.html",
            title="Force",
            db=db,
            b=b,
            totals=Line(key="", label="All teams", backlog=b),
            teams=teams,
            risks=RISKS,
            bands=AGE_BANDS,
            risk_chart=risk_chart(b),
            age_chart=age_chart(b),
            trend=chart,
            points=points,
            mix=ob.summary.risk_by_age,
            flag=ob.failed_attempts_flag,
            due_soon_days=days,
            case_url=web.config.mail.case_url,
            governance=figures.governance,
            practice=figures.practice,
            forecast=forecast,
        )
