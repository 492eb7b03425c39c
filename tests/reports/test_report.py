"""Report rendering (table, JSON, CSV, HTML) and the ``report`` command.

Register values are free text, so the tests feed markup, spreadsheet formulas and console
markup through every format. Personal data must appear only when policy allows it.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from builders import add_offender, add_officer, add_visit
from click.testing import CliRunner
from freezegun import freeze_time
from sqlalchemy import Engine

from monitor.cli.app import cli
from monitor.core.config import Config
from monitor.core.files import write_private
from monitor.register.db import reading, transaction
from monitor.reports import export
from monitor.reports.export import CSV_COLUMNS, neutralise_cell
from monitor.reports.html import trend_chart
from monitor.reports.report import render_report
from monitor.rules.obligations import Obligations
from monitor.rules.scan import scan

D = date
AS_OF = D(2026, 6, 1)
FORMATS = ("table", "json", "csv", "html")
SURNAME, FORENAMES, DOB = "Zyxtestname", "Qwfake", D(1970, 1, 2)


def build_register(engine: Engine) -> None:
    """A small register that fills every section, with one person's personal data."""
    with transaction(engine) as s:
        add_officer(s, "OM1", team="NORTH")
        add_officer(s, "OM2", team="SOUTH")
        add_offender(
            s,
            "VH-1",
            risk_level="very_high",
            team="NORTH",
            offender_manager="OM1",
            surname=SURNAME,
            forenames=FORENAMES,
            date_of_birth=DOB,
        )
        add_visit(s, "V1", "VH-1", D(2026, 4, 20))  # due 20 May: OVERDUE 12 days
        add_visit(s, "V2", "VH-1", D(2026, 5, 22), outcome="no_access")
        add_visit(s, "V3", "VH-1", D(2026, 5, 29), outcome="no_access")
        add_offender(
            s, "M-SOON", risk_level="medium", team="SOUTH", offender_manager="OM2", last_notified_on=D(2026, 1, 1)
        )
        add_visit(s, "V4", "M-SOON", D(2025, 12, 4))  # due 4 Jun: due in 3 days
        add_offender(
            s,
            "L-NFA",
            risk_level="low",
            team="SOUTH",
            offender_manager="OM2",
            no_fixed_abode=True,
            last_notified_on=D(2026, 5, 1),
            risk_assessed_on=D(2026, 1, 1),
        )
        add_visit(s, "V5", "L-NFA", D(2026, 1, 1))
        add_offender(s, "H-MISSING", risk_level="high", status="missing", status_since=D(2026, 5, 1), team="NORTH")


def scan_of(engine: Engine, config: Config, as_of: date = AS_OF, **kw: object) -> Obligations:
    with reading(engine) as session:
        return scan(session, config.policy, as_of, **kw)  # type: ignore[arg-type]


@pytest.fixture
def config(make_config: Callable[..., Config]) -> Config:
    return make_config(mail={"case_url": "https://cases.police.example/case/{ref}"})


@pytest.fixture
def names_config(make_config: Callable[..., Config]) -> Config:
    return make_config(policy={"include_names": True})


@pytest.fixture
def obligations(sqlite_engine: Engine, config: Config) -> Obligations:
    build_register(sqlite_engine)
    return scan_of(sqlite_engine, config)


# ---------------------------------------------------------------------------- JSON


def test_json_is_exactly_the_contract(obligations: Obligations, config: Config) -> None:
    text = render_report(obligations, config, "json")
    assert json.loads(text) == obligations.to_json()
    data = json.loads(text)
    assert [i["ref"] for i in data["overdue_visits"]] == ["VH-1"]
    visit = data["overdue_visits"][0]
    assert (visit["days_overdue"], visit["failed_attempts"], visit["warrant_flag"]) == (12, 2, True)
    assert data["due_soon"][0]["due_in_days"] == 3
    assert data["whereabouts_unknown"][0]["ref"] == "H-MISSING"
    assert text.endswith("\n")


