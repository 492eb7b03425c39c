"""A messy, shuffled national register extract, written from the CSV contract alone.

Why: the product's own generator (``monitor.synthetic``) writes the tidy registers the
importer was tuned on; a benchmark must run on data the product has not seen. This module
imports nothing from ``monitor``: it knows only the input format (docs/reference/input-format.md:
columns, "case, spaces and hyphens forgiven", ``DD/MM/YYYY``, a datetime's date in Europe/London).

What it writes, deterministically from a seed:

* ``DIR/extract/{offenders,visits,officers}.csv``: UTF-8 with BOM, CRLF, mixed-case and
  reordered headers plus an unknown column, values such as "Very High" and "no-access",
  about 20 % of dates as ``DD/MM/YYYY``, some visit dates as UTC instants
  (``2026-03-29T23:30:00Z`` is 30 March in London) or naive local times, rows in random
  order, and a few hundred bad rows per 100,000 people (bad dates, unknown refs,
  duplicate keys, unknown values, short rows).
* ``DIR/manifest.json``: what the product must make of it, known from the values written
  rather than from any code under test: the line and kind of every bad row, the number
  of good rows per file, the active caseload, and every overdue home visit as of the
  as-of date (ref, due date, days overdue, last visit, failed attempts), in report order.
* The contract's optional practice columns: a plan's visit frequency for about one person
  in eight (some far longer than the risk level's default), MAPPA category and level, the
  last supervisor review, a second officer on most visits (none on about a third of
  completed home visits) and whether a visit was announced.

Rows are streamed: each goes to one of many bucket files at random, then each bucket is
shuffled in memory and appended, so 300,000 people (3.3 million visits) need a few tens
of megabytes whatever the size.
"""

from __future__ import annotations

import calendar
import csv
import json
import random
import shutil
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

#: Bump when the output changes, so a kept extract is regenerated rather than reused.
#: 2: the optional practice columns (plan visit intervals, MAPPA, supervisor reviews,
#: second officers, announced visits).
VERSION = 2
AS_OF = date(2026, 11, 23)
LONDON = ZoneInfo("Europe/London")

RISKS = ("very_high", "high", "medium", "low")
RISK_WEIGHTS = (2, 18, 30, 50)
RISK_ORDER = {r: i for i, r in enumerate(RISKS)}
INTERVAL_MONTHS = {"very_high": 1, "high": 3, "medium": 6, "low": 12}
FIRST_VISIT_DAYS = 28
STATUSES = ("community", "custody", "hospital", "abroad", "missing", "deceased", "deregistered")
STATUS_WEIGHTS = (885, 40, 10, 10, 15, 10, 20)
OUT_OF_SCOPE = ("deceased", "deregistered")

PEOPLE_PER_OFFICER = 44
OFFICERS_PER_TEAM = 10
HISTORY_DAYS = 5 * 365
#: Rows per bucket file: bounds the memory of the final shuffle.
BUCKET_ROWS = 50_000
#: Bad rows per person, per kind (about 280 in all per 100,000 people).
BAD_OFFENDERS_PER_PERSON = 0.0002
BAD_VISITS_PER_PERSON = 0.0004

OFFENDER_COLUMNS = (
    "ref",
    "risk_level",
    "status",
    "team",
    "offender_manager",
    "registered_on",
    "status_since",
    "management",
    "risk_assessed_on",
    "last_notified_on",
    "no_fixed_abode",
    "registration_ends",
    "surname",
    "forenames",
    "date_of_birth",
    # The optional practice columns (a plan's visit frequency overrides the risk level's).
    "visit_interval",
    "mappa_category",
    "mappa_level",
    "supervisor_reviewed_on",
    "local_notes",  # unknown to the contract: ignored with a warning
)
VISIT_COLUMNS = (
    "visit_id",
    "ref",
    "visit_date",
    "outcome",
    "visit_type",
    "officer",
    "second_officer",
    "announced",
    "source_system",
)
#: Plan visit frequencies (ISO 8601) per risk level, some far longer than the default.
PLANS: dict[str, tuple[str, ...]] = {
    "very_high": ("P2W", "P1M", "P6W"),
    "high": ("P6W", "P2M", "P4M", "P8M"),
    "medium": ("P3M", "P4M", "P9M", "P13M"),
    "low": ("P6M", "P9M", "P18M", "P2Y"),
}
#: Share of people whose plan sets their visit frequency.
PLAN_SHARE = 0.12
OFFICER_COLUMNS = ("officer_id", "name", "email", "team", "role", "active", "station")

