"""``/teams/<code>``: a team's backlog for its supervisor (and the lead), with filters and exports.

The digest's headline (backlog, risk mix, age bands, most overdue), the case list worst
first (overdue visits unless a status filter says otherwise, narrowed by risk and
officer), the per-officer table and the trend. Everything comes from one scan of this
team only, so nothing of another team can appear whatever the parameters say.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, g, request, url_for
from sqlalchemy.orm import Session

from monitor.core.config import Config
from monitor.digests.practice import TeamPractice
from monitor.register.db import reading
from monitor.rules.obligations import AGE_BANDS, RISK_LABELS, Obligations
from monitor.web.access import rule
from monitor.web.charts import BarChart, bar_chart
from monitor.web.exports import csv_response, print_response, text_csv_response
from monitor.web.figures import (
    KINDS,
    RISKS,
    Backlog,
    Line,
    backlog,
    case_list,
    officer_lines,
    scan_scope,
    team_practice_of,
    trend,
)
from monitor.web.filters import MAPPA_FILTERS, PRACTICE_STATUSES, STATUSES, CaseFilter, case_filter
from monitor.web.pages import render
from monitor.web.planning import plan_csv, team_planning
from monitor.web.state import state

bp = Blueprint("team", __name__)


@dataclass(frozen=True)
class TeamData:
    code: str
    ob: Obligations
    backlog: Backlog
    view: CaseFilter
    cases: list[Any]
    officers: list[Line]
    #: The practice measures' block (docs/practice.md): None when they are off.
    practice: TeamPractice | None = None


def risk_chart(b: Backlog) -> BarChart:
    return bar_chart([(RISK_LABELS[r], b.by_risk.get(r, 0), f"risk-{r}") for r in RISKS])


def age_chart(b: Backlog) -> BarChart:
    return bar_chart([(f"{band} days", b.by_age.get(band, 0), "age") for band in AGE_BANDS])


def status_labels(config: Config, practice: bool = False) -> dict[str, str]:
    labels = {**STATUSES, **(PRACTICE_STATUSES if practice else {})}
    labels["failed"] = f"Visits with {config.policy.failed_attempts_flag}+ failed attempts"
    return labels


def team_data(db: Session, code: str) -> TeamData:
    web = state()
    days = web.config.policy.due_soon_days
    ob = scan_scope(db, web.config, web.today(), team=code)
    officers = officer_lines(db, ob, days)
    view = case_filter(request.args, {line.key for line in officers}, practice=ob.practice is not None)
    cases = case_list(ob, view, days)
    caseload = ob.summary.active_caseload
    return TeamData(
        code=code,
        ob=ob,
        backlog=backlog(ob, caseload, days),
        view=view,
        cases=cases,
        officers=officers,
        practice=team_practice_of(ob, code, [line.key for line in officers]),
    )


def shown_refs(data: TeamData) -> set[str]:
    refs = {c.ref for c in data.cases}
    if data.backlog.most_overdue_ref:
        refs.add(data.backlog.most_overdue_ref)
    return refs


@bp.get("/teams/<key:code>")
@rule("team")
def team(code: str) -> Response:
    web = state()
    with reading(web.engine) as db:
        data = team_data(db, code)
        chart, points = trend(db, web.today(), code)
        g.audit.filters = data.view.words()
        planning = team_planning(db, web.config, web.today(), code, request.args)
        g.audit.filters = " ".join(w for w in (data.view.words(), planning.params.words()) if w)
        g.audit.cases = len({*shown_refs(data), *planning.refs})
        context: dict[str, Any] = {
            "code": code,
            "data": data,
            "b": data.backlog,
            "risk_chart": risk_chart(data.backlog),
            "age_chart": age_chart(data.backlog),
            "risks": RISKS,
            "bands": AGE_BANDS,
            "statuses": status_labels(web.config, data.practice is not None),
            "kind": KINDS.get(data.view.status, "visit"),
            "mappa_filters": MAPPA_FILTERS,
            "trend": chart,
            "points": points,
            "flag": data.ob.failed_attempts_flag,
            "due_soon_days": web.config.policy.due_soon_days,
            "include_names": data.ob.include_names,
            "case_url": web.config.mail.case_url,
            "planning": planning,
        }
        return render("web/team.html", title=f"Team {code}", db=db, **context)


@bp.get("/teams/<key:code>/export.csv")
@rule("team")
def team_csv(code: str) -> Response:
    with reading(state().engine) as db:
        data = team_data(db, code)
        g.audit.filters = data.view.words()
        return csv_response(data.ob, data.cases, f"team-{code}")


@bp.get("/teams/<key:code>/export.html")
@rule("team")
def team_print(code: str) -> Response:
    web = state()
    with reading(web.engine) as db:
        data = team_data(db, code)
        g.audit.filters = data.view.words()
        kind = KINDS.get(data.view.status, "visit")
        title = status_labels(web.config, data.practice is not None)[data.view.status]
        return print_response(
            db,
            title=f"Team {code}: {title}",
            scope_words=f"team {code}",
            filter_words=data.view.words(),
            sections=[(title, kind, data.cases)],
            include_names=data.ob.include_names,
            flag=data.ob.failed_attempts_flag,
            back=url_for("team.team", code=code, **data.view.params()),
        )


@bp.get("/teams/<key:code>/plan.csv")
@rule("team")
def team_plan_csv(code: str) -> Response:
    """This week's plan for the team (``plan --team CODE --format csv``), with the marking."""
    web = state()
    with reading(web.engine) as db:
        planning = team_planning(db, web.config, web.today(), code, request.args)
        g.audit.filters = planning.params.words()
        body = plan_csv(planning.plan, web.config)
        return text_csv_response(body, f"team-{code}-plan", planning.refs, web.today())