@pytest.mark.parametrize("batch", [1, 2, 2000])
def test_json_in_pieces_is_the_same_text(
    obligations: Obligations, config: Config, batch: int, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``report --format json`` writes the JSON in pieces; any batch size gives the same file."""
    whole = render_report(obligations, config, "json")
    monkeypatch.setattr(export, "JSON_BATCH", batch)
    pieces = list(export.json_chunks(obligations))
    assert "".join(pieces) == whole
    assert len(pieces) > 10 if batch == 1 else True
    written = write_private(tmp_path / "r.json", iter(pieces))
    assert written.read_text(encoding="utf-8") == whole
    assert written.stat().st_mode & 0o777 == 0o600


# ---------------------------------------------------------------------------- table


def test_table_uses_words_not_colour(obligations: Obligations, config: Config) -> None:
    text = render_report(obligations, config, "table")
    assert "\x1b[" not in text  # plain text by default
    for words in (
        "OFFICIAL-SENSITIVE",
        "Backlog summary",
        "OVERDUE 12 days",
        "Very high",
        "2+ failed attempts",
        "Due in 3 days",
        "MISSING 31 days",
        "No fixed abode (weekly)",
        "Most overdue visit",
        "VH-1: OVERDUE 12 days",
        "1-7 days: 0, 8-28 days: 1",
    ):
        assert words in text, words
    # Sections in the agreed order.
    positions = [
        text.index(title)
        for title in (
            "Overdue home visits (1)",
            "Home visits due soon (1)",
            "Overdue risk reviews (2)",
            "Overdue periodic notifications (3)",
            "Whereabouts unknown (1)",
        )
    ]
    assert positions == sorted(positions)


def test_table_colour_only_when_asked(obligations: Obligations, config: Config) -> None:
    coloured = render_report(obligations, config, "table", color=True)
    assert "\x1b[" in coloured
    assert "OVERDUE 12 days" in re.sub(r"\x1b\[[0-9;]*m", "", coloured)


def test_table_shows_console_markup_in_data_literally(sqlite_engine: Engine, config: Config) -> None:
    with transaction(sqlite_engine) as s:
        add_offender(s, "[bold red]R1[/]", team="[link=https://evil.example]T[/link]", risk_level="high")
    text = render_report(scan_of(sqlite_engine, config), config, "table", width=250)
    assert "[bold red]R1[/]" in text
    assert "[link=https://evil.example]T[/link]" in text


def test_table_neutralises_terminal_control_characters(sqlite_engine: Engine, config: Config) -> None:
    with transaction(sqlite_engine) as s:
        add_offender(s, "R\x1b]0;pwned\x07\x1b[2J", team="T\nX", risk_level="high")
    for color in (False, True):
        text = render_report(scan_of(sqlite_engine, config), config, "table", color=color)
        assert "\x07" not in text and "\x1b]" not in text and "\x1b[2J" not in text
        assert "R\\x1b]0;pwned\\x07\\x1b[2J" in text
        assert "T\\x0aX" in text


def test_empty_register_renders_every_format(sqlite_engine: Engine, config: Config) -> None:
    ob = scan_of(sqlite_engine, config)
    table = render_report(ob, config, "table")
    assert "Overdue home visits (0): none" in table and "No visit is overdue" in table
    assert render_report(ob, config, "csv").splitlines() == [",".join(CSV_COLUMNS)]
    html = render_report(ob, config, "html")
    assert "None." in html and "No one in scope." in html
    assert json.loads(render_report(ob, config, "json"))["summary"]["most_overdue_days"] is None


def test_unknown_format_is_refused(obligations: Obligations, config: Config) -> None:
    with pytest.raises(ValueError, match="unknown report format"):
        render_report(obligations, config, "pdf")


# ---------------------------------------------------------------------------- CSV


def read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_one_row_per_obligation_with_section_first(obligations: Obligations, config: Config) -> None:
    text = render_report(obligations, config, "csv")
    header = text.splitlines()[0].split(",")
    assert header[:9] == [
        "section",
        "ref",
        "risk_level",
        "team",
        "offender_manager",
        "due_date",
        "days_overdue",
        "last_done",
        "failed_attempts",
    ]
    rows = read_csv(text)
    sections = [r["section"] for r in rows]
    assert sections == sorted(
        sections,
        key=[
            "overdue_visit",
            "due_soon",
            "overdue_risk_review",
            "overdue_notification",
            "whereabouts_unknown",
        ].index,
    )
    expected = (
        len(obligations.overdue_visits)
        + len(obligations.due_soon)
        + len(obligations.overdue_risk_reviews)
        + len(obligations.overdue_notifications)
        + len(obligations.whereabouts_unknown)
    )
    assert len(rows) == expected
    visit = rows[0]
    assert (visit["section"], visit["ref"], visit["due_date"], visit["days_overdue"]) == (
        "overdue_visit",
        "VH-1",
        "2026-05-20",
        "12",
    )
    assert (visit["last_done"], visit["failed_attempts"], visit["warrant_flag"]) == ("2026-04-20", "2", "true")
    soon = next(r for r in rows if r["section"] == "due_soon")
    assert (soon["days_overdue"], soon["due_in_days"]) == ("-3", "3")  # a negative number, not neutralised
    missing = next(r for r in rows if r["section"] == "whereabouts_unknown")
    assert (missing["missing_since"], missing["days_missing"], missing["due_date"]) == ("2026-05-01", "31", "")
    nfa = next(r for r in rows if r["section"] == "overdue_notification" and r["ref"] == "L-NFA")
    assert nfa["no_fixed_abode"] == "true"


def test_csv_neutralises_formulas_in_text_cells_only(sqlite_engine: Engine, names_config: Config) -> None:
    with transaction(sqlite_engine) as s:
        add_offender(
            s,
            '=HYPERLINK("https://evil.example","x")',
            team="+T1",
            offender_manager="@OM1",
            surname="-Minus",
            forenames="\tTab",
            risk_level="very_high",
        )
        add_offender(s, "\rCR", registered_on=D(2026, 5, 10), team="-2+3")  # due soon: negative days
    ob = scan_of(sqlite_engine, names_config)
    rows = read_csv(render_report(ob, names_config, "csv"))
    visit = next(r for r in rows if r["section"] == "overdue_visit")
    assert visit["ref"] == '\'=HYPERLINK("https://evil.example","x")'
    assert (visit["team"], visit["offender_manager"]) == ("'+T1", "'@OM1")
    assert (visit["surname"], visit["forenames"]) == ("'-Minus", "'\tTab")
    soon = next(r for r in rows if r["section"] == "due_soon")
    assert soon["ref"] == "'\rCR" and soon["team"] == "'-2+3"
    assert soon["days_overdue"] == "-6"  # numbers stay numbers
    assert neutralise_cell("R-1") == "R-1" and neutralise_cell("") == ""


# ---------------------------------------------------------------------------- HTML


def test_html_is_self_contained_printable_and_marked(obligations: Obligations, config: Config) -> None:
    html = render_report(obligations, config, "html")
    assert html.startswith("<!DOCTYPE html>")
    assert "@page" in html and "@media print" in html
    # Marking at top and bottom of every printed page: repeating thead and tfoot of the frame.
    assert re.search(r"<thead><tr><td><div class=\"marking\">OFFICIAL-SENSITIVE</div>", html)
    assert re.search(r"<tfoot><tr><td><div class=\"marking\">OFFICIAL-SENSITIVE</div>", html)
    # No remote resources: no scripts, stylesheets, images or CSS imports.
    for forbidden in ("<script", "<link", "<img", "@import", "url(", "<iframe"):
        assert forbidden not in html, forbidden
    # Accessible tables.
    assert html.count("<caption>") >= 8
    assert 'scope="col"' in html and 'scope="row"' in html
    # Status in words.
    for words in ("OVERDUE 12 days", "Due in 3 days", "MISSING 31 days", "2+ failed attempts (2)", "Very high"):
        assert words in html, words
    # Case links, URL-encoded.
    assert '<a href="https://cases.police.example/case/VH-1">VH-1</a>' in html


def test_html_sections_and_breakdowns(obligations: Obligations, config: Config) -> None:
    html = render_report(obligations, config, "html")
    order = [
        html.index(f'id="{anchor}"')
        for anchor in (
            "risk-age",
            "teams",
            "officers",
            "overdue_visits",
            "due_soon",
            "overdue_risk_reviews",
            "overdue_notifications",
            "whereabouts_unknown",
        )
    ]
    assert order == sorted(order)
    teams = html[html.index('id="teams"') : html.index('id="officers"')]
    # NORTH: caseload 2 (VH-1, H-MISSING), 1 overdue in 8-28 band, worst OVERDUE 12 days (VH-1).
    assert re.search(
        r'<th scope="row">NORTH</th><td class="num">2</td><td class="num">1</td>\s*'
        r'<td class="num">0</td><td class="num">1</td><td class="num">0</td><td class="num">0</td>\s*'
        r"<td>OVERDUE 12 days \(VH-1\)</td>",
        teams,
    )
    assert re.search(r'<th scope="row">SOUTH</th><td class="num">2</td><td class="num">0</td>', teams)
    assert "None overdue" in teams
    officers = html[html.index('id="officers"') : html.index('id="overdue_visits"')]
    assert re.search(r'<th scope="row">OM1</th><td class="num">2</td><td class="num">1</td>', officers)


def test_html_lists_people_not_in_extract_and_reactive_high_risk(sqlite_engine: Engine, config: Config) -> None:
    """The two lists the table and CSV reports and the team digest carry, in the same words."""
    build_register(sqlite_engine)
    with transaction(sqlite_engine) as s:
        add_offender(s, "GONE-1", risk_level="high", team="NORTH", offender_manager="OM1", absent_since=D(2026, 5, 20))
        add_offender(s, "GONE-LATER", team="NORTH", absent_since=D(2026, 6, 2))  # marked after the as-of date
        add_offender(s, "REACT-VH", risk_level="very_high", team="SOUTH", offender_manager="OM2", management="reactive")
        add_offender(s, "REACT-LOW", risk_level="low", team="SOUTH", management="reactive")  # not flagged
    ob = scan_of(sqlite_engine, config)
    html = render_report(ob, config, "html")
    table = render_report(ob, config, "table")
    gone = html[html.index('id="not_in_extract"') : html.index("</table>", html.index('id="not_in_extract"'))]
    assert '<h2 id="h-not-in-extract">Not in the latest full extract (1)</h2>' in html
    assert "Not in the latest full extract (1)" in table
    assert re.search(
        r'<a href="https://cases.police.example/case/GONE-1">GONE-1</a></th><td>High</td>\s*'
        r"<td>NORTH</td><td>OM1</td><td>community</td><td>20 May 2026</td><td class=\"num\">12</td>",
        gone,
    )
    assert "GONE-LATER" not in gone
    react = html[html.index('id="reactive_high_risk"') : html.index("</table>", html.index('id="reactive_high_risk"'))]
    title = "High risk on reactive management (no routine visits) (1)"
    assert f'<h2 id="h-reactive-high-risk">{title}</h2>' in html and title in table
    assert re.search(r"REACT-VH</a></th><td>Very high</td>\s*<td>SOUTH</td><td>OM2</td><td>community</td>", react)
    assert "REACT-LOW" not in react
    # After whereabouts unknown, as in the table report.
    anchors = ("whereabouts_unknown", "not_in_extract", "reactive_high_risk")
    order = [html.index(f'id="{a}"') for a in anchors]
    assert order == sorted(order)


def test_html_leaves_out_empty_not_in_extract_and_reactive_sections(obligations: Obligations, config: Config) -> None:
    html = render_report(obligations, config, "html")
    assert "Not in the latest full extract" not in html and "reactive management" not in html


def test_html_escapes_markup_from_the_register(sqlite_engine: Engine, config: Config) -> None:
    evil_ref = "<script>alert(1)</script>"
    evil_team = '"><img src=x onerror=alert(2)>'
    with transaction(sqlite_engine) as s:
        add_offender(s, evil_ref, team=evil_team, offender_manager="<b>OM</b>", risk_level="very_high")
        add_offender(s, "M&S", status="missing")
    html = render_report(scan_of(sqlite_engine, config), config, "html")
    assert "<script" not in html and "<img" not in html and "<b>OM" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in html
    assert "M&amp;S" in html
    # The link target is URL-encoded, then attribute-escaped.
    assert 'href="https://cases.police.example/case/%3Cscript%3Ealert%281%29%3C%2Fscript%3E"' in html
    assert 'href="https://cases.police.example/case/M%26S"' in html


def test_html_without_case_url_has_no_links(sqlite_engine: Engine, make_config: Callable[..., Config]) -> None:
    plain = make_config()
    build_register(sqlite_engine)
    html = render_report(scan_of(sqlite_engine, plain), plain, "html")
    assert "<a " not in html


def test_html_trend_chart(obligations: Obligations, config: Config) -> None:
    trend = [(D(2026, 5, 29), 4), (D(2026, 5, 30), 6), (D(2026, 5, 31), 3), (D(2026, 6, 1), 1)]
    html = render_report(obligations, config, "html", trend=trend)
    assert "<svg" in html and "<polyline" in html
    assert "4 on 29 May 2026" in html and "1 on 1 Jun 2026 (down 3)" in html and "peak 6 on 30 May 2026" in html
    assert "Backlog trend" not in render_report(obligations, config, "html", trend=None)
    assert "Backlog trend" not in render_report(obligations, config, "html", trend=[])
    one = trend_chart([(D(2026, 6, 1), 0)])
    assert one is not None and one["change_words"] == "no change" and one["top"] == 1


# ---------------------------------------------------------------------------- personal data


@pytest.mark.parametrize("fmt", FORMATS)
def test_names_only_when_policy_allows(sqlite_engine: Engine, config: Config, names_config: Config, fmt: str) -> None:
    build_register(sqlite_engine)
    hidden = render_report(scan_of(sqlite_engine, config), config, fmt)
    for secret in (SURNAME, FORENAMES, "1970", "surname", "date_of_birth", "Date of birth"):
        assert secret not in hidden, secret
    shown = render_report(scan_of(sqlite_engine, names_config), names_config, fmt)
    assert SURNAME in shown and FORENAMES in shown
    assert ("1970-01-02" if fmt in ("json", "csv") else "2 Jan 1970") in shown


# ---------------------------------------------------------------------------- the command


def invoke(db_url: str, *args: str) -> object:
    runner = CliRunner()
    return runner.invoke(cli, ["report", *args], env={"MONITOR_DATABASE_URL": db_url}, catch_exceptions=False)


def test_command_json_on_both_backends(engine: Engine, db_url: str) -> None:
    build_register(engine)
    result = invoke(db_url, "--as-of", "2026-06-01", "--format", "json")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    data = json.loads(result.stdout)  # type: ignore[attr-defined]
    assert data["as_of"] == "2026-06-01"
    assert data["summary"]["overdue_visits"] == 1 and data["summary"]["active_caseload"] == 4


def test_command_uk_date_and_filters(engine: Engine, db_url: str) -> None:
    build_register(engine)
    result = invoke(db_url, "--as-of", "01/06/2026", "--format", "json", "--team", "SOUTH")
    assert result.exit_code == 0  # type: ignore[attr-defined]
    data = json.loads(result.stdout)  # type: ignore[attr-defined]
    assert data["as_of"] == "2026-06-01"
    assert data["summary"]["caseload_by_team"] == {"SOUTH": 2}
    assert [i["ref"] for i in data["due_soon"]] == ["M-SOON"]
    assert result.stderr == ""  # type: ignore[attr-defined]
    result = invoke(db_url, "--as-of", "2026-06-01", "--format", "csv", "--officer", "OM1")
    rows = read_csv(result.stdout)  # type: ignore[attr-defined]
    assert {r["offender_manager"] for r in rows} == {"OM1"}


def test_command_unknown_team_or_officer_is_a_usage_error_naming_the_closest(engine: Engine, db_url: str) -> None:
    """A typo must not read as "no backlog": exit 2, nothing on stdout, the closest codes named."""
    build_register(engine)
    result = invoke(db_url, "--as-of", "2026-06-01", "--format", "json", "--team", "NORHT")
    assert result.exit_code == 2  # type: ignore[attr-defined]
    assert result.stdout == ""  # type: ignore[attr-defined]
    assert "--team 'NORHT' is not a team" in result.stderr and "did you mean NORTH?" in result.stderr  # type: ignore[attr-defined]
    result = invoke(db_url, "--as-of", "2026-06-01", "--team", "north")  # wrong case: exact codes only
    assert result.exit_code == 2 and "did you mean NORTH?" in result.stderr  # type: ignore[attr-defined]
    result = invoke(db_url, "--as-of", "2026-06-01", "--team", "QQQQQQ")  # nothing close: the teams known
    assert result.exit_code == 2 and "known teams: NORTH, SOUTH" in result.stderr  # type: ignore[attr-defined]
    result = invoke(db_url, "--as-of", "2026-06-01", "--format", "csv", "--officer", "om1")
    assert result.exit_code == 2 and "--officer 'om1' is not an officer" in result.stderr  # type: ignore[attr-defined]
    assert "did you mean OM1?" in result.stderr  # type: ignore[attr-defined]
    # An officer in the directory with no caseload is known: an empty report, no complaint.
    with transaction(engine) as s:
        add_officer(s, "OM3", team="EAST")
    result = invoke(db_url, "--as-of", "2026-06-01", "--officer", "OM3", "--team", "EAST")
    assert result.exit_code == 0 and result.stderr == ""  # type: ignore[attr-defined]


def test_unknown_scope_on_an_empty_register_says_to_import_first(sqlite_url: str) -> None:
    result = invoke(sqlite_url, "--team", "TEAM-01")
    assert result.exit_code == 2 and "import an extract first" in result.stderr  # type: ignore[attr-defined]


def test_command_bad_date_is_a_usage_error(sqlite_url: str) -> None:
    result = invoke(sqlite_url, "--as-of", "31/02/2026")
    assert result.exit_code == 2  # type: ignore[attr-defined]
    assert "--as-of" in result.stderr  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("frozen", "expected"),
    [
        ("2026-06-30 23:30:00", "2026-07-01"),  # BST: already 1 July in London
        ("2026-06-30 22:59:59", "2026-06-30"),
        ("2026-12-31 23:30:00", "2026-12-31"),  # GMT: London is UTC
        ("2026-03-29 00:30:00", "2026-03-29"),  # clocks go forward at 01:00 UTC
        ("2026-10-24 23:30:00", "2026-10-25"),  # still BST until 01:00 UTC on 25 Oct
    ],
)
def test_command_default_as_of_is_london_today(engine: Engine, db_url: str, frozen: str, expected: str) -> None:
    with transaction(engine) as s:
        # Very high risk, visited 30 May: due 30 June. On 1 July (London) it is overdue.
        add_offender(s, "R1", risk_level="very_high")
        add_visit(s, "V1", "R1", D(2026, 5, 30))
    with freeze_time(frozen):
        result = invoke(db_url, "--format", "json")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    data = json.loads(result.stdout)  # type: ignore[attr-defined]
    assert data["as_of"] == expected
    if expected == "2026-07-01":
        assert [(i["ref"], i["days_overdue"]) for i in data["overdue_visits"]] == [("R1", 1)]
    if expected == "2026-06-30":
        assert data["overdue_visits"] == [] and data["due_soon"][0]["due_in_days"] == 0


def test_command_output_file_is_plain(engine: Engine, db_url: str, tmp_path: Path) -> None:
    build_register(engine)
    target = tmp_path / "out" / "report.txt"
    result = invoke(db_url, "--as-of", "2026-06-01", "--output", str(target))
    assert result.exit_code == 0  # type: ignore[attr-defined]
    assert result.stdout == ""  # type: ignore[attr-defined]
    assert "written to" in result.stderr  # type: ignore[attr-defined]
    text = target.read_text(encoding="utf-8")
    assert "OVERDUE 12 days" in text and "\x1b[" not in text
    html_target = tmp_path / "report.html"
    result = invoke(db_url, "--as-of", "2026-06-01", "--format", "html", "--output", str(html_target))
    assert result.exit_code == 0  # type: ignore[attr-defined]
    assert html_target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    csv_target = tmp_path / "report.csv"
    invoke(db_url, "--as-of", "2026-06-01", "--format", "csv", "--output", str(csv_target))
    raw = csv_target.read_bytes()
    assert raw.startswith(b"section,ref,") and raw.count(b"\r\n") == raw.count(b"\n") > 1  # CRLF kept as written


def test_command_html_uses_snapshots_for_trend_when_present(engine: Engine, db_url: str) -> None:
    from datetime import UTC, datetime

    from monitor.register.models import BacklogSnapshot

    build_register(engine)
    with transaction(engine) as s:
        for day, n in ((D(2026, 5, 30), 5), (D(2026, 5, 31), 2)):
            s.add(
                BacklogSnapshot(
                    taken_on=day, team="NORTH", risk_level="very_high", overdue_visits=n, created_at=datetime.now(UTC)
                )
            )
    result = invoke(db_url, "--as-of", "2026-06-01", "--format", "html")
    assert result.exit_code == 0  # type: ignore[attr-defined]
    assert "<svg" in result.stdout and "5 on 30 May 2026" in result.stdout  # type: ignore[attr-defined]
