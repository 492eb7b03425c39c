"""The plan and forecast on the web pages (issue 22 phase 2), on SQLite and PostgreSQL.

The team page's Plan and Forecast sections with their what-if GET fields, the officer
page's "This week", /force's line per team, the team's plan as CSV; advice only on every
one; a bad what-if value is a 400 naming the field, never echoed, and logged.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Engine, select
from web_support import (
    AS_OF,
    LEAD,
    OM_A1,
    OM_A2,
    OM_B1,
    SUP_A,
    TEAM_A,
    build_register,
    demo_sign_in,
    email,
    make_app,
    store,
    web_config,
)
from werkzeug.datastructures import MultiDict

from monitor.core.config import Config
from monitor.register.db import reading
from monitor.register.models import AccessLogEntry
from monitor.web.planning import team_planning

ADVICE = "Advice only: a person decides."


@pytest.fixture
def app_engine(make_config: Callable[..., Config], db_url: str) -> Iterator[tuple[Flask, Engine, Config]]:
    from monitor.register.db import make_engine

    engine = make_engine(db_url)
    build_register(engine)
    config = web_config(make_config, db_url)
    yield make_app(config, engine, demo=True), engine, config
    engine.dispose()


def signed_in(app: Flask, officer: str) -> FlaskClient:
    client = app.test_client()
    assert demo_sign_in(client, email(officer)).status_code == 303
    return client


def test_team_page_has_plan_and_forecast(app_engine: tuple[Flask, Engine, Config]) -> None:
    app, _engine, _config = app_engine
    html = signed_in(app, SUP_A).get(f"/teams/{TEAM_A}").get_data(as_text=True)
    plan = html.split('<h2 id="plan-h">', 1)[1].split('<h2 id="forecast-h">', 1)[0]
    assert "Plan for this week" in plan and ADVICE in plan
    assert "<caption>Each officer's capacity this week against what the week asks</caption>" in plan
    assert f'<th scope="row"><a href="/officers/{OM_A1}">{OM_A1}</a></th>' in plan
    assert "the default (no stated figure, no visits led in 12 weeks)" in plan  # the capacity's source
    forecast = html.split('<h2 id="forecast-h">', 1)[1].split('<h2 id="cases">', 1)[0]
    assert "overdue now." in forecast and ADVICE in forecast
    assert '<svg class="chart" role="img" aria-labelledby="forecast-chart"' in forecast
    assert '<title id="forecast-chart">Overdue home visits forecast over 26 weeks' in forecast
    assert forecast.count('<th scope="row">') == 26  # the chart's table: one row a week
    assert 'name="extra_per_week"' in forecast and 'name="clear_by" type="date" value="2027-01-18"' in forecast
    assert "would clear them by 18 Jan 2027" in forecast or "They clear by 18 Jan 2027" in forecast
    assert "the last 12 weeks&#39; forecasts were within" in forecast.lower()


def _clears(config: Config, engine: Engine, **args: str) -> tuple[int | None, int | None]:
    with reading(engine) as db:
        p = team_planning(db, config, AS_OF, TEAM_A, MultiDict(args))
    return p.forecast.clears_week, p.forecast.extra_per_week_to_clear_by


def test_what_if_changes_the_forecast(app_engine: tuple[Flask, Engine, Config]) -> None:
    app, engine, config = app_engine
    base, _ = _clears(config, engine)
    _, needed = _clears(config, engine, clear_by="2026-11-30")  # next week: needs more visits
    assert base is not None and base > 1 and needed is not None and needed > 0
    weeks = [_clears(config, engine, extra_per_week=str(n))[0] for n in (0, 1, 2, 5, 20, 500)]
    assert all(w is not None for w in weeks)
    assert weeks == sorted(weeks, reverse=True)  # more visits a week never clear later
    assert weeks[-1] == 0 and weeks[-1] < base
    # Taking an officer away never clears sooner; asking for a later date never needs more.
    away, _ = _clears(config, engine, officer_away=OM_A2)
    assert away is None or away >= base
    _, later = _clears(config, engine, clear_by="2027-06-07")
    assert later is not None and later <= needed
    # The page says what was asked, and logs it.
    client = signed_in(app, SUP_A)
    html = client.get(f"/teams/{TEAM_A}?extra_per_week=20&officer_away={OM_A2}").get_data(as_text=True)
    assert f"With 20 more visits a week and {OM_A2} away the overdue visits clear" in html
    with reading(store(app)) as db:
        row = db.scalars(select(AccessLogEntry).order_by(AccessLogEntry.id.desc())).first()
    assert row is not None and row.filters == f"status=overdue extra_per_week=20 officer_away={OM_A2}"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("extra_per_week=-1", "extra_per_week"),
        ("extra_per_week=501", "extra_per_week"),
        ("extra_per_week=1.5", "extra_per_week"),
        ("extra_per_week=%D9%A3", "extra_per_week"),  # an Arabic-Indic digit: isdigit() but not ASCII
        ("extra_per_week=9" * 1, "extra_per_week")
        if False
        else ("extra_per_week=1&extra_per_week=2", "extra_per_week"),
        ("clear_by=2027-13-01", "clear_by"),
        ("clear_by=2020-01-06", "clear_by"),
        ("clear_by=2099-01-05", "clear_by"),
        ("clear_by=%3Cscript%3E", "clear_by"),
        (f"officer_away={OM_B1}", "officer_away"),
        ("officer_away=OM-NOBODY", "officer_away"),
        ("extra_per_week=%00", "extra_per_week"),
        ("clear_by=2027-01-04%0A", "clear_by"),
    ],
)
def test_bad_what_if_is_a_400_naming_the_field_and_logged(
    app_engine: tuple[Flask, Engine, Config], query: str, field: str
) -> None:
    app, _engine, _config = app_engine
    client = signed_in(app, SUP_A)
    answer = client.get(f"/teams/{TEAM_A}?{query}")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert field in html
    for secret in ("OM-NOBODY", OM_B1, "<script>", "2099", "501"):
        assert secret not in html
    assert "RSO-" not in html
    with reading(store(app)) as db:
        row = db.scalars(select(AccessLogEntry).order_by(AccessLogEntry.id.desc())).first()
    assert row is not None and row.status == 400 and row.scope == f"team:{TEAM_A}"


def test_officer_page_has_this_week(app_engine: tuple[Flask, Engine, Config]) -> None:
    app, _engine, _config = app_engine
    html = signed_in(app, OM_A1).get(f"/officers/{OM_A1}").get_data(as_text=True)
    week = html.split('<h2 id="week-h">', 1)[1].split("</section>", 1)[0]
    assert week.startswith("This week: suggested visits (3)")
    assert "of the 3 you can still make this week" in week and ADVICE in week
    assert "<caption>Home visits suggested for this week, most urgent first</caption>" in week
    # Their own cases, very high risk first (one of them filed under team B).
    assert re.findall(r'<th scope="row">(RSO-[A-Z0-9]+-\d{3})</th>', week)[:1] == ["RSO-B7Q-099"]
    assert "very high; " in week and "more did not fit: the supervisor sees them" in week
    # Their supervisor sees the week within team A only.
    html = signed_in(app, SUP_A).get(f"/officers/{OM_A1}").get_data(as_text=True)
    week = html.split('<h2 id="week-h">', 1)[1].split("</section>", 1)[0]
    assert re.findall(r'<th scope="row">(RSO-[A-Z0-9]+-\d{3})</th>', week)[:1] == ["RSO-A-001"]
    assert "B7Q" not in html


def test_force_page_has_each_teams_forecast(app_engine: tuple[Flask, Engine, Config]) -> None:
    app, _engine, _config = app_engine
    html = signed_in(app, LEAD).get("/force").get_data(as_text=True)
    section = html.split('<h2 id="forecast-h">', 1)[1].split("</section>", 1)[0]
    assert ADVICE in section
    assert "<caption>Each team's forecast at current capacity, slowest to clear first</caption>" in section
    assert f'<th scope="row"><a href="/teams/{TEAM_A}#forecast-h">{TEAM_A}</a></th>' in section
    assert "To clear by 18 Jan 2027" in section
    assert re.search(r"in \d+ weeks?, w/c \d+ \w{3} 20\d\d|not at current capacity|this week", section)


def test_team_plan_csv_is_marked_with_advice(app_engine: tuple[Flask, Engine, Config]) -> None:
    app, _engine, config = app_engine
    client = signed_in(app, SUP_A)
    answer = client.get(f"/teams/{TEAM_A}/plan.csv")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    lines = answer.get_data(as_text=True).splitlines()
    marking = config.mail.marking
    assert lines[0] == f'"{marking}"' and lines[-1] == f'"{marking}"'
    assert lines[1] == (
        "team,officer_id,plan,ref,risk_level,due_date,days_overdue,interval,interval_source,reason,suggested_to"
    )
    assert lines[-2].startswith('"Advice only: a person decides.')
    assert all(line.startswith(f"{TEAM_A},") for line in lines[2:-2]) and len(lines) > 5
    assert "RSO-B7Q" not in answer.get_data(as_text=True)
    with reading(store(app)) as db:
        row = db.scalars(select(AccessLogEntry).order_by(AccessLogEntry.id.desc())).first()
    assert row is not None and row.action == "export" and row.cases_shown == len(lines) - 4


def test_a_team_with_nobody_to_plan_still_has_its_sections(app_engine: tuple[Flask, Engine, Config]) -> None:
    app, engine, _config = app_engine
    from builders import add_officer

    from monitor.register.db import transaction

    with transaction(engine) as s:
        add_officer(s, "DS-EMPTY", team="EMPTY", role="supervisor", email=email("DS-EMPTY"))
    answer = signed_in(app, LEAD).get("/teams/EMPTY")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert "No officers in this team." in html and "Nothing is overdue" in html and ADVICE in html
