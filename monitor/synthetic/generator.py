"""Synthetic registers: obviously fake, deterministic, any size.

Why this exists: demos, tests and benchmarks need a register that looks like a real
force's extract (risk mix, caseloads, a backlog with an age spread, people in custody or
missing, returned people, failed visits) without a single real person in it. Everything
here is fake on its face: refs ``RSO-000001``, officers ``OM-0001`` / ``DS-01`` /
``LEAD-1`` called "Officer Testname 0001", addresses at ``police.example`` (a reserved,
fictional domain), surnames like "Fakename".

Determinism: one ``random.Random(seed)`` drives everything, so the same arguments give
byte-identical CSV files (tests and the committed demo register rely on it). The "messy"
decorations use a second generator, so a messy extract describes *exactly* the same
register as the clean one with the same seed, plus a handful of bad rows that the
importer must reject: importing either gives the same obligations.

Rows are streamed to ``csv.writer`` person by person, so a national-size register
(100,000 people, about a million visits) needs only the officer list in memory.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from monitor.core.durations import add_months
from monitor.core.files import private_mkdir, private_open
from monitor.register.importer import OFFENDERS, OFFICERS, SPECS, VISITS

# The CSV contract's columns, in contract order: the importer's specs are the one source.
OFFENDER_COLUMNS: tuple[str, ...] = SPECS[OFFENDERS].known
VISIT_COLUMNS: tuple[str, ...] = SPECS[VISITS].known
OFFICER_COLUMNS: tuple[str, ...] = SPECS[OFFICERS].known

#: Obviously fake names: nobody reading a demo can mistake a row for a real person.
SURNAMES: tuple[str, ...] = (
    "Fakename",
    "Testperson",
    "Exampleson",
    "Sampleton",
    "Placeholder",
    "Dummyfield",
    "Mockworth",
    "Fictitious",
    "Madeupson",
    "Notreal",
    "Syntheticson",
    "Pretendley",
    "Imaginary",
    "Specimen",
    "Demoford",
    "Fixtureby",
)
FORENAMES: tuple[str, ...] = (
    "Testy",
    "Sample",
    "Demo",
    "Example",
    "Dummy",
    "Mock",
    "Placeholder",
    "Fixture",
    "Stub",
    "Specimen",
    "Fakey",
    "Notareal",
)

OFFICER_DOMAIN = "police.example"
PARTNER_DOMAIN = "partner.example"  # outside the default allow-list, on purpose
INTERVAL_MONTHS: dict[str, int] = {"very_high": 1, "high": 3, "medium": 6, "low": 12}
CASES_PER_OFFICER = 50
HISTORY_DAYS = 5 * 365  # visit history kept in an extract (about five years)
P_OVERDUE = 0.135  # chance an established active community case is past due (new/returned add the rest)

_LONDON = ZoneInfo("Europe/London")


@dataclass(frozen=True)
class _Officer:
    officer_id: str
    name: str
    email: str
    team: str
    role: str
    active: bool


@dataclass(slots=True)
class _Person:
    ref: str
    risk: str
    status: str
    team: str
    om: str
    registered: int  # date ordinals throughout: cheap to compare and step
    status_since: int | None  # as written (blank means registered_on)
    s: int  # effective S
    away_start: int | None  # returned people: when they left the community
    management: str
    assessed: int | None
    notified: int | None
    nfa: bool
    ends: int | None
    surname: str
    forenames: str
    dob: int


def generate(people: int, *, seed: int, as_of: date, out_dir: Path, messy: bool = False) -> dict[str, int]:
    """Write offenders.csv, visits.csv and officers.csv for ``people`` fake people into ``out_dir``.

    Returns the number of data rows written per file, plus ``bad_rows`` (rows the
    importer must reject; 0 unless ``messy``). Same arguments, same bytes.
    """
    if people < 1:
        raise ValueError(f"people must be at least 1, got {people}")
    out_dir = Path(out_dir)
    private_mkdir(out_dir)
    rng = random.Random(seed)
    style = _Style(random.Random(seed * 7919 + 104729), people) if messy else _Style(None, people)
    a = as_of.toordinal()

    officers, holders = _make_officers(rng, people)
    om_ids = [o for o, _ in holders]

    counts = {"offenders": 0, "visits": 0, "officers": 0, "bad_rows": 0}
    with _open(out_dir / "officers.csv", messy) as fh:
        w = style.writer(fh)
        w.writerow(style.header(OFFICER_COLUMNS, extra=None))
        for o in officers:
            w.writerow([o.officer_id, o.name, o.email, o.team, o.role, style.boolean(o.active, default=True)])
            counts["officers"] += 1

    width = max(6, len(str(people + 10)))
    visit_no = 0
    vwidth = 8
    first_visit_id = ""
    with _open(out_dir / "offenders.csv", messy) as ofh, _open(out_dir / "visits.csv", messy) as vfh:
        ow, vw = style.writer(ofh), style.writer(vfh)
        ow.writerow(style.header(OFFENDER_COLUMNS, extra="Notes"))
        vw.writerow(style.header(VISIT_COLUMNS, extra="Source_System"))
        for n in range(1, people + 1):
            p = _make_person(rng, n, width, a, holders)
            ow.writerow(style.offender_row(p))
            counts["offenders"] += 1
            for day, outcome, vtype, officer in _make_visits(rng, p, a, om_ids):
                visit_no += 1
                vid = f"VIS-{visit_no:0{vwidth}d}"
                first_visit_id = first_visit_id or vid
                vw.writerow(style.visit_row(vid, p.ref, day, outcome, vtype, officer))
                counts["visits"] += 1
        if messy:
            counts["bad_rows"] = style.bad_rows(ow, vw, width, a, holders[0], first_visit_id)
    return counts


# --- officers ---------------------------------------------------------------------------


def _make_officers(rng: random.Random, people: int) -> tuple[list[_Officer], list[tuple[str, str]]]:
    """Teams of 6-8 offender managers with one or two supervisors; one or two leads.

    Returns every officer (in file order) and the case-holding offender managers as
    (officer_id, team). A few officers are inactive (some still holding cases, as in real
    directories where reassignment lags) and a few have addresses outside the allow-list.
    """
    n_om = max(1, round(people / CASES_PER_OFFICER))
    # About seven per team, spread evenly so no team is a stub.
    n_teams = max(1, round(n_om / 7))
    sizes = [n_om // n_teams + (1 if i < n_om % n_teams else 0) for i in range(n_teams)]
    rng.shuffle(sizes)
    tw = max(2, len(str(n_teams)))
    leavers = max(1, n_om // 100)
    ow = max(4, len(str(n_om + leavers)))
    supervisors_per_team = [rng.choice((1, 1, 2)) for _ in sizes]
    dw = max(2, len(str(sum(supervisors_per_team))))

    officers: list[_Officer] = []
    holders: list[tuple[str, str]] = []
    om_no = ds_no = 0
    for t, size in enumerate(sizes, start=1):
        team = f"TEAM-{t:0{tw}d}"
        for _ in range(supervisors_per_team[t - 1]):
            ds_no += 1
            num = f"{ds_no:0{dw}d}"
            officers.append(
                _Officer(
                    f"DS-{num}", f"Sergeant Testname {num}", _email(rng, "sergeant", num), team, "supervisor", True
                )
            )
        for _ in range(size):
            om_no += 1
            num = f"{om_no:0{ow}d}"
            officers.append(
                _Officer(
                    f"OM-{num}", f"Officer Testname {num}", _email(rng, "officer", num), team, "offender_manager", True
                )
            )
            holders.append((f"OM-{num}", team))
    # Leavers: inactive, no cases (the directory still lists them).
    for _ in range(leavers):
        om_no += 1
        num = f"{om_no:0{ow}d}"
        team = f"TEAM-{rng.randint(1, n_teams):0{tw}d}"
        officers.append(
            _Officer(
                f"OM-{num}", f"Officer Testname {num}", _email(rng, "officer", num), team, "offender_manager", False
            )
        )
    # Inactive but still holding cases: digests to them must be blocked, the team still sees the cases.
    if n_om >= 10:
        for i in rng.sample(range(len(officers)), k=max(1, n_om // 200)):
            o = officers[i]
            if o.role == "offender_manager":
                officers[i] = _Officer(o.officer_id, o.name, o.email, o.team, o.role, False)
    # At least one address outside the allow-list, so every register exercises the check.
    if len(holders) >= 2 and not any(o.email.endswith("@" + PARTNER_DOMAIN) for o in officers):
        ids = {oid for oid, _ in holders}
        i = rng.choice([i for i, o in enumerate(officers) if o.officer_id in ids])
        o = officers[i]
        email = o.email.replace("@" + OFFICER_DOMAIN, "@" + PARTNER_DOMAIN)
        officers[i] = _Officer(o.officer_id, o.name, email, o.team, o.role, o.active)
    for k in range(1, rng.choice((1, 2)) + 1):
        officers.append(
            _Officer(
                f"LEAD-{k}", f"Superintendent Testname {k}", f"lead.testname.{k}@{OFFICER_DOMAIN}", "HQ", "lead", True
            )
        )
    return officers, holders


def _email(rng: random.Random, rank: str, num: str) -> str:
    domain = PARTNER_DOMAIN if rng.random() < 0.02 else OFFICER_DOMAIN
    return f"{rank}.testname.{num}@{domain}"


# --- people -----------------------------------------------------------------------------


def _months_back(day: int, months: int) -> int:
    return add_months(date.fromordinal(day), -months).toordinal()


def _years_on(day: int, years: int) -> int:
    return add_months(date.fromordinal(day), 12 * years).toordinal()


def _make_person(rng: random.Random, n: int, width: int, a: int, holders: list[tuple[str, str]]) -> _Person:
    ref = f"RSO-{n:0{width}d}"
    r = rng.random()
    risk = "very_high" if r < 0.02 else "high" if r < 0.20 else "medium" if r < 0.50 else "low"
    om, team = holders[rng.randrange(len(holders))]
    registered = a - rng.randint(0, 120) if rng.random() < 0.04 else a - rng.randint(121, 15 * 365)
    boundary = rng.random()
    if 0.005 <= boundary < 0.008:
        registered = a  # boundary: registered today (in scope, first visit due in 28 days)

    r = rng.random()
    status = (
        "community"
        if r < 0.875
        else "custody"
        if r < 0.935
        else "hospital"
        if r < 0.945
        else "abroad"
        if r < 0.955
        else "missing"
        if r < 0.965
        else "deceased"
        if r < 0.975
        else "deregistered"
    )

    ends: int | None = None
    if rng.random() < 0.2:
        ends = _years_on(registered, rng.choice((5, 7, 10, 15))) - 1
        if ends < a and status != "deceased" and rng.random() < 0.7:
            status = "deregistered"
    if boundary < 0.005:
        ends = a  # boundary: the last day of the notification period is today (still in scope)

    status_since: int | None = None
    away_start: int | None = None
    span = a - registered
    if status == "community":
        r = rng.random()
        if r < 0.12 and span >= 400:
            # Returned from custody, hospital or abroad; a third of them recently.
            s = a - rng.randint(0, 60) if rng.random() < 0.35 else rng.randint(registered + 200, a)
            away_start = s - rng.randint(20, min(900, s - registered - 30))
            status_since = s
        elif r < 0.45:
            status_since = registered
    elif status in ("custody", "hospital", "abroad", "missing"):
        status_since = a - rng.randint(0, min(span, 700 if status == "missing" else 1500))
    elif status == "deregistered" and ends is not None and ends < a:
        status_since = ends + 1
    else:
        status_since = rng.randint(registered, a)
    s = status_since if status_since is not None else registered

    management = "reactive" if risk in ("low", "medium") and rng.random() < 0.10 else "active"
    nfa = status in ("community", "missing") and rng.random() < 0.02

    assessed: int | None
    if (registered > a - 120 and rng.random() < 0.7) or rng.random() < 0.01:
        assessed = None
    elif away_start is not None and a - s < 90 and rng.random() < 0.6:
        assessed = rng.randint(max(registered, away_start - 500), away_start)  # before leaving: A < S
    elif away_start is not None:
        assessed = a - rng.randint(0, min(360, a - s))  # reassessed since return
    elif rng.random() < 0.08:
        assessed = _months_back(a, 12) - rng.randint(1, 200)
    else:
        assessed = a - rng.randint(0, 360)
    if assessed is not None:
        assessed = max(assessed, registered)

    notified: int | None
    if nfa:
        notified = a - rng.randint(0, 6) if rng.random() < 0.8 else a - rng.randint(8, 40)
    elif registered > a - 365 and rng.random() < 0.8:
        notified = None
    elif away_start is not None and a - s < 60 and rng.random() < 0.6:
        notified = rng.randint(max(registered, away_start - 300), away_start)  # fell due while away
    elif away_start is not None:
        notified = a - rng.randint(0, min(364, a - s))  # notified since return
    elif rng.random() < 0.03:
        notified = _months_back(a, 12) - rng.randint(1, 120)
    else:
        notified = a - rng.randint(0, 364)
    if notified is not None:
        notified = max(notified, registered)

    surname = rng.choice(SURNAMES)
    forenames = rng.choice(FORENAMES)
    if rng.random() < 0.3:
        forenames += " " + rng.choice(FORENAMES)
    dob = a - rng.randint(18 * 365, 85 * 365)
    return _Person(
        ref,
        risk,
        status,
        team,
        om,
        registered,
        status_since,
        s,
        away_start,
        management,
        assessed,
        notified,
        nfa,
        ends,
        surname,
        forenames,
        dob,
    )


# --- visits -----------------------------------------------------------------------------


def _overdue_days(rng: random.Random) -> int:
    """An age spread like real backlogs: most recent, a long tail past 90 days."""
    r = rng.random()
    if r < 0.30:
        return rng.randint(1, 7)
    if r < 0.60:
        return rng.randint(8, 28)
    if r < 0.85:
        return rng.randint(29, 90)
    return rng.randint(91, 400)


def _make_visits(rng: random.Random, p: _Person, a: int, om_ids: list[str]) -> list[tuple[int, str, str, str]]:
    """The person's visit history, oldest first: (date ordinal, outcome, type, officer)."""
    months = INTERVAL_MONTHS[p.risk]
    step_days = int(months * 30.44)
    s = p.s
    hist_start = max(p.registered + 7, a - HISTORY_DAYS)
    out: list[tuple[int, str, str]] = []
    anchor: int | None = None  # V: latest completed home visit since S (community, active)
    chain_from: int | None = None
    chain_type = "home"

    if p.status == "community" and p.management == "active" and s <= a:
        if a - s < 120:
            # New or recently returned: first visit within the window, or not yet.
            if rng.random() < 0.55:
                anchor = rng.randint(s, min(a, s + 35))
        elif rng.random() < P_OVERDUE:
            anchor = _months_back(a - _overdue_days(rng), months)
        else:
            anchor = min(a, _months_back(a + rng.randint(0, step_days), months))
        if anchor is not None and anchor < s:
            # Not visited since return: the window has passed (a sore point in real backlogs).
            anchor = None if a - s < 300 and rng.random() < 0.3 else rng.randint(s, a)
        if anchor is not None and p.away_start is not None and a - s <= step_days and rng.random() < 0.1:
            anchor = s  # boundary: first visit on the day of return
        if anchor is not None:
            chain_from = anchor
        elif p.away_start is not None:
            chain_from = p.away_start - rng.randint(1, 60)
    elif p.status == "community":  # reactive: occasional contact, rarely at home
        chain_from, step_days, chain_type = a - rng.randint(0, 365), 365, "mixed"
    else:  # away, missing, deceased, deregistered: history up to the status change
        chain_from = s - rng.randint(1, step_days)

    t = chain_from
    while t is not None and (t >= hist_start or t == anchor):
        vtype = chain_type if chain_type == "home" else ("home" if rng.random() < 0.2 else "other")
        out.append((t, "completed", vtype))
        r = rng.random()
        if r < 0.08:
            out.append((t - rng.randint(1, 14), "no_access", "home"))
        elif r < 0.12:
            out.append((t - rng.randint(1, 20), "cancelled", "home"))
        elif r < 0.17:
            out.append((t - rng.randint(1, 40), "completed", "other"))
        t -= int(step_days * rng.uniform(0.8, 1.05))
        if p.away_start is not None and p.away_start <= t < s:
            t = p.away_start - rng.randint(1, 30)

    if anchor is not None or (p.status == "community" and p.management == "active"):
        after = anchor if anchor is not None else s - 1  # attempts strictly after V, or on/after S
        overdue_ish = anchor is None or _months_back(a, months) > anchor
        if after < a:
            if rng.random() < (0.4 if overdue_ish else 0.05):
                for _ in range(rng.randint(1, 3)):
                    out.append((rng.randint(after + 1, a), "no_access", "home"))
            if rng.random() < 0.06:
                out.append((rng.randint(after + 1, a), "completed", "other"))
            if rng.random() < 0.04:
                out.append((rng.randint(after + 1, a), "cancelled", "home"))
        if anchor is not None and rng.random() < 0.02:
            out.append((anchor, "no_access", "home"))  # same day as V: not "since" it
    elif p.status == "missing" and s < a and rng.random() < 0.6:
        for _ in range(rng.randint(1, 3)):
            out.append((rng.randint(s, a), "no_access", "home"))  # officers found them gone

    out = [v for v in out if p.registered <= v[0] <= a]
    out.sort(key=lambda v: v[0])
    result: list[tuple[int, str, str, str]] = []
    for day, outcome, vtype in out:
        r = rng.random()
        officer = p.om if r < 0.85 else "" if r < 0.87 else om_ids[rng.randrange(len(om_ids))]
        result.append((day, outcome, vtype, officer))
    return result


