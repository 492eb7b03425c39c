"""Who is in a synthetic register: its officers and its people, all obviously fake.

Demos, tests and benchmarks need a register that looks like a real force's (risk mix,
caseloads, people in custody or missing, returned people, inactive officers still holding
cases, an address outside the allow-list) without a single real person in it. Everything
here is fake on its face: refs ``RSO-000001``, officers ``OM-0001`` / ``DS-01`` /
``LEAD-1`` called "Officer Testname 0001", addresses at ``police.example`` (a reserved,
fictional domain), surnames like "Fakename". Draws come from the generator's one
``random.Random`` in a fixed order, so the same seed gives the same people.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date

from monitor.core.durations import add_months

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
CASES_PER_OFFICER = 50


@dataclass(frozen=True)
class Officer:
    """One row of officers.csv."""

    officer_id: str
    name: str
    email: str
    team: str
    role: str
    active: bool


@dataclass(slots=True)
class Person:
    """One fake person: their offenders.csv row, plus what their visit history is drawn from."""

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


def make_officers(rng: random.Random, people: int) -> tuple[list[Officer], list[tuple[str, str]]]:
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

    officers: list[Officer] = []
    holders: list[tuple[str, str]] = []
    om_no = ds_no = 0
    for t, size in enumerate(sizes, start=1):
        team = f"TEAM-{t:0{tw}d}"
        for _ in range(supervisors_per_team[t - 1]):
            ds_no += 1
            num = f"{ds_no:0{dw}d}"
            officers.append(
                Officer(f"DS-{num}", f"Sergeant Testname {num}", _email(rng, "sergeant", num), team, "supervisor", True)
            )
        for _ in range(size):
            om_no += 1
            num = f"{om_no:0{ow}d}"
            officers.append(
                Officer(
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
            Officer(
                f"OM-{num}", f"Officer Testname {num}", _email(rng, "officer", num), team, "offender_manager", False
            )
        )
    # Inactive but still holding cases: digests to them must be blocked, the team still sees the cases.
    if n_om >= 10:
        for i in rng.sample(range(len(officers)), k=max(1, n_om // 200)):
            o = officers[i]
            if o.role == "offender_manager":
                officers[i] = Officer(o.officer_id, o.name, o.email, o.team, o.role, False)
    # At least one address outside the allow-list, so every register exercises the check.
    if len(holders) >= 2 and not any(o.email.endswith("@" + PARTNER_DOMAIN) for o in officers):
        ids = {oid for oid, _ in holders}
        i = rng.choice([i for i, o in enumerate(officers) if o.officer_id in ids])
        o = officers[i]
        email = o.email.replace("@" + OFFICER_DOMAIN, "@" + PARTNER_DOMAIN)
        officers[i] = Officer(o.officer_id, o.name, email, o.team, o.role, o.active)
    for k in range(1, rng.choice((1, 2)) + 1):
        officers.append(
            Officer(
                f"LEAD-{k}", f"Superintendent Testname {k}", f"lead.testname.{k}@{OFFICER_DOMAIN}", "HQ", "lead", True
            )
        )
    return officers, holders


def _email(rng: random.Random, rank: str, num: str) -> str:
    domain = PARTNER_DOMAIN if rng.random() < 0.02 else OFFICER_DOMAIN
    return f"{rank}.testname.{num}@{domain}"


def months_back(day: int, months: int) -> int:
    return add_months(date.fromordinal(day), -months).toordinal()


def _years_on(day: int, years: int) -> int:
    return add_months(date.fromordinal(day), 12 * years).toordinal()


def make_person(rng: random.Random, n: int, width: int, a: int, holders: list[tuple[str, str]]) -> Person:
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
        assessed = months_back(a, 12) - rng.randint(1, 200)
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
        notified = months_back(a, 12) - rng.randint(1, 120)
    else:
        notified = a - rng.randint(0, 364)
    if notified is not None:
        notified = max(notified, registered)

    surname = rng.choice(SURNAMES)
    forenames = rng.choice(FORENAMES)
    if rng.random() < 0.3:
        forenames += " " + rng.choice(FORENAMES)
    dob = a - rng.randint(18 * 365, 85 * 365)
    return Person(
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
