"""The synthetic register: deterministic, realistic in shape, obviously fake, and messy on request.

Why these matter: the committed demo register and every oracle test depend on
byte-for-byte determinism; demos and digests are only convincing if the backlog looks
like a real one (about 15% overdue, worst first, a long tail); and nothing generated may
look like a real person or a deliverable address.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from oracle import oracle, owing_visits, read_rows

from monitor.cli.app import cli
from monitor.synthetic.generator import OFFENDER_COLUMNS, OFFICER_COLUMNS, VISIT_COLUMNS, generate
from monitor.synthetic.people import FORENAMES, SURNAMES

AS_OF = date(2026, 11, 23)
DEMO_SEED = 2026
DEMO_PEOPLE = 2000
REPO = Path(__file__).resolve().parents[2]
FILES = ("offenders.csv", "visits.csv", "officers.csv")


def _bytes(directory: Path) -> dict[str, bytes]:
    return {name: (directory / name).read_bytes() for name in FILES}


@pytest.mark.parametrize("messy", [False, True], ids=["clean", "messy"])
def test_same_arguments_give_the_same_bytes(tmp_path: Path, messy: bool) -> None:
    first = generate(300, seed=5, as_of=AS_OF, out_dir=tmp_path / "a", messy=messy)
    second = generate(300, seed=5, as_of=AS_OF, out_dir=tmp_path / "b", messy=messy)
    assert first == second
    assert _bytes(tmp_path / "a") == _bytes(tmp_path / "b")


def test_another_seed_or_date_gives_another_register(tmp_path: Path) -> None:
    generate(300, seed=5, as_of=AS_OF, out_dir=tmp_path / "a")
    generate(300, seed=6, as_of=AS_OF, out_dir=tmp_path / "b")
    generate(300, seed=5, as_of=date(2026, 11, 24), out_dir=tmp_path / "c")
    a = _bytes(tmp_path / "a")
    assert a["offenders.csv"] != _bytes(tmp_path / "b")["offenders.csv"]
    assert a["visits.csv"] != _bytes(tmp_path / "c")["visits.csv"]


def test_committed_demo_register_is_reproducible(tmp_path: Path) -> None:
    """seeds/*.csv is exactly `visit-monitor seed --people 2000 --seed 2026 --as-of 2026-11-23
    --practice --absences`."""
    generate(DEMO_PEOPLE, seed=DEMO_SEED, as_of=AS_OF, out_dir=tmp_path, practice=True, absences=True)
    committed = _bytes(REPO / "seeds")
    assert committed == _bytes(tmp_path)
    assert (REPO / "seeds" / "absences.csv").read_bytes() == (tmp_path / "absences.csv").read_bytes()
    assert sum(len(b) for b in committed.values()) < 3_000_000


def test_absences_change_nothing_else_and_import(tmp_path: Path) -> None:
    """--absences adds absences.csv (officers of the register, some away the extract's week)
    and leaves every other file byte for byte as it was; the importer takes it whole."""
    plain = generate(300, seed=5, as_of=AS_OF, out_dir=tmp_path / "a")
    counts = generate(300, seed=5, as_of=AS_OF, out_dir=tmp_path / "b", absences=True)
    assert _bytes(tmp_path / "a") == _bytes(tmp_path / "b")
    assert not (tmp_path / "a" / "absences.csv").exists()
    assert counts == {**plain, "absences": counts["absences"]} and counts["absences"] > 0
    rows = read_rows(tmp_path / "b" / "absences.csv")
    officers = {o["officer_id"] for o in read_rows(tmp_path / "b" / "officers.csv")}
    monday = date(2026, 11, 23)  # AS_OF is a Monday
    assert {r["officer_id"] for r in rows} <= officers
    assert any(r["starts_on"] <= monday.isoformat() <= r["ends_on"] for r in rows)
    for r in rows:
        assert r["starts_on"] <= r["ends_on"] and 0 < float(r["fraction"]) <= 1
    db = tmp_path / "m.db"
    env = {"MONITOR_DATABASE_URL": f"sqlite:///{db}"}
    assert CliRunner().invoke(cli, ["db", "upgrade"], env=env).exit_code == 0
    result = CliRunner().invoke(cli, ["import", str(tmp_path / "b")], env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "absences.csv   inserted 2," in result.output and result.output.count("rejected 0") == 4


def test_clean_format_follows_the_contract(tmp_path: Path) -> None:
    counts = generate(400, seed=7, as_of=AS_OF, out_dir=tmp_path)
    for name, columns in zip(FILES, (OFFENDER_COLUMNS, VISIT_COLUMNS, OFFICER_COLUMNS), strict=True):
        raw = (tmp_path / name).read_bytes()
        assert not raw.startswith(b"\xef\xbb\xbf") and b"\r" not in raw
        assert raw.split(b"\n", 1)[0].decode() == ",".join(columns)
    offenders = read_rows(tmp_path / "offenders.csv")
    visits = read_rows(tmp_path / "visits.csv")
    officers = read_rows(tmp_path / "officers.csv")
    assert counts == {"offenders": 400, "visits": len(visits), "officers": len(officers), "bad_rows": 0}

    refs = {o["ref"]: o for o in offenders}
    assert len(refs) == 400
    ids = [v["visit_id"] for v in visits]
    assert len(set(ids)) == len(ids)
    officer_ids = {o["officer_id"] for o in officers}
    for o in offenders:
        assert o["offender_manager"] in officer_ids
        if o["status_since"]:
            assert o["status_since"] >= o["registered_on"]  # ISO dates compare as text
        if o["registration_ends"]:
            assert o["registration_ends"] >= o["registered_on"]
    for v in visits:
        person = refs[v["ref"]]
        assert person["registered_on"] <= v["visit_date"] <= AS_OF.isoformat()
        assert v["outcome"] in ("completed", "no_access", "cancelled")
        assert v["visit_type"] in ("home", "other")
        assert v["officer"] == "" or v["officer"] in officer_ids


def test_risk_and_status_mix(tmp_path: Path) -> None:
    generate(6000, seed=8, as_of=AS_OF, out_dir=tmp_path)
    offenders = read_rows(tmp_path / "offenders.csv")
    n = len(offenders)
    risk = Counter(o["risk_level"] for o in offenders)
    assert 0.012 <= risk["very_high"] / n <= 0.03
    assert 0.16 <= risk["high"] / n <= 0.20
    assert 0.27 <= risk["medium"] / n <= 0.33
    assert 0.47 <= risk["low"] / n <= 0.53

    status = Counter(o["status"] for o in offenders)
    assert 0.80 <= status["community"] / n <= 0.92
    assert 0.005 <= status["missing"] / n <= 0.015
    assert all(status[s] > 0 for s in ("custody", "hospital", "abroad", "deceased", "deregistered"))

    low_medium = [o for o in offenders if o["risk_level"] in ("low", "medium")]
    reactive = sum(o["management"] == "reactive" for o in low_medium)
    assert 0.07 <= reactive / len(low_medium) <= 0.13
    assert all(o["management"] == "active" for o in offenders if o["risk_level"] in ("high", "very_high"))
    assert sum(o["no_fixed_abode"] == "true" for o in offenders) > 0
    assert sum(bool(o["registration_ends"]) for o in offenders) > 0
    returned = [o for o in offenders if o["status"] == "community" and o["status_since"] > o["registered_on"]]
    assert len(returned) > 0.05 * status["community"]


def test_backlog_is_about_fifteen_percent_with_an_age_spread(tmp_path: Path) -> None:
    for seed in (1, 2, 3):
        out = tmp_path / str(seed)
        generate(3000, seed=seed, as_of=AS_OF, out_dir=out)
        summary = oracle(out, AS_OF)["summary"]
        share = summary["overdue_visits"] / owing_visits(out, AS_OF)
        assert 0.12 <= share <= 0.18, (seed, share)
        assert all(summary["by_age"][band] > 0 for band in ("1-7", "8-28", "29-90", "91+"))
        assert summary["by_age"]["91+"] < summary["by_age"]["29-90"]  # a tail, not a cliff
        assert 91 <= summary["most_overdue_days"] <= 500
        assert all(summary["by_risk"][r] > 0 for r in ("very_high", "high", "medium", "low"))
        for key in ("due_soon", "overdue_risk_reviews", "overdue_notifications", "whereabouts_unknown"):
            assert summary[key] > 0, key
        assert summary["failed_attempt_flags"] > 0


def test_officers_teams_and_caseloads(tmp_path: Path) -> None:
    generate(5000, seed=9, as_of=AS_OF, out_dir=tmp_path)
    officers = read_rows(tmp_path / "officers.csv")
    offenders = read_rows(tmp_path / "offenders.csv")
    roles = Counter(o["role"] for o in officers)
    assert 1 <= roles["lead"] <= 2
    caseload = Counter(o["offender_manager"] for o in offenders)
    assert 45 <= sum(caseload.values()) / len(caseload) <= 55
    assert max(caseload.values()) < 100
    teams = {o["team"] for o in officers if o["role"] == "offender_manager"}
    for team in teams:
        members = [o for o in officers if o["team"] == team]
        holders = [o for o in members if o["role"] == "offender_manager" and o["officer_id"] in caseload]
        supervisors = [o for o in members if o["role"] == "supervisor"]
        assert 6 <= len(holders) <= 8, team
        assert 1 <= len(supervisors) <= 2, team
    inactive = [o for o in officers if o["active"] == "false"]
    assert inactive and any(o["officer_id"] in caseload for o in inactive)  # reassignment lag
    assert any(o["email"].endswith("@partner.example") for o in officers)  # outside the allow-list


def test_nothing_looks_real(tmp_path: Path) -> None:
    generate(2000, seed=10, as_of=AS_OF, out_dir=tmp_path)
    for o in read_rows(tmp_path / "officers.csv"):
        assert re.fullmatch(r"(OM-\d{4}|DS-\d{2}|LEAD-\d)", o["officer_id"])
        assert re.fullmatch(r"(Officer|Sergeant|Superintendent) Testname \d+", o["name"])
        assert re.fullmatch(r"[a-z]+\.testname\.\d+@(police|partner)\.example", o["email"])
    for o in read_rows(tmp_path / "offenders.csv"):
        assert re.fullmatch(r"RSO-\d{6}", o["ref"])
        assert o["surname"] in SURNAMES
        assert all(part in FORENAMES for part in o["forenames"].split(" "))
        born = date.fromisoformat(o["date_of_birth"])
        assert 18 <= (AS_OF - born).days // 365 <= 86
    for v in read_rows(tmp_path / "visits.csv"):
        assert re.fullmatch(r"VIS-\d{8}", v["visit_id"])


# --- messy ------------------------------------------------------------------------------

LONDON = ZoneInfo("Europe/London")


def _messy_rows(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


def _as_date(cell: str) -> str:
    if cell == "" or re.fullmatch(r"\d{4}-\d{2}-\d{2}", cell):
        return cell
    if m := re.fullmatch(r"(\d{2})/(\d{2})/(\d{4})", cell):
        return f"{m[3]}-{m[2]}-{m[1]}"
    if cell.endswith("Z"):
        return datetime.fromisoformat(cell.replace("Z", "+00:00")).astimezone(LONDON).date().isoformat()
    return cell.split(" ")[0]  # naive local "YYYY-MM-DD HH:MM"


def test_messy_extract_is_really_messy(tmp_path: Path) -> None:
    counts = generate(500, seed=11, as_of=date(2026, 7, 1), out_dir=tmp_path, messy=True)
    assert counts["bad_rows"] == 6
    for name in FILES:
        raw = (tmp_path / name).read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf"), name
        assert raw.count(b"\r\n") == raw.count(b"\n"), name
        header = raw[3:].split(b"\r\n", 1)[0].decode()
        assert header != header.lower(), name
    o_header, offenders = _messy_rows(tmp_path / "offenders.csv")
    v_header, visits = _messy_rows(tmp_path / "visits.csv")
    assert len(o_header) == len(OFFENDER_COLUMNS) + 1 and len(v_header) == len(VISIT_COLUMNS) + 1  # extra column
    risks = {row[1] for row in offenders}
    assert "Very High" in risks or "VERY HIGH" in risks or "very-high" in risks
    assert any(re.fullmatch(r"\d{2}/\d{2}/\d{4}", row[5]) for row in offenders)
    stamps = [row[2] for row in visits if row[2].endswith("Z")]
    assert stamps
    # Some instants fall on the previous day in UTC: taking the UTC date would be wrong.
    assert any(s[:10] != _as_date(s) for s in stamps)
    bad = {row[0] for row in visits[-4:]}
    assert "VIS-BAD-0001" in bad and any(r.startswith("VIS-0") for r in bad)  # includes a duplicate id
    assert offenders[-2][1] == "severe" and offenders[-1][5] == "31/02/2020"


def test_messy_extract_describes_the_clean_register(tmp_path: Path) -> None:
    """Undo the messiness by hand: what is left is the clean file, row for row."""
    clean, messy = tmp_path / "clean", tmp_path / "messy"
    generate(400, seed=12, as_of=date(2026, 7, 1), out_dir=clean)
    generate(400, seed=12, as_of=date(2026, 7, 1), out_dir=messy, messy=True)

    defaults = {"management": "active", "no_fixed_abode": "false", "visit_type": "home", "active": "true"}
    date_columns = {"registered_on", "status_since", "risk_assessed_on", "last_notified_on"}
    date_columns |= {"registration_ends", "date_of_birth", "visit_date"}
    for name, bad in (("offenders.csv", 2), ("visits.csv", 4), ("officers.csv", 0)):
        header, rows = _messy_rows(messy / name)
        header = [h.lower() for h in header]
        expected = read_rows(clean / name)
        rows = rows[: len(rows) - bad]
        assert len(rows) == len(expected), name
        for row, want in zip(rows, expected, strict=True):
            got = dict(zip(header, row, strict=True))
            got.pop("notes", None)
            got.pop("source_system", None)
            for key, value in got.items():
                if key in date_columns:
                    value = _as_date(value)
                elif key == "risk_level":
                    value = re.sub(r"[\s-]+", "_", value.strip().lower())
                elif value == "" and key in defaults:
                    value = defaults[key]
                got[key] = value
            assert got == want, name


# --- the command ------------------------------------------------------------------------


def test_seed_command_writes_the_same_files_and_protects_existing_ones(tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "out"
    args = ["seed", "--people", "120", "--seed", "4", "--as-of", "2026-11-23", "--out", str(out)]
    result = runner.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert "120 offenders" in result.output
    generate(120, seed=4, as_of=AS_OF, out_dir=tmp_path / "direct")
    assert _bytes(out) == _bytes(tmp_path / "direct")

    again = runner.invoke(cli, args)
    assert again.exit_code == 2 and "--force" in again.output
    assert _bytes(out) == _bytes(tmp_path / "direct")

    messy = runner.invoke(cli, [*args, "--messy", "--force"])
    assert messy.exit_code == 0 and "deliberately bad" in messy.output
    assert (out / "visits.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_seed_command_defaults_to_today_in_london(tmp_path: Path) -> None:
    from freezegun import freeze_time

    with freeze_time("2026-06-30T23:30:00Z"):  # already 1 July in London
        result = CliRunner().invoke(cli, ["seed", "--people", "10", "--out", str(tmp_path / "x")])
    assert result.exit_code == 0, result.output
    assert "as of 2026-07-01" in result.output


def test_practice_columns_describe_the_same_register(tmp_path: Path) -> None:
    """``--practice`` adds its columns (and visit times) to the very same register: the demo
    register and every seed's bytes stay as they were without it."""
    generate(300, seed=9, as_of=AS_OF, out_dir=tmp_path / "plain")
    generate(300, seed=9, as_of=AS_OF, out_dir=tmp_path / "practice", practice=True)
    plain_o, practice_o = (
        read_rows(tmp_path / "plain" / "offenders.csv"),
        read_rows(tmp_path / "practice" / "offenders.csv"),
    )
    assert [{k: o[k] for k in OFFENDER_COLUMNS} for o in practice_o] == plain_o
    assert {o["mappa_level"] for o in practice_o} >= {"1", "2"} and any(o["visit_interval"] for o in practice_o)
    plain_v, practice_v = read_rows(tmp_path / "plain" / "visits.csv"), read_rows(tmp_path / "practice" / "visits.csv")
    assert [{**{k: v[k] for k in VISIT_COLUMNS}, "visit_date": v["visit_date"][:10]} for v in practice_v] == plain_v
    assert any("T" in v["visit_date"] for v in practice_v) and any(v["second_officer"] == "" for v in practice_v)
