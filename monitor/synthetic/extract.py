"""How a synthetic register is written: the clean generator format, or a real-world-style messy extract.

Clean files are plain UTF-8 with LF line ends and canonical values. A messy extract is
what case-management systems and spreadsheets really send (a BOM, CRLF, shouted or
title-cased headers, extra columns, "Very High", UK dates, UTC datetimes that straddle
midnight, blanks for defaults) plus a handful of bad rows the importer must reject. The
messy choices use their own ``random.Random``, so a messy extract describes *exactly* the
same register as the clean one with the same seed: importing either gives the same
obligations.
"""

from __future__ import annotations

import csv
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from monitor.core.files import private_open
from monitor.synthetic.people import Person
from monitor.synthetic.practice import PersonPractice

_LONDON = ZoneInfo("Europe/London")


def open_extract(path: Path, messy: bool) -> IO[str]:
    """One extract file for writing: UTF-8, with a BOM when messy."""
    # newline="" so csv's lineterminator is written as given (LF clean, CRLF messy).
    return private_open(path, "w", encoding="utf-8-sig" if messy else "utf-8", newline="")


_RISK_SPELLINGS: dict[str, tuple[str, ...]] = {
    "very_high": ("Very High", "VERY HIGH", "very-high", "Very_High", "very high"),
    "high": ("High", "HIGH", " high"),
    "medium": ("Medium", "MEDIUM", "medium "),
    "low": ("Low", "LOW", "low"),
}


