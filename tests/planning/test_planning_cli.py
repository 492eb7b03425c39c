"""``visit-monitor plan`` and ``forecast``: the contract's JSON keys, every format, scope errors,
files, and "today" at the week's edges (London, both 2026 clock changes, the year's end).

All on SQLite and PostgreSQL. Register values are hostile where it matters: a reference that
is markup, and one a spreadsheet would run as a formula.
"""

from __future__ import annotations

import csv
import io
import json
import stat
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from builders import add_offender, add_officer, add_visit
from click.testing import CliRunner, Result
from freezegun import freeze_time
from sqlalchemy import Engine

from monitor.cli.app import cli
from monitor.planning.words import ADVICE
from monitor.register.db import transaction

AS_OF = date(2026, 12, 7)  # a Monday


def build(engine: Engine) -> None:
    """Team T1: OM-1 (capacity 1) with three cases due, OM-2 (capacity 3) with none; T2: OM-3."""
    with transaction(engine) as s:
        add_officer(s, "OM-1", team="T1", visits_per_week=1)
        add_officer(s, "OM-2", team="T1", visits_per_week=3)
        add_officer(s, "OM-3", team="T2")
        add_officer(s, "DS-1", team="T1", role="supervisor")
        for ref, risk, last in (
            ("<b>RSO-000001</b>", "very_high", date(2026, 10, 25)),  # due 25 Nov: 12 days overdue
            ("=HYPERLINK(1)", "high", date(2026, 9, 10)),  # due 10 Dec: due Thursday
            ("RSO-000003", "low", date(2025, 11, 1)),  # due 1 Nov: overdue
        ):
            add_offender(s, ref, risk_level=risk, team="T1", offender_manager="OM-1")
            add_visit(s, f"V-{ref}", ref, last, officer="OM-1")
        add_offender(s, "RSO-000004", risk_level="medium", team="T2", offender_manager="OM-3")
        add_visit(s, "V-4a", "RSO-000004", date(2026, 11, 20), outcome="no_access", officer="OM-3")
        add_visit(s, "V-4b", "RSO-000004", date(2026, 11, 27), outcome="no_access", officer="OM-3")
        add_offender(s, "RSO-000005", team="T1", offender_manager="OM-1", status="custody")


def run(db_url: str, *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env={"MONITOR_DATABASE_URL": db_url}, catch_exceptions=False)