#: How extracts spell enum values: the canonical form most of the time, else one of these.
SPELLINGS: dict[str, tuple[str, ...]] = {
    "very_high": ("Very High", "very-high", "VERY HIGH", "Very_High"),
    "high": ("High", "HIGH", " high "),
    "medium": ("Medium", "MEDIUM", "medium "),
    "low": ("Low", "LOW", " Low"),
    "community": ("Community", "COMMUNITY"),
    "custody": ("Custody", "CUSTODY"),
    "hospital": ("Hospital",),
    "abroad": ("Abroad", "ABROAD"),
    "missing": ("Missing", "MISSING"),
    "deceased": ("Deceased",),
    "deregistered": ("Deregistered", "DEREGISTERED"),
    "active": ("Active", "ACTIVE"),
    "reactive": ("Reactive", "REACTIVE"),
    "completed": ("Completed", "COMPLETED"),
    "no_access": ("No Access", "no-access", "NO ACCESS", "No_Access"),
    "cancelled": ("Cancelled", "CANCELLED"),
    "home": ("Home", "HOME"),
    "other": ("Other", "OTHER"),
    "offender_manager": ("Offender Manager", "offender-manager", "OFFENDER MANAGER"),
    "supervisor": ("Supervisor", "SUPERVISOR"),
    "lead": ("Lead", "LEAD"),
}
TRUE_SPELLINGS = ("true", "True", "yes", "Y", "1")
FALSE_SPELLINGS = ("false", "False", "no", "N", "0")
BAD_DATES = ("31/02/2025", "2025-13-01", "29/02/2025", "not recorded", "03/29/2026", "2026-02-30")


def add_months(start: date, months: int) -> date:
    """Calendar months, clamped to the last day of the target month (31 Aug + 6 = 28 Feb)."""
    index = start.year * 12 + start.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(start.day, calendar.monthrange(year, month + 1)[1]))


def plan_months_days(plan: str) -> tuple[int, int]:
    """A plan's ISO 8601 duration (as written here: PnY, PnM, PnW) as (months, days)."""
    number, unit = int(plan[1:-1]), plan[-1]
    return {"Y": (12 * number, 0), "M": (number, 0), "W": (0, 7 * number)}[unit]


@dataclass
class FileFacts:
    """What one written file holds: rows, good rows, and each bad row's line and kind."""

    rows: int = 0
    good: int = 0
    bad: list[tuple[int, str]] = field(default_factory=list)
    bytes: int = 0