class Style:
    """How cells are written: the clean generator format, or a real-world-style extract.

    Messy choices come from their own generator so they never disturb the register itself.
    """

    def __init__(self, rng: random.Random | None, people: int) -> None:
        self.rng = rng
        self.messy = rng is not None
        self.people = people

    def writer(self, fh: IO[str]) -> Any:
        return csv.writer(fh, lineterminator="\r\n" if self.messy else "\n")

    def header(self, columns: tuple[str, ...], extra: str | None) -> list[str]:
        if self.rng is None:
            return list(columns)
        out = []
        for i, c in enumerate(columns):
            out.append(c.upper() if i % 3 == 0 else c.title() if i % 3 == 1 else c)
        if extra:
            out.append(extra)
        return out

    def day(self, o: int | None) -> str:
        if o is None:
            return ""
        d = date.fromordinal(o)
        if self.rng is not None and self.rng.random() < 0.25:
            return f"{d.day:02d}/{d.month:02d}/{d.year}"
        return d.isoformat()

    def boolean(self, value: bool, default: bool) -> str:
        if self.rng is not None and value == default and self.rng.random() < 0.5:
            return ""
        return "true" if value else "false"

    def risk(self, risk: str) -> str:
        if self.rng is not None and self.rng.random() < 0.6:
            return self.rng.choice(_RISK_SPELLINGS[risk])
        return risk

    def offender_row(self, p: Person, pp: PersonPractice | None = None, release: int | None = None) -> list[str]:
        management = p.management
        if self.rng is not None and management == "active" and self.rng.random() < 0.5:
            management = ""
        row = [
            p.ref,
            self.risk(p.risk),
            p.status,
            p.team,
            p.om,
            self.day(p.registered),
            self.day(p.status_since),
            management,
            self.day(p.assessed),
            self.day(p.notified),
            self.boolean(p.nfa, default=False),
            self.day(p.ends),
            p.surname,
            p.forenames,
            self.day(p.dob),
        ]
        if pp is not None:
            row += [*self._practice_cells(pp), self.day(release)]
        if self.rng is not None:
            row.append(self.rng.choice(("", "", "n/a", "see case file", "migrated 2019")))
        return row

    def _practice_cells(self, pp: PersonPractice) -> list[str]:
        plan, category, level = pp.visit_interval, pp.mappa_category, pp.mappa_level
        if self.rng is not None:
            if plan and self.rng.random() < 0.3:
                plan = plan.lower()
            if level and self.rng.random() < 0.3:
                level = f"Level {level}"
            if category and self.rng.random() < 0.3:
                category = f"Cat {category}"
        return [plan, category, level, self.day(pp.supervisor_reviewed_on)]

    def visit_row(
        self,
        vid: str,
        ref: str,
        day: int,
        outcome: str,
        vtype: str,
        officer: str,
        made: tuple[int | None, str, bool] | None = None,
    ) -> list[str]:
        """One visits.csv row; ``made``: its time of day, second officer and whether it was
        announced (the practice columns), None without them."""
        practice = [] if made is None else [made[1], self.boolean(made[2], default=False)]
        if made is not None:
            cell = self._visit_time(day, made[0])
        elif self.rng is None:
            cell = date.fromordinal(day).isoformat()
        else:
            r = self.rng.random()
            if r < 0.15:
                cell = self._utc_datetime(day)
            elif r < 0.20:
                cell = (
                    f"{date.fromordinal(day).isoformat()} {self.rng.randint(8, 21):02d}:{self.rng.randint(0, 59):02d}"
                )
            else:
                cell = self.day(day)
        if self.rng is None:
            return [vid, ref, cell, outcome, vtype, officer, *practice]
        if vtype == "home" and self.rng.random() < 0.5:
            vtype = ""
        return [vid, ref, cell, outcome, vtype, officer, *practice, self.rng.choice(("", "CMS", "ViSOR-export"))]

    def _visit_time(self, day: int, minute: int | None) -> str:
        """The visit's date, with its London time of day when it has one: clean as
        ``2026-03-04T10:30``; messy also as a naive local time or the same instant in UTC."""
        if minute is None:
            return self.day(day)
        d = date.fromordinal(day)
        hour, mins = divmod(minute, 60)
        r = 1.0 if self.rng is None else self.rng.random()
        if r < 0.3:
            local = datetime(d.year, d.month, d.day, hour, mins, tzinfo=_LONDON)
            return local.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if r < 0.5:
            return f"{d.isoformat()} {hour:02d}:{mins:02d}"
        return f"{d.isoformat()}T{hour:02d}:{mins:02d}"

    def _utc_datetime(self, day: int) -> str:
        """A UTC instant whose *London* date is ``day``; some straddle midnight UTC.

        A visit at 00:30 BST is 23:30 UTC the evening before: an importer that took the
        UTC date would file it on the wrong day.
        """
        assert self.rng is not None
        d = date.fromordinal(day)
        hour = 0 if self.rng.random() < 0.1 else self.rng.randint(7, 23)
        local = datetime(d.year, d.month, d.day, hour, self.rng.randint(0, 59), tzinfo=_LONDON)
        return local.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def bad_rows(
        self,
        ow: Any,
        vw: Any,
        width: int,
        a: int,
        holder: tuple[str, str],
        first_vid: str,
        extra_offender_cells: int = 0,
        extra_visit_cells: int = 0,
    ) -> int:
        """Rows a correct importer rejects (and names): each is extra, so the good register is unchanged.

        ``extra_*_cells``: blanks for the practice columns, when the files have them."""
        om, team = holder
        more_o, more_v = [""] * extra_offender_cells, [""] * extra_visit_cells
        today = date.fromordinal(a).isoformat()
        n = self.people
        rows_o = [
            [f"RSO-{n + 1:0{width}d}", "severe", "community", team, om, today, "", "", "", "", "", "", "", "", "", ""],
            [
                f"RSO-{n + 2:0{width}d}",
                "low",
                "community",
                team,
                om,
                "31/02/2020",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
                "",
            ],
        ]
        for row in rows_o:
            ow.writerow(row[:-1] + more_o + row[-1:])
        first_ref = f"RSO-{1:0{width}d}"
        rows_v = [
            ["VIS-BAD-0001", f"RSO-{n + 3:0{width}d}", today, "completed", "home", om, ""],  # unknown ref
            ["VIS-BAD-0002", first_ref, "2026-13-45", "completed", "home", om, ""],  # impossible date
            ["VIS-BAD-0003", first_ref, today, "maybe", "home", om, ""],  # unknown outcome
        ]
        if first_vid:
            yesterday = (date.fromordinal(a) - timedelta(days=1)).isoformat()
            rows_v.append([first_vid, first_ref, yesterday, "completed", "home", om, ""])  # duplicate visit_id
        for row in rows_v:
            vw.writerow(row[:-1] + more_v + row[-1:])
        return len(rows_o) + len(rows_v)