def test_plan_json_keeps_the_contract_and_the_rules(engine: Engine, db_url: str) -> None:
    build(engine)
    result = run(db_url, "plan", "--as-of", AS_OF.isoformat(), "--team", "T1", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert {"as_of", "week_start", "officers", "reallocations", "summary"} <= set(data)
    assert data["week_start"] == "2026-12-07" and data["week_end"] == "2026-12-13" and data["iso_week"] == "2026-W50"
    by_id = {o["officer_id"]: o for o in data["officers"]}
    assert set(by_id) == {"OM-1", "OM-2"}  # the supervisor leads no visits; T2 is not in scope
    om1 = by_id["OM-1"]
    assert {"officer_id", "team", "capacity", "capacity_source", "planned", "did_not_fit"} <= set(om1)
    assert om1["capacity"] == 1 and om1["capacity_source"] == "register"
    assert [i["ref"] for i in om1["planned"]] == ["<b>RSO-000001</b>"]
    assert om1["planned"][0]["reason"] == "very high; 12 days overdue"
    assert [i["reason"] for i in om1["did_not_fit"]] == ["high; due Thu 10 Dec", "low; 36 days overdue"]
    assert {"ref", "risk_level", "due_date", "days_overdue", "reason"} <= set(om1["did_not_fit"][0])
    assert [(r["ref"], r["from"], r["to"]) for r in data["reallocations"]] == [
        ("=HYPERLINK(1)", "OM-1", "OM-2"),
        ("RSO-000003", "OM-1", "OM-2"),
    ]
    assert {"ref", "from", "to", "reason"} <= set(data["reallocations"][0])
    assert data["summary"] | {} == data["summary"] and {"capacity", "planned", "did_not_fit"} <= set(data["summary"])
    assert data["advice"] == ADVICE
    # The warrant flag in words, for the team that has it.
    other = json.loads(run(db_url, "plan", "--as-of", AS_OF.isoformat(), "--team", "T2", "--format", "json").stdout)
    assert other["officers"][0]["capacity_source"] == "observed"
    reasons = [i["reason"] for o in other["officers"] for k in ("planned", "did_not_fit") for i in o[k]]
    assert reasons == ["medium; 2504 days overdue; first visit; 2 failed attempts: consider a s.96B warrant"]


def test_plan_table_csv_and_html_say_the_same_safely(engine: Engine, db_url: str, tmp_path: Path) -> None:
    build(engine)
    base = ("plan", "--as-of", AS_OF.isoformat())
    table = run(db_url, *base).stdout
    assert "very high; 12 days overdue" in table and "Advice only: a person decides." in table
    rows = list(csv.reader(io.StringIO(run(db_url, *base, "--format", "csv").stdout)))
    assert rows[0][:4] == ["team", "officer_id", "plan", "ref"]
    assert rows[2][:4] == ["T1", "OM-1", "did not fit", "'=HYPERLINK(1)"]  # a formula is neutralised
    out = tmp_path / "out" / "plan.html"
    result = run(db_url, *base, "--format", "html", "--output", str(out))
    assert result.exit_code == 0 and "written to" in result.stderr
    html = out.read_text(encoding="utf-8")
    assert "&lt;b&gt;RSO-000001&lt;/b&gt;" in html and "<b>RSO" not in html
    assert "OFFICIAL-SENSITIVE" in html and "a person decides" in html
    assert stat.S_IMODE(out.stat().st_mode) == 0o600 and stat.S_IMODE(out.parent.stat().st_mode) == 0o700


def test_forecast_json_keeps_the_contract(engine: Engine, db_url: str) -> None:
    build(engine)
    result = run(db_url, "forecast", "--as-of", AS_OF.isoformat(), "--format", "json", "--clear-by", "2027-01-04")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    contract = {
        "as_of",
        "scope",
        "capacity_per_week",
        "success_rate",
        "due_per_week",
        "growth_per_year",
        "weeks",
        "clears_on",
        "extra_per_week_to_clear_by",
    }
    assert contract <= set(data)
    assert data["scope"] == "force" and len(data["weeks"]) == 26
    assert data["weeks"][0]["week_start"] == "2026-12-07" and data["weeks"][0]["overdue"] == 3
    assert data["weeks"][0]["overdue_by_risk"] == {"very_high": 1, "high": 0, "medium": 1, "low": 1}
    assert isinstance(data["extra_per_week_to_clear_by"], int) and data["clear_by"] == "2027-01-04"
    assert data["backtest"]["weeks"] == 12 and data["backtest"]["points"][-1]["actual"] == 3
    assert data["advice"] == ADVICE and data["words"][-1].startswith("The last 12 weeks' forecasts were within")
    team = json.loads(
        run(db_url, "forecast", "--as-of", "2026-12-07", "--team", "T2", "--backtest", "0", "--format", "json").stdout
    )
    assert team["scope"] == "team:T2" and team["backtest"] is None and team["weeks"][0]["overdue"] == 1


def test_forecast_what_ifs_table_csv_html(engine: Engine, db_url: str, tmp_path: Path) -> None:
    build(engine)
    base = ("forecast", "--as-of", AS_OF.isoformat(), "--backtest", "4")
    plain = json.loads(run(db_url, *base, "--format", "json").stdout)
    more = json.loads(run(db_url, *base, "--format", "json", "--extra-per-week", "4").stdout)
    away = json.loads(run(db_url, *base, "--format", "json", "--officer-away", "OM-2:3").stdout)
    assert more["weeks"][0]["capacity"] == pytest.approx(plain["weeks"][0]["capacity"] + 4, abs=0.06)
    assert away["weeks"][0]["capacity"] == pytest.approx(plain["weeks"][0]["capacity"] - 3, abs=0.06)
    assert away["weeks"][3]["capacity"] == plain["weeks"][3]["capacity"]
    assert more["what_if"] == {"extra_per_week": 4, "officers_away": {}}
    assert "with OM-2 away the overdue visits" in away["words"][0]
    table = run(db_url, *base).stdout
    assert "overdue now" in table and "Week of" in table and ADVICE in table
    rows = list(csv.reader(io.StringIO(run(db_url, *base, "--format", "csv").stdout)))
    assert rows[0][:4] == ["scope", "week_start", "on", "overdue"] and len(rows) == 27
    html = run(db_url, *base, "--format", "html").stdout
    assert "<svg" in html and "OFFICIAL-SENSITIVE" in html and "How close the forecast made 4 weeks ago came" in html


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (
            ("plan", "--team", "T3"),
            "--team: no team 'T3' in the register or the officer directory; closest known: T1, T2",
        ),
        (("plan", "--officer", "OM-9"), "closest known: OM-1, OM-2, OM-3"),
        (("forecast", "--team", "t1"), "closest known: T1"),
        (("forecast", "--officer-away", "OM-7"), "--officer-away: no officer 'OM-7'"),
        (("forecast", "--officer-away", "OM-1:0"), "expected ID or ID:WEEKS with WEEKS from 1 to 104"),
        (("forecast", "--team", "T2", "--officer-away", "OM-1"), "--officer-away: OM-1 not in team 'T2'"),
        (("forecast", "--clear-by", "31/02/2027"), "--clear-by: expected a date"),
        (("forecast", "--weeks", "0"), "0 is not in the range 1<=x<=104"),
    ],
)
def test_a_scope_or_option_nobody_knows_is_a_usage_error(
    engine: Engine, db_url: str, args: tuple[str, ...], says: str
) -> None:
    build(engine)
    result = run(db_url, *args, "--as-of", AS_OF.isoformat())
    assert result.exit_code == 2
    assert says in result.stderr and "Traceback" not in result.output


