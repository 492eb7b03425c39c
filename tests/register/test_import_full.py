"""Full extracts (issue 8, finding 5): people and officers left out are marked, never deleted.

A person left out of a later extract used to stay in the register for ever, overdue for
ever, and nothing told "dropped from the export" from "the export was cut short". Every
database test runs on SQLite and PostgreSQL. All data is synthetic.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from freezegun import freeze_time
from oracle import differences, oracle
from sqlalchemy import Engine, func, select
from test_import import OFFENDERS_HEADER, OFFICERS_HEADER, VISITS_HEADER, offender, snapshot, write

from monitor.cli.app import cli
from monitor.core.config import Config, ConfigError
from monitor.daemon.jobs import JobFailed, import_job
from monitor.register import models
from monitor.register.db import reading
from monitor.register.importer import ImportFailure, ImportResult, import_directory
from monitor.rules.scan import scan
from monitor.synthetic.generator import generate

FIRST_DAY = datetime(2026, 11, 20, 9, tzinfo=UTC)
LATER_DAY = datetime(2026, 11, 27, 9, tzinfo=UTC)
REFS = [f"RSO-{n:06d}" for n in range(1, 41)]  # 40 people: one left out is 2.5 %


@pytest.fixture
def config(engine: Engine, make_config: Callable[..., Config]) -> Config:
    return make_config(engine.url.render_as_string(hide_password=False))


def people(directory: Path, refs: list[str], **overrides: str) -> Path:
    write(directory, "offenders.csv", [OFFENDERS_HEADER, *(offender(r, **overrides) for r in refs)])
    return directory


def officers(directory: Path, ids: list[str]) -> Path:
    write(
        directory,
        "officers.csv",
        [OFFICERS_HEADER, *(f"{i},Test Officer,{i.lower()}@police.example,NORTH,offender_manager," for i in ids)],
    )
    return directory


def imported(engine: Engine, config: Config, directory: Path, at: datetime, **kw: bool) -> ImportResult:
    with freeze_time(at):
        return import_directory(engine, config, directory, **kw)


def absent_marks(engine: Engine) -> dict[str, date]:
    with reading(engine) as s:
        rows = s.execute(select(models.Offender.ref, models.Offender.absent_since)).all()
    return {ref: since for ref, since in rows if since is not None}


def count(engine: Engine) -> int:
    with reading(engine) as s:
        return int(s.scalar(select(func.count()).select_from(models.Offender)) or 0)


def test_full_extract_marks_people_left_out_and_never_deletes_them(
    engine: Engine, config: Config, tmp_path: Path
) -> None:
    imported(engine, config, people(tmp_path / "a", REFS), FIRST_DAY)
    result = imported(engine, config, people(tmp_path / "b", REFS[:-1]), LATER_DAY, full=True)

    assert result.full and result.exit_code == 0
    [presence] = result.presence
    assert (presence.file, presence.marked, presence.returned, presence.absent) == (
        "offenders.csv",
        ["RSO-000040"],
        0,
        1,
    )
    assert presence.since == date(2026, 11, 27)
    assert count(engine) == 40
    assert absent_marks(engine) == {"RSO-000040": date(2026, 11, 27)}
    # Without --full a smaller extract marks nobody.
    again = imported(engine, config, people(tmp_path / "c", REFS[:10]), LATER_DAY)
    assert (
        not again.full and again.presence[0].marked == [] and absent_marks(engine) == {"RSO-000040": date(2026, 11, 27)}
    )


def test_a_person_back_in_a_later_extract_is_unmarked(engine: Engine, config: Config, tmp_path: Path) -> None:
    imported(engine, config, people(tmp_path / "a", REFS), FIRST_DAY)
    imported(engine, config, people(tmp_path / "b", REFS[:-1]), FIRST_DAY, full=True)
    with reading(engine) as s:
        stamp = s.get(models.Offender, "RSO-000001").updated_at  # type: ignore[union-attr]
    # Back in an ordinary (not full) extract: the mark goes, the row counts as updated.
    result = imported(engine, config, people(tmp_path / "c", REFS[-1:]), LATER_DAY)
    assert result.counts["offenders.csv"]["updated"] == 1
    assert result.presence[0].returned == 1 and result.presence[0].absent == 0
    assert absent_marks(engine) == {}
    with reading(engine) as s:
        assert s.get(models.Offender, "RSO-000001").updated_at == stamp  # type: ignore[union-attr]


def test_reimporting_the_same_full_extract_changes_nothing(engine: Engine, config: Config, tmp_path: Path) -> None:
    imported(engine, config, people(tmp_path / "a", REFS), FIRST_DAY)
    full = people(tmp_path / "b", REFS[:-1])
    imported(engine, config, full, FIRST_DAY, full=True)
    before = snapshot(engine)
    result = imported(engine, config, full, LATER_DAY, full=True)
    assert result.presence[0].marked == [] and result.presence[0].absent == 1
    assert result.counts["offenders.csv"]["unchanged"] == 39
    after = snapshot(engine)
    assert after["offenders"] == before["offenders"]  # the mark keeps its first date
    assert absent_marks(engine) == {"RSO-000040": date(2026, 11, 20)}


def test_a_truncated_full_extract_is_refused_unless_forced(
    engine: Engine, config: Config, tmp_path: Path, make_config: Callable[..., Config]
) -> None:
    imported(engine, config, people(tmp_path / "a", REFS), FIRST_DAY)
    before = snapshot(engine)
    cut = people(tmp_path / "b", REFS[:30])
    with pytest.raises(ImportFailure) as info:
        imported(engine, config, cut, LATER_DAY, full=True)
    assert str(info.value) == (
        "offenders.csv: this full extract leaves out 10 of the 40 people in the register (25.0%, more than "
        "import.max_missing_percent = 5); it looks cut short, so nothing was changed (import --full --force "
        "if they really have gone)"
    )
    assert snapshot(engine) == before

    lenient = make_config(engine.url.render_as_string(hide_password=False), **{"import": {"max_missing_percent": 30}})
    assert imported(engine, lenient, cut, LATER_DAY, full=True).presence[0].marked == REFS[30:]
    assert len(absent_marks(engine)) == 10


def test_force_accepts_a_full_extract_that_leaves_out_many(engine: Engine, config: Config, tmp_path: Path) -> None:
    imported(engine, config, people(tmp_path / "a", REFS), FIRST_DAY)
    result = imported(engine, config, people(tmp_path / "b", REFS[:5]), LATER_DAY, full=True, force=True)
    assert len(result.presence[0].marked) == 35
    assert count(engine) == 40


def test_rejected_rows_still_count_as_in_the_extract(engine: Engine, config: Config, tmp_path: Path) -> None:
    imported(engine, config, people(tmp_path / "a", REFS), FIRST_DAY)
    d = tmp_path / "b"
    write(
        d,
        "offenders.csv",
        [
            OFFENDERS_HEADER,
            *(offender(r) for r in REFS[:-2]),
            offender(REFS[-2], risk_level="severe"),  # rejected, but the person is in the source
            offender(REFS[-1])[:20],  # a short row: rejected, its ref still readable
        ],
    )
    result = imported(engine, config, d, LATER_DAY, full=True)
    assert result.counts["offenders.csv"]["rejected"] == 2
    assert result.presence[0].marked == []


def test_officers_left_out_are_marked(engine: Engine, config: Config, tmp_path: Path) -> None:
    ids = [f"OM-{n:04d}" for n in range(1, 31)]
    imported(engine, config, officers(tmp_path / "a", ids), FIRST_DAY)
    result = imported(engine, config, officers(tmp_path / "b", ids[1:]), LATER_DAY, full=True)
    assert [(p.file, p.marked) for p in result.presence] == [("officers.csv", ["OM-0001"])]
    with reading(engine) as s:
        gone = s.get(models.Officer, "OM-0001")
    assert gone is not None and gone.absent_since == date(2026, 11, 27)


# --------------------------------------------------------------------------- manifest.json


def manifest(directory: Path, data: object) -> None:
    (directory / "manifest.json").write_text(json.dumps(data), encoding="utf-8")


def test_a_manifest_declares_a_full_extract_and_its_row_counts(engine: Engine, config: Config, tmp_path: Path) -> None:
    imported(engine, config, people(tmp_path / "a", REFS), FIRST_DAY)
    d = people(tmp_path / "b", REFS[:-1])
    write(d, "visits.csv", [VISITS_HEADER, "V-1,RSO-000001,2026-01-05,completed,home,", ""])
    manifest(d, {"full": True, "rows": {"offenders.csv": 39, "visits.csv": 1}})
    result = imported(engine, config, d, LATER_DAY)
    assert result.full and result.presence[0].marked == ["RSO-000040"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"full": True, "rows": {"offenders.csv": 40}},
            "offenders.csv: 39 rows but manifest.json says 40: the extract looks cut short; nothing was changed",
        ),
        (
            {"rows": {"offenders.csv": 39, "visits.csv": 1000}},
            "manifest.json counts rows of visits.csv but the extract has no such file; nothing was changed",
        ),
        ({"full": "yes"}, "manifest.json: full must be true or false"),
        ({"full": True, "complete": True}, "manifest.json: expected an object with only the keys full and rows"),
        ({"rows": {"people.csv": 3}}, "manifest.json: rows must map officers.csv, offenders.csv, visits.csv"),
        ({"rows": {"offenders.csv": -1}}, "manifest.json: rows must map"),
    ],
    ids=["count", "missing file", "full not bool", "unknown key", "unknown file", "negative"],
)
def test_a_manifest_that_does_not_match_stops_the_import(
    engine: Engine, config: Config, tmp_path: Path, data: object, message: str
) -> None:
    imported(engine, config, people(tmp_path / "a", REFS), FIRST_DAY)
    before = snapshot(engine)
    d = people(tmp_path / "b", REFS[:-1])
    manifest(d, data)
    with pytest.raises(ImportFailure) as info:
        imported(engine, config, d, LATER_DAY)
    assert str(info.value).startswith(message)
    assert snapshot(engine) == before


def test_unreadable_manifest(engine: Engine, config: Config, tmp_path: Path) -> None:
    d = people(tmp_path / "b", REFS)
    (d / "MANIFEST.JSON").write_text("{not json", encoding="utf-8")
    with pytest.raises(ImportFailure, match=r"MANIFEST.JSON: not readable JSON \(JSONDecodeError\)"):
        imported(engine, config, d, LATER_DAY)


# --------------------------------------------------------------------------- the scan and the CLI


def test_the_scan_lists_people_not_in_the_extract_and_still_counts_them(
    engine: Engine, config: Config, tmp_path: Path
) -> None:
    # Registered in January 2025 with no visit: overdue since February 2025.
    imported(engine, config, people(tmp_path / "a", REFS), FIRST_DAY)
    imported(engine, config, people(tmp_path / "b", REFS[:-1]), LATER_DAY, full=True)
    with reading(engine) as s:
        result = scan(s, config.policy, date(2026, 12, 1))
    assert [n.to_json() for n in result.not_in_extract] == [
        {
            "ref": "RSO-000040",
            "risk_level": "high",
            "team": "NORTH",
            "offender_manager": "OM-0001",
            "status": "community",
            "absent_since": "2026-11-27",
            "days_absent": 4,
        }
    ]
    assert "RSO-000040" in {i.ref for i in result.overdue_visits}
    assert result.summary.overdue_visits == 40 and result.summary.active_caseload == 40
    js = result.to_json()
    assert js["summary"]["not_in_extract"] == 1 and js["not_in_extract"][0]["ref"] == "RSO-000040"
    with reading(engine) as s:
        team = scan(s, config.policy, date(2026, 12, 1), team="SOUTH")
    assert team.not_in_extract == []


def test_engine_and_oracle_agree_after_a_full_extract(
    engine: Engine, db_url: str, make_config: Callable[..., Config], tmp_path: Path
) -> None:
    as_of = date(2026, 11, 23)
    src = tmp_path / "extract"
    generate(300, seed=31, as_of=as_of, out_dir=src)
    config = make_config(db_url, **{"import": {"max_missing_percent": 10}})
    imported(engine, config, src, FIRST_DAY)
    later = tmp_path / "later"
    later.mkdir()
    shutil.copy(src / "officers.csv", later / "officers.csv")
    lines = (src / "offenders.csv").read_text(encoding="utf-8").splitlines()
    dropped = {line.split(",")[0] for line in lines[1::20]}  # every 20th person
    (later / "offenders.csv").write_text(
        "\n".join(line for line in lines if line.split(",")[0] not in dropped) + "\n", encoding="utf-8"
    )
    result = imported(engine, config, later, LATER_DAY, full=True)
    assert set(result.presence[1].marked) == dropped
    marks = dict.fromkeys(dropped, date(2026, 11, 27))
    for day in (date(2026, 11, 26), date(2026, 11, 27), date(2026, 12, 10)):  # before, on and after the mark
        with reading(engine) as s:
            actual = scan(s, config.policy, day).to_json()
        expected = oracle(src, day, absent=marks)
        assert not differences(actual, expected), differences(actual, expected)
        assert actual == expected
    assert expected["summary"]["not_in_extract"] > 0


def test_reactive_high_risk_people_are_flagged_by_the_scan(engine: Engine, config: Config, tmp_path: Path) -> None:
    d = tmp_path / "a"
    write(
        d,
        "offenders.csv",
        [
            OFFENDERS_HEADER,
            offender("RSO-000001", risk_level="very high", management="reactive"),
            offender("RSO-000002", risk_level="medium", management="reactive"),
            offender("RSO-000003", management="reactive"),
        ],
    )
    result = imported(engine, config, d, FIRST_DAY)
    assert result.exit_code == 0 and not result.rejects
    assert result.warnings == [
        "offenders.csv: 2 very high or high risk people are marked reactive, so no routine home visit is due "
        "(check this is intended): RSO-000001 (line 2), RSO-000003 (line 4)"
    ]
    with reading(engine) as s:
        flagged = scan(s, config.policy, date(2026, 12, 1)).to_json()
    assert [(r["ref"], r["risk_level"]) for r in flagged["reactive_high_risk"]] == [
        ("RSO-000001", "very_high"),
        ("RSO-000003", "high"),
    ]
    assert flagged["summary"]["reactive_high_risk"] == 2


def _cli_config(db_url: str, tmp_path: Path, extra: str = "") -> Path:
    path = tmp_path / "monitor.toml"
    path.write_text(f'[database]\nurl = "{db_url}"\n\n[mail]\nmaildir = "{tmp_path / "outbox"}"\n{extra}')
    return path


def test_cli_full_and_force(db_url: str, tmp_path: Path) -> None:
    config_path = _cli_config(db_url, tmp_path)

    def invoke(*args: str) -> object:
        return CliRunner().invoke(cli, ["--config", str(config_path), "import", *args], catch_exceptions=False)

    people(tmp_path / "a", REFS)
    assert invoke(str(tmp_path / "a")).exit_code == 0  # type: ignore[attr-defined]
    people(tmp_path / "b", REFS[:-1])
    out = invoke(str(tmp_path / "b"), "--full")
    assert out.exit_code == 0, out.output  # type: ignore[attr-defined]
    assert "offenders.csv: 1 people not in this full extract, marked absent since" in out.stdout  # type: ignore[attr-defined]
    assert ": RSO-000040" in out.stdout and "import #2 (full extract): ok" in out.stdout  # type: ignore[attr-defined]

    people(tmp_path / "c", REFS[:3])
    refused = invoke(str(tmp_path / "c"), "--full")
    assert refused.exit_code == 1  # type: ignore[attr-defined]
    assert refused.stderr.count("\n") == 1  # type: ignore[attr-defined]
    assert "leaves out 36 of the 39 people" in refused.stderr  # type: ignore[attr-defined]
    assert refused.stderr.count("nothing was changed") == 1  # type: ignore[attr-defined]
    forced = invoke(str(tmp_path / "c"), "--full", "--force")
    assert forced.exit_code == 0 and "36 people not in this full extract" in forced.stdout  # type: ignore[attr-defined]


@pytest.mark.parametrize("value", [-1, 101, '"5"', "true"])
def test_max_missing_percent_is_validated(tmp_path: Path, value: object) -> None:
    from monitor.core import config as config_module

    path = tmp_path / "bad.toml"
    path.write_text(f"[import]\nmax_missing_percent = {value}\n")
    with pytest.raises(ConfigError, match=r"import\.max_missing_percent = .*: expected a percentage from 0 to 100"):
        config_module.load(path)


def test_the_drop_folder_honours_a_manifest(
    engine: Engine, db_url: str, make_config: Callable[..., Config], tmp_path: Path
) -> None:
    drop = tmp_path / "drop"
    cfg = make_config(db_url, **{"import": {"drop_dir": str(drop)}})
    people(drop / "2026-11-20", REFS)
    with freeze_time(FIRST_DAY):
        assert import_job(engine, cfg, FIRST_DAY)["extracts"] == 1
    cut = people(drop / "2026-11-27-cut", REFS[:20])
    manifest(cut, {"full": True})
    whole = people(drop / "2026-11-27-whole", REFS[:-1])
    manifest(whole, {"full": True, "rows": {"offenders.csv": 39}})
    with freeze_time(LATER_DAY), pytest.raises(JobFailed) as info:
        import_job(engine, cfg, LATER_DAY)
    assert "2026-11-27-cut: " in str(info.value) and "leaves out 20 of the 40 people" in str(info.value)
    assert info.value.counts["extracts"] == 2 and info.value.counts["failed"] == 1
    assert absent_marks(engine) == {"RSO-000040": date(2026, 11, 27)}
    errors = list((drop / "failed").rglob("error.txt"))
    assert len(errors) == 1 and "looks cut short" in errors[0].read_text()