# --- writing: clean and messy -----------------------------------------------------------


def _open(path: Path, messy: bool) -> IO[str]:
    # newline="" so csv's lineterminator is written as given (LF clean, CRLF messy).
    return private_open(path, "w", encoding="utf-8-sig" if messy else "utf-8", newline="")


_RISK_SPELLINGS: dict[str, tuple[str, ...]] = {
    "very_high": ("Very High", "VERY HIGH", "very-high", "Very_High", "very high"),
    "high": ("High", "HIGH", " high"),
    "medium": ("Medium", "MEDIUM", "medium "),
    "low": ("Low", "LOW", "low"),
}


class _Style:
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

    def offender_row(self, p: _Person) -> list[str]:
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
        if self.rng is not None:
            row.append(self.rng.choice(("", "", "n/a", "see case file", "migrated 2019")))
        return row

    def visit_row(self, vid: str, ref: str, day: int, outcome: str, vtype: str, officer: str) -> list[str]:
        if self.rng is None:
            return [vid, ref, date.fromordinal(day).isoformat(), outcome, vtype, officer]
        r = self.rng.random()
        if r < 0.15:
            cell = self._utc_datetime(day)
        elif r < 0.20:
            cell = f"{date.fromordinal(day).isoformat()} {self.rng.randint(8, 21):02d}:{self.rng.randint(0, 59):02d}"
        else:
            cell = self.day(day)
        if vtype == "home" and self.rng.random() < 0.5:
            vtype = ""
        return [vid, ref, cell, outcome, vtype, officer, self.rng.choice(("", "CMS", "ViSOR-export"))]

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

    def bad_rows(self, ow: Any, vw: Any, width: int, a: int, holder: tuple[str, str], first_vid: str) -> int:
        """Rows a correct importer rejects (and names): each is extra, so the good register is unchanged."""
        om, team = holder
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
            ow.writerow(row)
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
            vw.writerow(row)
        return len(rows_o) + len(rows_v)