# The week holding "today" (London): Sunday 23:30 is still last week, Monday 00:30 this week,
# in summer time and in winter, on both 2026 clock changes, and across the year's end.
EDGES = [
    (datetime(2026, 6, 28, 22, 30, tzinfo=UTC), "2026-06-22", "2026-W26"),  # Sun 28 Jun 23:30 BST
    (datetime(2026, 6, 28, 23, 30, tzinfo=UTC), "2026-06-29", "2026-W27"),  # Mon 29 Jun 00:30 BST (still Sun in UTC)
    (datetime(2026, 11, 29, 23, 30, tzinfo=UTC), "2026-11-23", "2026-W48"),  # Sun 29 Nov 23:30 GMT
    (datetime(2026, 11, 30, 0, 30, tzinfo=UTC), "2026-11-30", "2026-W49"),  # Mon 30 Nov 00:30 GMT
    (
        datetime(2026, 3, 29, 22, 30, tzinfo=UTC),
        "2026-03-23",
        "2026-W13",
    ),  # Sun 29 Mar 23:30 BST: the spring change day
    (datetime(2026, 3, 29, 23, 30, tzinfo=UTC), "2026-03-30", "2026-W14"),  # Mon 30 Mar 00:30 BST
    (
        datetime(2026, 10, 25, 23, 30, tzinfo=UTC),
        "2026-10-19",
        "2026-W43",
    ),  # Sun 25 Oct 23:30 GMT: the autumn change day
    (datetime(2026, 10, 26, 0, 30, tzinfo=UTC), "2026-10-26", "2026-W44"),  # Mon 26 Oct 00:30 GMT
    (datetime(2026, 12, 31, 23, 59, tzinfo=UTC), "2026-12-28", "2026-W53"),  # New Year's Eve: the week of 28 Dec
    (datetime(2027, 1, 1, 0, 30, tzinfo=UTC), "2026-12-28", "2026-W53"),  # New Year's Day, the same week
    (datetime(2027, 1, 3, 23, 30, tzinfo=UTC), "2026-12-28", "2026-W53"),  # Sun 3 Jan 23:30 GMT: that week still
    (datetime(2027, 1, 4, 0, 30, tzinfo=UTC), "2027-01-04", "2027-W01"),  # Mon 4 Jan 00:30 GMT: ISO week 1
]


def test_today_s_week_at_its_edges(engine: Engine, db_url: str) -> None:
    build(engine)
    for n, (instant, monday, iso) in enumerate(EDGES):
        with freeze_time(instant):
            data = json.loads(run(db_url, "plan", "--format", "json").stdout)
            if n < 2:  # the forecast reads "today" the same way: once each side of midnight
                forecast = json.loads(
                    run(db_url, "forecast", "--backtest", "0", "--weeks", "2", "--format", "json").stdout
                )
                assert forecast["weeks"][0]["week_start"] == monday, instant
        assert (data["week_start"], data["iso_week"]) == (monday, iso), instant
        assert date.fromisoformat(data["week_end"]) - date.fromisoformat(monday) == timedelta(days=6)


def test_time_away_in_the_register_is_only_unavailable(engine: Engine, db_url: str, tmp_path: Path) -> None:
    """An imported absence takes OM-2's week; the plan says "unavailable", never why, and the
    cases OM-1 could not fit find no room."""
    build(engine)
    folder = tmp_path / "extract"
    folder.mkdir()
    (folder / "absences.csv").write_text(
        "officer_id,starts_on,ends_on,fraction,reason\nOM-2,2026-12-07,2026-12-11,1,sick\n", encoding="utf-8"
    )
    imported = run(db_url, "import", str(folder))
    assert imported.exit_code == 0 and "sick" not in imported.output
    data = json.loads(run(db_url, "plan", "--as-of", AS_OF.isoformat(), "--team", "T1", "--format", "json").stdout)
    om2 = next(o for o in data["officers"] if o["officer_id"] == "OM-2")
    assert (om2["capacity"], om2["unavailable"]) == (0, 1.0)
    assert data["reallocations"] == [] and "sick" not in json.dumps(data)
    html = run(db_url, "plan", "--as-of", AS_OF.isoformat(), "--format", "html").stdout
    assert "100% of the week" in html and "sick" not in html