@dataclass
class Manifest:
    """Everything the benchmark checks the product against (see the module docstring)."""

    version: int
    people: int
    seed: int
    as_of: str
    files: dict[str, FileFacts]
    caseload: int
    #: (ref, risk_level, due_date, days_overdue, last_visit or None, failed_attempts), report order.
    overdue: list[tuple[str, str, str, int, str | None, int]]
    officers: int
    teams: int
    seconds: float

    def to_json(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["files"] = {name: facts.__dict__ for name, facts in self.files.items()}
        return out

    @classmethod
    def load(cls, path: Path) -> Manifest:
        raw = json.loads(path.read_text(encoding="utf-8"))
        raw["files"] = {
            name: FileFacts(f["rows"], f["good"], [tuple(b) for b in f["bad"]], f["bytes"])
            for name, f in raw["files"].items()
        }
        raw["overdue"] = [tuple(row) for row in raw["overdue"]]
        return cls(**raw)

    def bad_lines(self, name: str) -> set[int]:
        return {line for line, _kind in self.files[name].bad}


class _ShuffledFile:
    """One CSV file written in random row order with bounded memory (see module docstring).

    Each row carries a tag while it waits in a bucket: "" good, "D" one of two identical
    copies (the first written is good, the second a duplicate key), else a bad-row kind.
    """

    def __init__(self, tmp: Path, name: str, header: list[str], key_index: int, rng: random.Random, rows: int):
        self.name, self.header, self.key_index, self.rng = name, header, key_index, rng
        self.paths = [tmp / f"{name}.{k}" for k in range(max(1, rows // BUCKET_ROWS + 1))]
        self.handles = [open(p, "w", encoding="utf-8", newline="") for p in self.paths]  # noqa: SIM115
        self.writers = [csv.writer(h) for h in self.handles]

    def add(self, cells: list[str], tag: str = "") -> None:
        self.writers[self.rng.randrange(len(self.writers))].writerow([tag, *cells])

    def finish(self, path: Path) -> FileFacts:
        for handle in self.handles:
            handle.close()
        facts = FileFacts()
        seen_twice: set[str] = set()
        line = 1
        with open(path, "w", encoding="utf-8-sig", newline="") as out:
            writer = csv.writer(out, lineterminator="\r\n")
            writer.writerow(self.header)
            for bucket in self.paths:
                with open(bucket, encoding="utf-8", newline="") as fh:
                    rows = list(csv.reader(fh))
                bucket.unlink()
                self.rng.shuffle(rows)
                for tag, *cells in rows:
                    line += 1
                    if not tag:
                        facts.good += 1
                    elif tag == "D":
                        key = cells[self.key_index]
                        if key in seen_twice:
                            facts.bad.append((line, "duplicate"))
                        else:
                            seen_twice.add(key)
                            facts.good += 1
                    else:
                        facts.bad.append((line, tag))
                writer.writerows(row[1:] for row in rows)
        facts.rows = line - 1
        facts.bytes = path.stat().st_size
        return facts


@dataclass
class _Officer:
    officer_id: str
    team: str
    role: str


class _Writer:
    """Formats values the way messy extracts do (one RNG, so one seed gives one file set)."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self._iso: dict[date, str] = {}

    def enum(self, value: str) -> str:
        if self.rng.random() < 0.6:
            return value
        return self.rng.choice(SPELLINGS[value])

    def flag(self, value: bool) -> str:
        return self.rng.choice(TRUE_SPELLINGS if value else FALSE_SPELLINGS)

    def date(self, d: date | None) -> str:
        if d is None:
            return ""
        r = self.rng.random()
        if r < 0.17:
            return f"{d.day:02d}/{d.month:02d}/{d.year}"
        if r < 0.2:
            return f"{d.day}/{d.month}/{d.year}"
        iso = self._iso.get(d)
        if iso is None:
            iso = self._iso[d] = d.isoformat()
        return iso

    def visit_date(self, d: date) -> str:
        """A date, or an instant on that London day: UTC (``Z``) or naive local time."""
        r = self.rng.random()
        if r < 0.10:
            # Just after midnight in summer is the previous day in UTC: the product must
            # take the London date, not the UTC one.
            hour = 0 if self.rng.random() < 0.2 else self.rng.randint(8, 21)
            local = datetime(d.year, d.month, d.day, hour, self.rng.randrange(60), tzinfo=LONDON)
            return local.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        if r < 0.13:
            return f"{d.isoformat()} {self.rng.randint(8, 21):02d}:{self.rng.randrange(60):02d}"
        return self.date(d)


def _header(columns: tuple[str, ...], rng: random.Random) -> tuple[list[str], list[str]]:
    """Reordered columns, and how the header line spells each (case varies)."""
    order = list(columns)
    rng.shuffle(order)
    shown = [rng.choice((c, c.upper(), c.title(), c.capitalize())) for c in order]
    return order, shown


def _between(rng: random.Random, start: date, end: date) -> date:
    return start + timedelta(days=rng.randint(0, max(0, (end - start).days)))


def generate(out_dir: Path, people: int, seed: int = 1, as_of: date = AS_OF) -> Manifest:
    """Write ``out_dir/extract/*.csv`` and ``out_dir/manifest.json``; return the manifest."""
    started = time.perf_counter()
    rng = random.Random(seed)
    fmt = _Writer(rng)
    extract = out_dir / "extract"
    if extract.exists():
        shutil.rmtree(extract)
    extract.mkdir(parents=True)
    tmp = out_dir / "buckets"
    tmp.mkdir(exist_ok=True)

    officers, teams = _officer_directory(people)
    managers = [o for o in officers if o.role == "offender_manager"]
    off_order, off_header = _header(OFFENDER_COLUMNS, rng)
    vis_order, vis_header = _header(VISIT_COLUMNS, rng)
    ofc_order, ofc_header = _header(OFFICER_COLUMNS, rng)
    off_file = _ShuffledFile(tmp, "offenders", off_header, off_order.index("ref"), rng, people)
    vis_file = _ShuffledFile(tmp, "visits", vis_header, vis_order.index("visit_id"), rng, people * 12)
    ofc_file = _ShuffledFile(tmp, "officers", ofc_header, ofc_order.index("officer_id"), rng, len(officers))

    n_bad_off = max(1, round(people * BAD_OFFENDERS_PER_PERSON))
    n_bad_vis = max(1, round(people * BAD_VISITS_PER_PERSON))
    dup_people = set(rng.sample(range(people), min(people, n_bad_off)))
    dup_visits = set(rng.sample(range(people), min(people, n_bad_vis)))
    history_from = as_of - timedelta(days=HISTORY_DAYS)
    overdue: list[tuple[str, str, str, int, str | None, int]] = []
    mappa_first: set[str] = set()  # refs at MAPPA level 2 or 3
    caseload = 0
    visit_seq = 0

    for i in range(people):
        p = _person(rng, i, managers, as_of)
        if p.in_scope:
            caseload += 1
        if p.mappa_level in ("2", "3"):
            mappa_first.add(p.ref)
        cells = _offender_cells(fmt, p)
        row = [cells[c] for c in off_order]
        if i in dup_people:
            off_file.add(row, "D")
            off_file.add(row, "D")
        else:
            off_file.add(row)

        visits = _visit_history(rng, p, history_from, as_of)
        for n, (day, outcome, vtype) in enumerate(visits):
            visit_seq += 1
            alone = outcome == "completed" and vtype == "home" and rng.random() < 0.3
            vcells = {
                "visit_id": f"VIS-{visit_seq:08d}",
                "ref": p.ref,
                "visit_date": fmt.visit_date(day),
                "outcome": fmt.enum(outcome),
                "visit_type": fmt.enum(vtype),
                "officer": p.manager if rng.random() < 0.9 else "",
                "second_officer": "" if alone else rng.choice(managers).officer_id,
                "announced": fmt.flag(rng.random() < 0.08),
                "source_system": "CMS-A",
            }
            vrow = [vcells[c] for c in vis_order]
            if n == 0 and i in dup_visits:
                vis_file.add(vrow, "D")
                vis_file.add(vrow, "D")
            else:
                vis_file.add(vrow)
        due = _overdue_truth(p, visits, as_of)
        if due is not None:
            overdue.append(due)

    bad_refs = _bad_offenders(rng, fmt, off_file, off_order, n_bad_off, managers, as_of)
    _bad_visits(rng, fmt, vis_file, vis_order, n_bad_vis, people, bad_refs, as_of)
    for n, officer in enumerate(officers):
        row = [_officer_cells(fmt, officer)[c] for c in ofc_order]
        ofc_file.add(row, "D" if n == 0 else "")
        if n == 0:
            ofc_file.add(row, "D")  # an exact repeat: whichever comes second is rejected
    bad_officer = _officer_cells(fmt, _Officer("OM-B0001", officers[0].team, "offender_manager"))
    bad_officer["role"] = "Inspector"
    ofc_file.add([bad_officer[c] for c in ofc_order], "unknown_value")
    files = {
        "offenders.csv": off_file.finish(extract / "offenders.csv"),
        "visits.csv": vis_file.finish(extract / "visits.csv"),
        "officers.csv": ofc_file.finish(extract / "officers.csv"),
    }
    tmp.rmdir()
    # Report order: risk, MAPPA level 2 and 3 first, most overdue, ref.
    overdue.sort(key=lambda o: (RISK_ORDER[o[1]], 0 if o[0] in mappa_first else 1, -o[3], o[0]))
    manifest = Manifest(
        version=VERSION,
        people=people,
        seed=seed,
        as_of=as_of.isoformat(),
        files=files,
        caseload=caseload,
        overdue=overdue,
        officers=len(officers),
        teams=len(teams),
        seconds=round(time.perf_counter() - started, 3),
    )
    (out_dir / "manifest.json").write_text(json.dumps(manifest.to_json()), encoding="utf-8")
    return manifest


def _officer_directory(people: int) -> tuple[list[_Officer], list[str]]:
    """Teams of about ten officers (one or two supervisors), one officer per ~44 people."""
    n_teams = max(1, round(people / (PEOPLE_PER_OFFICER * OFFICERS_PER_TEAM)))
    teams = [f"NAT-{t + 1:04d}" for t in range(n_teams)]
    officers = [_Officer("LEAD-1", teams[0], "lead"), _Officer("LEAD-2", teams[-1], "lead")]
    om = ds = 0
    for t, team in enumerate(teams):
        for k in range(OFFICERS_PER_TEAM - (t % 3 == 0)):  # 9 or 10 per team
            if k < 1 + (t % 2):
                ds += 1
                officers.append(_Officer(f"DS-{ds:04d}", team, "supervisor"))
            else:
                om += 1
                officers.append(_Officer(f"OM-{om:05d}", team, "offender_manager"))
    return officers, teams


def _officer_cells(fmt: _Writer, o: _Officer) -> dict[str, str]:
    number = o.officer_id.split("-")[-1]
    # A few partner-agency addresses and inactive officers: recipients the product must refuse.
    domain = "partner.example" if number.endswith("37") else "police.example"
    return {
        "officer_id": o.officer_id,
        "name": f"Officer Testname {number}",
        "email": f"{o.officer_id.lower()}@{domain}",
        "team": o.team,
        "role": fmt.enum(o.role),
        "active": fmt.flag(not number.endswith("53")),
        "station": "Station Fakeplace",
    }


@dataclass
class _Person:
    ref: str
    risk: str
    status: str
    team: str
    manager: str
    registered_on: date
    #: S as the product must read it (status_since, else registered_on).
    start: date
    status_since_written: date | None
    management: str
    registration_ends: date | None
    no_fixed_abode: bool
    #: When this person was last in the community before the current status (returned people).
    away_from: date | None
    lapsed_after: date | None
    as_of: date
    #: The practice columns: a plan's visit frequency ("" none), MAPPA category and level
    #: ("" not given), the last supervisor review.
    plan: str = ""
    mappa_category: str = ""
    mappa_level: str = ""
    reviewed: date | None = None

    @property
    def in_scope(self) -> bool:
        """Counted in the active caseload on the as-of date."""
        in_force = self.registered_on <= self.as_of and (
            self.registration_ends is None or self.registration_ends >= self.as_of
        )
        return in_force and self.status not in OUT_OF_SCOPE


def _person(rng: random.Random, i: int, managers: list[_Officer], as_of: date) -> _Person:
    risk = rng.choices(RISKS, RISK_WEIGHTS)[0]
    status = rng.choices(STATUSES, STATUS_WEIGHTS)[0]
    manager = rng.choice(managers)
    r = rng.random()
    if r < 0.01:
        registered_on = as_of + timedelta(days=rng.randint(1, 30))  # not yet in force
        status = "community"
    elif r < 0.04:
        registered_on = as_of - timedelta(days=rng.randint(0, 90))  # newly registered
    else:
        registered_on = as_of - timedelta(days=rng.randint(90, 12 * 365))
    ends = None
    if rng.random() < 0.06:
        ends = registered_on + timedelta(days=rng.randint(365, 12 * 365))  # past or future
    away_from = since_written = None
    start = registered_on
    if status != "community":
        start = since_written = _between(rng, registered_on, as_of)
    elif registered_on < as_of - timedelta(days=200) and rng.random() < 0.12:
        # Back in the community after custody, hospital or abroad: visits before S do not count.
        start = since_written = as_of - timedelta(days=rng.randint(1, 180))
        away_from = start - timedelta(days=rng.randint(30, 700))
        away_from = max(away_from, registered_on)
    elif rng.random() < 0.5:
        since_written = registered_on
    management = "active"
    if status == "community" and risk in ("low", "medium") and rng.random() < 0.1:
        management = "reactive"
    lapsed = None
    if rng.random() < 0.15:
        lapsed = as_of - timedelta(days=rng.randint(20, 420))
    plan = rng.choice(PLANS[risk]) if rng.random() < PLAN_SHARE else ""
    category = "" if rng.random() < 0.03 else "1"
    r = rng.random()
    level = "" if r < 0.05 else "3" if r < 0.06 else "2" if r < 0.15 else "1"
    r = rng.random()  # supervisor reviews: most within the quarter, some late, some never
    reviewed = None if r < 0.08 else as_of - timedelta(days=rng.randint(96, 300) if r < 0.15 else rng.randint(0, 95))
    return _Person(
        ref=f"RSO-{i + 1:07d}",
        risk=risk,
        status=status,
        team=manager.team,
        manager=manager.officer_id,
        registered_on=registered_on,
        start=start,
        status_since_written=since_written,
        management=management,
        registration_ends=ends,
        no_fixed_abode=rng.random() < 0.03,
        away_from=away_from,
        lapsed_after=lapsed,
        as_of=as_of,
        plan=plan,
        mappa_category=category,
        mappa_level=level,
        reviewed=max(reviewed, registered_on) if reviewed is not None else None,
    )


def _offender_cells(fmt: _Writer, p: _Person) -> dict[str, str]:
    rng = fmt.rng
    last_day = min(p.registered_on + timedelta(days=3000), p.as_of)
    assessed = _between(rng, p.registered_on, last_day) if rng.random() < 0.9 else None
    notified = _between(rng, p.registered_on, last_day) if rng.random() < 0.9 else None
    born = date(1950, 1, 1) + timedelta(days=rng.randint(0, 18_000))
    return {
        "ref": p.ref,
        "risk_level": fmt.enum(p.risk),
        "status": fmt.enum(p.status),
        "team": p.team,
        "offender_manager": p.manager,
        "registered_on": fmt.date(p.registered_on),
        "status_since": fmt.date(p.status_since_written),
        "management": fmt.enum(p.management),
        "risk_assessed_on": fmt.date(assessed),
        "last_notified_on": fmt.date(notified),
        "no_fixed_abode": fmt.flag(p.no_fixed_abode),
        "registration_ends": fmt.date(p.registration_ends),
        "surname": f"Fakename{p.ref[-5:]}",
        "forenames": "Testforename",
        "date_of_birth": fmt.date(born),
        "visit_interval": p.plan.lower() if p.plan and rng.random() < 0.2 else p.plan,
        "mappa_category": f"Cat {p.mappa_category}" if p.mappa_category and rng.random() < 0.2 else p.mappa_category,
        "mappa_level": f"Level {p.mappa_level}" if p.mappa_level and rng.random() < 0.2 else p.mappa_level,
        "supervisor_reviewed_on": fmt.date(p.reviewed),
        "local_notes": "see CMS",
    }


def _visit_history(rng: random.Random, p: _Person, history_from: date, as_of: date) -> list[tuple[date, str, str]]:
    """Visits while the person was in the community, at about the risk level's cadence."""
    if p.registered_on > as_of:
        return []
    if p.status != "community":
        spans = [(p.registered_on, p.start)]
    elif p.away_from is not None:
        spans = [(p.registered_on, p.away_from), (p.start, as_of)]
    else:
        spans = [(p.registered_on, as_of)]
    step = INTERVAL_MONTHS[p.risk] * 30.4
    out: list[tuple[date, str, str]] = []
    for first, last in spans:
        if p.lapsed_after is not None:
            last = min(last, p.lapsed_after)
        day = max(first, history_from) + timedelta(days=rng.randint(3, 40))
        while day <= last:
            r = rng.random()
            outcome = "completed" if r < 0.8 else "no_access" if r < 0.93 else "cancelled"
            vtype = "home" if rng.random() < 0.94 else "other"
            out.append((day, outcome, vtype))
            if outcome == "completed" and vtype == "home":
                day += timedelta(days=int(step * rng.uniform(0.62, 1.06)))
            else:
                day += timedelta(days=rng.randint(2, 21))
    if rng.random() < 0.005:
        out.append((as_of + timedelta(days=rng.randint(1, 60)), "completed", "home"))  # recorded ahead
    return out


def _overdue_truth(
    p: _Person, visits: list[tuple[date, str, str]], as_of: date
) -> tuple[str, str, str, int, str | None, int] | None:
    """The contract's due-date rule applied to the values written (None: not overdue)."""
    if not p.in_scope or p.status != "community" or p.management != "active":
        return None
    done = [d for d, o, t in visits if o == "completed" and t == "home" and p.start <= d <= as_of]
    last = max(done) if done else None
    failed = sum(
        1
        for d, o, t in visits
        if o == "no_access" and t == "home" and p.start <= d <= as_of and (last is None or d > last)
    )
    months, days_more = plan_months_days(p.plan) if p.plan else (INTERVAL_MONTHS[p.risk], 0)
    due = add_months(last, months) + timedelta(days=days_more) if last else p.start + timedelta(days=FIRST_VISIT_DAYS)
    days = (as_of - due).days
    if days <= 0:
        return None
    return (p.ref, p.risk, due.isoformat(), days, last.isoformat() if last else None, failed)


def _bad_offenders(
    rng: random.Random,
    fmt: _Writer,
    out: _ShuffledFile,
    order: list[str],
    n: int,
    managers: list[_Officer],
    as_of: date,
) -> list[str]:
    """Rows with fresh refs that the contract rejects; returns their refs (visits may name them)."""
    refs: list[str] = []
    for kind in ("bad_date", "unknown_value", "short_row"):
        for _ in range(n):
            ref = f"RSO-B{len(refs) + 1:06d}"
            refs.append(ref)
            p = _person(rng, 0, managers, as_of)
            cells = _offender_cells(fmt, p)
            cells["ref"] = ref
            if kind == "bad_date":
                cells["registered_on"] = rng.choice(BAD_DATES)
            elif kind == "unknown_value":
                if rng.random() < 0.5:
                    cells["risk_level"] = rng.choice(("Very Very High", "unknown", "tier 2"))
                else:
                    cells["status"] = rng.choice(("prison", "released", "on licence"))
            row = [cells[c] for c in order]
            out.add(row[:2] if kind == "short_row" else row, kind)
    return refs


def _bad_visits(
    rng: random.Random,
    fmt: _Writer,
    out: _ShuffledFile,
    order: list[str],
    n: int,
    people: int,
    bad_refs: list[str],
    as_of: date,
) -> None:
    """Visit rows with fresh ids that the contract rejects (duplicates come from real rows)."""
    seq = 0
    for kind in ("bad_date", "unknown_ref", "unknown_value", "short_row"):
        for k in range(n):
            seq += 1
            cells = {
                "visit_id": f"VIS-B{seq:07d}",
                "ref": f"RSO-{rng.randint(1, people):07d}",
                "visit_date": fmt.visit_date(as_of - timedelta(days=rng.randint(1, 400))),
                "outcome": fmt.enum("completed"),
                "visit_type": fmt.enum("home"),
                "officer": "",
                "second_officer": "",
                "announced": "",
                "source_system": "CMS-A",
            }
            if kind == "bad_date":
                cells["visit_date"] = rng.choice(BAD_DATES)
            elif kind == "unknown_ref":
                # Half name nobody, half a person whose own row was rejected.
                cells["ref"] = rng.choice(bad_refs) if k % 2 else f"RSO-X{seq:06d}"
            elif kind == "unknown_value":
                cells["outcome"] = rng.choice(("Visited", "attempted", "no answer"))
            row = [cells[c] for c in order]
            out.add(row[:2] if kind == "short_row" else row, kind)


def ensure(out_dir: Path, people: int, seed: int = 1, as_of: date = AS_OF) -> tuple[Manifest, bool]:
    """The extract in ``out_dir``, generated unless one with the same parameters is there.

    Returns the manifest and whether it was reused.
    """
    path = out_dir / "manifest.json"
    if path.exists():
        try:
            found = Manifest.load(path)
        except (ValueError, KeyError, TypeError):
            found = None
        if (
            found is not None
            and (found.version, found.people, found.seed, found.as_of) == (VERSION, people, seed, as_of.isoformat())
            and all((out_dir / "extract" / name).exists() for name in found.files)
        ):
            return found, True
    out_dir.mkdir(parents=True, exist_ok=True)
    return generate(out_dir, people, seed, as_of), False


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Write a messy national register extract.")
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--as-of", type=date.fromisoformat, default=AS_OF)
    args = parser.parse_args()
    m = generate(args.out_dir, args.people, args.seed, args.as_of)
    print(json.dumps({k: v for k, v in m.to_json().items() if k != "overdue"}, indent=1)[:3000])
