"""The engine and an independent oracle agree, row for row and in order, on synthetic registers.

Why: the scan is set-based SQL written for speed; tests/oracle.py is a naive loop written
separately from docs/rules.md. Feeding both the same generated register (returned people,
missing people, failed attempts, reactive cases, month ends) on many as-of dates catches
boundary and ordering mistakes that hand-written cases miss. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from oracle import differences, oracle, read_rows
from sqlalchemy import Engine

from monitor.core.config import Config, Policy
from monitor.register.db import reading
from monitor.register.importer import import_directory
from monitor.rules.scan import COUNTABLE, scan
from monitor.synthetic.generator import generate

CASES = [
    pytest.param(11, 400, date(2026, 11, 23), id="demo-date"),
    pytest.param(12, 300, date(2026, 11, 30), id="month-end"),
    pytest.param(13, 300, date(2028, 2, 29), id="leap-day"),
    pytest.param(14, 300, date(2026, 3, 29), id="clocks-forward"),
    pytest.param(15, 300, date(2026, 10, 25), id="clocks-back"),
    pytest.param(16, 300, date(2027, 1, 31), id="january-31"),
]

VARIANT_POLICY: dict[str, Any] = {
    "intervals": {"very_high": "P5W", "high": "P2M", "medium": "P4M", "low": "P1Y"},
    "first_visit_within": "P14D",
    "review_interval": "P6M",
    "notification_interval": "P12M",
    "notification_interval_no_fixed_abode": "P1W",
    "notification_after_return": "P2D",
    "due_soon_days": 7,
    "failed_attempts_flag": 1,
    "include_names": True,
}


def _engine_report(
    engine: Engine, policy: Policy, as_of: date, team: str | None = None, officer: str | None = None
) -> dict[str, Any]:
    with reading(engine) as session:
        return scan(session, policy, as_of, team=team, officer=officer).to_json()


def _agree(
    engine: Engine,
    policy: Policy,
    src: Path,
    as_of: date,
    *,
    raw_policy: dict[str, Any] | None = None,
    team: str | None = None,
    officer: str | None = None,
) -> dict[str, Any]:
    actual = _engine_report(engine, policy, as_of, team, officer)
    expected = oracle(src, as_of, policy=raw_policy, team=team, officer=officer)
    problems = differences(actual, expected)
    where = f"as_of={as_of} team={team} officer={officer}"
    assert not problems, f"engine and oracle disagree ({where}):\n" + "\n".join(problems)
    assert actual == expected, where  # the diff above is for reading; this is the contract
    # Counting risk reviews and notifications without listing them (report --section, the
    # snapshot, the force page) leaves those two lists out and everything else, the
    # summary's counts of them included, as is; their counts per team and risk level are
    # the oracle's lists counted.
    with reading(engine) as session:
        counted = scan(session, policy, as_of, team=team, officer=officer, count_only=COUNTABLE)
    assert counted.to_json() == {k: v for k, v in expected.items() if k not in COUNTABLE}, where
    for name in COUNTABLE:
        cells = Counter((entry["team"], entry["risk_level"]) for entry in expected[name])
        assert counted.unlisted_counts[name] == dict(cells), (name, where)
    return expected


def _import(engine: Engine, config: Config, src: Path) -> None:
    result = import_directory(engine, config, src)
    assert result.exit_code == 0, [str(r) for r in result.rejects[:5]]


@pytest.mark.parametrize(("seed", "people", "as_of"), CASES)
def test_engine_agrees_with_oracle(
    engine: Engine,
    db_url: str,
    make_config: Callable[..., Config],
    tmp_path: Path,
    seed: int,
    people: int,
    as_of: date,
) -> None:
    src = tmp_path / "extract"
    generate(people, seed=seed, as_of=as_of, out_dir=src)
    config = make_config(db_url)
    _import(engine, config, src)

    report = _agree(engine, config.policy, src, as_of)
    # The register must be lively enough for agreement to mean something.
    s = report["summary"]
    assert s["overdue_visits"] > 10 and s["due_soon"] > 0 and s["overdue_risk_reviews"] > 0
    assert s["overdue_notifications"] > 0 and s["failed_attempt_flags"] > 0

    # Other as-of dates on the same register: the day either side (due today vs overdue by
    # one), a month back (visits recorded after the as-of date must be ignored, some people
    # not yet registered or returned) and a month on (backlog grows).
    for day in (
        as_of - timedelta(days=1),
        as_of + timedelta(days=1),
        as_of - timedelta(days=31),
        as_of + timedelta(days=30),
    ):
        _agree(engine, config.policy, src, day)


def test_team_and_officer_scopes_agree(
    engine: Engine, db_url: str, make_config: Callable[..., Config], tmp_path: Path
) -> None:
    as_of = date(2026, 11, 23)
    src = tmp_path / "extract"
    generate(800, seed=21, as_of=as_of, out_dir=src)
    config = make_config(db_url)
    _import(engine, config, src)
    offenders = read_rows(src / "offenders.csv")
    teams = sorted({o["team"] for o in offenders})
    officers = sorted({o["offender_manager"] for o in offenders})
    assert len(teams) >= 2
    for team in teams[:2]:
        scoped = _agree(engine, config.policy, src, as_of, team=team)
        assert set(scoped["summary"]["by_team"]) == {team}
    for officer in officers[:3]:
        _agree(engine, config.policy, src, as_of, officer=officer)
    _agree(engine, config.policy, src, as_of, team=teams[0], officer=officers[0])  # may be empty: fine
    _agree(engine, config.policy, src, as_of, team="NO-SUCH-TEAM")


def test_non_default_policy_agrees(
    engine: Engine, db_url: str, make_config: Callable[..., Config], tmp_path: Path
) -> None:
    """Weeks, a six-month review, a one-attempt warrant flag and names switched on."""
    as_of = date(2026, 8, 31)
    src = tmp_path / "extract"
    generate(300, seed=31, as_of=as_of, out_dir=src)
    config = make_config(db_url, policy=VARIANT_POLICY)
    _import(engine, config, src)
    report = _agree(engine, config.policy, src, as_of, raw_policy=VARIANT_POLICY)
    assert report["overdue_visits"] and "surname" in report["overdue_visits"][0]
    _agree(engine, config.policy, src, as_of + timedelta(days=1), raw_policy=VARIANT_POLICY)


def test_messy_extract_imports_to_the_same_register(
    engine: Engine, db_url: str, make_config: Callable[..., Config], tmp_path: Path
) -> None:
    """BOM, CRLF, odd headers and spellings, UK dates, UTC datetimes: same obligations as clean.

    The messy extract of a seed is the clean register of that seed plus bad rows, so the
    importer must reject exactly the bad rows and the scan must match the clean oracle.
    """
    as_of = date(2026, 7, 1)  # summer: visits at 00:xx BST are the evening before in UTC
    clean, messy = tmp_path / "clean", tmp_path / "messy"
    generate(300, seed=41, as_of=as_of, out_dir=clean)
    counts = generate(300, seed=41, as_of=as_of, out_dir=messy, messy=True)
    config = make_config(db_url)
    result = import_directory(engine, config, messy)
    assert result.exit_code == 3
    assert len(result.rejects) == counts["bad_rows"], [str(r) for r in result.rejects]
    assert {r.file for r in result.rejects} == {"offenders.csv", "visits.csv"}
    _agree(engine, config.policy, clean, as_of)


def test_committed_demo_register_agrees(
    engine: Engine, db_url: str, make_config: Callable[..., Config], tmp_path: Path
) -> None:
    """What `visit-monitor demo` shows is what the rules say."""
    demo = Path(__file__).resolve().parents[2] / "seeds"
    config = make_config(db_url)
    _import(engine, config, demo)
    report = _agree(engine, config.policy, demo, date(2026, 11, 23))
    assert report["summary"]["active_caseload"] > 1500
