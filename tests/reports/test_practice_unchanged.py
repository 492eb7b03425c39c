"""An extract without the practice columns imports and reports exactly as before them.

Why: the practice measures (docs/practice.md) add keys, lists and CSV columns, move MAPPA
level 2 and 3 cases up, and add to every digest; a force whose extract has none of the new
columns, and scripts reading its reports, must see no difference at all. The files in
tests/data/before_practice were written by the code before the measures existed (commit
1663b50) from the same messy extract this test generates (BOM, CRLF, UTC and local visit
times, bad rows): the JSON (two as-of dates), CSV, HTML and table reports and a team
digest. The JSON and CSV are held byte for byte on SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli.app import cli
from monitor.synthetic.generator import generate

BEFORE = Path(__file__).resolve().parents[1] / "data" / "before_practice"
AS_OF = date(2026, 7, 1)


def _run(db_url: str, *args: str) -> None:
    result = CliRunner().invoke(cli, list(args), env={"MONITOR_DATABASE_URL": db_url})
    assert result.exit_code in (0, 3), result.output


@pytest.fixture
def imported(db_url: str, tmp_path: Path) -> str:
    src = tmp_path / "messy"
    counts = generate(300, seed=41, as_of=AS_OF, out_dir=src, messy=True)
    assert counts["bad_rows"] == 6
    _run(db_url, "import", str(src))
    return db_url


@pytest.mark.parametrize(
    ("name", "as_of", "fmt"),
    [
        ("report-2026-07-01.json", "2026-07-01", "json"),
        ("report-2026-06-01.json", "2026-06-01", "json"),  # before the latest visits: facts computed live
        ("report-2026-07-01.csv", "2026-07-01", "csv"),
    ],
)
def test_json_and_csv_are_byte_for_byte_as_before(
    imported: str, tmp_path: Path, name: str, as_of: str, fmt: str
) -> None:
    out = tmp_path / name
    _run(imported, "report", "--as-of", as_of, "--format", fmt, "--output", str(out))
    assert out.read_bytes() == (BEFORE / name).read_bytes()


def test_reports_for_people_and_the_team_digest_are_as_before(sqlite_url: str, tmp_path: Path) -> None:
    src = tmp_path / "messy"
    generate(300, seed=41, as_of=AS_OF, out_dir=src, messy=True)
    _run(sqlite_url, "import", str(src))
    for fmt, name in (("html", "report-2026-07-01.html"), ("table", "report-2026-07-01.txt")):
        out = tmp_path / name
        _run(sqlite_url, "report", "--as-of", AS_OF.isoformat(), "--format", fmt, "--output", str(out))
        assert out.read_bytes() == (BEFORE / name).read_bytes(), name
    preview = tmp_path / "preview"
    _run(sqlite_url, "digest", "--as-of", AS_OF.isoformat(), "--kind", "team", "--preview", str(preview))
    digest = (preview / "team-DS-01-2026-W27.html").read_bytes()
    assert _without_plan(digest) == (BEFORE / "team-digest.html").read_bytes()


def _without_plan(html: bytes) -> bytes:
    """The team digest less the week's plan and forecast (issue 22, since the file was written:
    there with or without the practice columns), which sits just before the unmailable cases."""
    start = html.index(b">This week's plan, ")
    start = html.rindex(b"<p ", 0, start)
    end = html.index(b">Cases whose offender manager cannot be mailed", start)
    end = html.rindex(b"<p ", 0, end)
    return html[:start] + html[end:]
