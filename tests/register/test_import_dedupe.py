"""Duplicate keys within a file, found with a Bloom filter and a second pass (``dedupe``).

The importer no longer keeps every key of a file in a dict; it keeps a fixed-size filter,
holds back rows whose key *may* repeat one, and settles them after the file. These tests
hold its answer against an oracle written from the contract ("a key seen again is
rejected, naming the line it was first seen on; a row that cannot be read does not
count as seen") with the normal filter and with one so small that nearly every row is
held back, so the second pass is exercised on every example.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from monitor.core.config import Config
from monitor.extract.records import Source
from monitor.register import dedupe, models
from monitor.register.db import make_engine, reading, upgrade
from monitor.register.dedupe import FirstSeen
from monitor.register.importer import import_directory

HEADER = ["officer_id", "name", "email", "team", "role", "active"]
IDS = [f"OM-{n:04d}" for n in range(1, 7)]
ROLES = ["offender_manager", "supervisor", "Inspector"]  # the last is rejected


@st.composite
def officer_rows(draw: st.DrawFn) -> list[list[str]]:
    rows = []
    for i in range(draw(st.integers(0, 40))):
        officer_id = draw(st.sampled_from([*IDS, f" {IDS[0]} "]))
        row = [officer_id, "Testy Fakename", f"om{i}@police.example", "NORTH", draw(st.sampled_from(ROLES)), "true"]
        if draw(st.integers(0, 9)) == 0:
            row = row[:2]  # short: cannot be read, so it is not "seen"
        rows.append(row)
    return rows


def oracle(rows: list[list[str]]) -> tuple[dict[str, str], dict[int, str]]:
    """(stored officer_id -> role, rejected line -> reason prefix), from the contract alone."""
    first: dict[str, int] = {}
    stored: dict[str, str] = {}
    rejected: dict[int, str] = {}
    for line, row in enumerate(rows, start=2):
        if len(row) != len(HEADER):
            rejected[line] = "has 2 values"
            continue
        key = row[0].strip()
        if key in first:
            rejected[line] = f"duplicate officer_id, first seen on line {first[key]}"
            continue
        first[key] = line
        if row[4] == "Inspector":
            rejected[line] = "expected one of"
        else:
            stored[key] = row[4]
    return stored, rejected


def write_extract(directory: Path, rows: list[list[str]]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([HEADER, *rows])
    (directory / "officers.csv").write_text(out.getvalue(), encoding="utf-8")


@pytest.fixture
def tiny_filter(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """A filter of 8 bits: after a few keys every row is held back and settled."""
    monkeypatch.setattr(dedupe, "MIN_BITS", 8)
    monkeypatch.setattr(dedupe, "BITS_PER_KEY", 0)
    yield


def check(engine: Engine, config: Config, extract: Path, rows: list[list[str]]) -> None:
    result = import_directory(engine, config, extract)
    stored, rejected = oracle(rows)
    with reading(engine) as s:
        got = {o.officer_id: o.role for o in s.scalars(select(models.Officer))}
    assert got == stored
    assert [r.line for r in result.rejects] == sorted(rejected)  # in line order
    for r in result.rejects:
        assert r.reason.startswith(rejected[r.line]), (r.line, r.reason)


@pytest.mark.parametrize("small", [False, True], ids=["normal filter", "tiny filter"])
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=officer_rows())
def test_duplicates_match_the_oracle(
    rows: list[list[str]],
    small: bool,
    tmp_path_factory: pytest.TempPathFactory,
    make_config: Callable[..., Config],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if small:
        monkeypatch.setattr(dedupe, "MIN_BITS", 8)
        monkeypatch.setattr(dedupe, "BITS_PER_KEY", 0)
    work = tmp_path_factory.mktemp("dedupe")
    url = f"sqlite:///{work / 'monitor.db'}"
    engine = make_engine(url)
    try:
        upgrade(engine)
        write_extract(work / "extract", rows)
        check(engine, make_config(url), work / "extract", rows)
    finally:
        engine.dispose()


def test_both_engines_with_a_tiny_filter(
    engine: Engine, make_config: Callable[..., Config], tmp_path: Path, tiny_filter: None
) -> None:
    rows = [
        ["OM-0001", "A", "a@police.example", "NORTH", "supervisor", "true"],
        ["OM-0002", "B", "b@police.example", "NORTH", "Inspector", "true"],  # bad, but seen
        ["OM-0003", "C"],  # short: not seen
        ["OM-0003", "C", "c@police.example", "NORTH", "supervisor", "true"],  # first after all
        ["OM-0002", "B", "b@police.example", "NORTH", "supervisor", "true"],  # duplicate of line 3
        [" OM-0001 ", "A", "a@police.example", "NORTH", "lead", "true"],  # duplicate of line 2
        ["OM-0004", "D", "d@police.example", "NORTH", "offender_manager", "true"],
    ]
    write_extract(tmp_path / "extract", rows)
    check(engine, make_config(engine.url.render_as_string(hide_password=False)), tmp_path / "extract", rows)


def test_the_filter_never_forgets() -> None:
    seen = FirstSeen(1 << 12)
    keys = [f"V{n:07d}" for n in range(2000)]
    assert sum(seen.add(k) for k in keys) < 40  # a few false "maybe"s at 2 bits per key
    assert all(seen.add(k) for k in keys)  # every key noted is "maybe seen"


def test_filter_size_follows_the_file(tmp_path: Path) -> None:
    small, big = tmp_path / "small.csv", tmp_path / "big.csv"
    small.write_bytes(b"x" * 100)
    big.write_bytes(b"x" * 3_200_000)
    assert len(FirstSeen.for_file(Source("offenders", small))._bits) == dedupe.MIN_BITS // 8
    assert len(FirstSeen.for_file(Source("visits", big))._bits) * 8 >= 100_000 * dedupe.BITS_PER_KEY
    assert len(FirstSeen(1 << 40)._bits) * 8 == dedupe.MAX_BITS  # capped


@pytest.mark.parametrize("small", [False, True], ids=["normal filter", "tiny filter"])
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=officer_rows())
def test_duplicates_in_a_workbook_match_the_oracle(
    rows: list[list[str]],
    small: bool,
    tmp_path_factory: pytest.TempPathFactory,
    make_config: Callable[..., Config],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A workbook's settling pass reads the keys the main pass spooled, not the sheet again."""
    from openpyxl import Workbook

    if small:
        monkeypatch.setattr(dedupe, "MIN_BITS", 8)
        monkeypatch.setattr(dedupe, "BITS_PER_KEY", 0)
    rows = [row for row in rows if len(row) == len(HEADER)]  # a sheet has no short rows
    work = tmp_path_factory.mktemp("dedupe-xlsx")
    url = f"sqlite:///{work / 'monitor.db'}"
    engine = make_engine(url)
    try:
        upgrade(engine)
        (work / "extract").mkdir()
        book = Workbook()
        for row in [HEADER, *rows]:
            book.active.append(row)
        book.save(work / "extract" / "officers.xlsx")
        check(engine, make_config(url), work / "extract", rows)
    finally:
        engine.dispose()
