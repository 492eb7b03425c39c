"""Synthetic registers: obviously fake, deterministic, any size.

Why this exists: demos, tests and benchmarks need a register that looks like a real
force's extract (risk mix, caseloads, a backlog with an age spread, people in custody or
missing, returned people, failed visits) without a single real person in it. This module
writes one: ``people`` makes the officers and people, ``visits`` their visit histories,
``extract`` the cells and files (clean, or a messy real-world-style extract).

Determinism: one ``random.Random(seed)`` drives everything, so the same arguments give
byte-identical CSV files (tests and the committed demo register rely on it). The "messy"
decorations use a second generator, so a messy extract describes *exactly* the same
register as the clean one with the same seed, plus a handful of bad rows that the
importer must reject: importing either gives the same obligations.

Rows are streamed to ``csv.writer`` person by person, so a national-size register
(100,000 people, about a million visits) needs only the officer list in memory.
"""

from __future__ import annotations

import random
from datetime import date
from pathlib import Path

from monitor.core.files import private_mkdir
from monitor.register.specs import OFFENDERS, OFFICERS, PRACTICE_COLUMNS, SPECS, VISITS
from monitor.synthetic.absences import write_absences
from monitor.synthetic.extract import Style, open_extract
from monitor.synthetic.people import Officer, make_officers, make_person
from monitor.synthetic.practice import expected_release, person_practice, visit_practice
from monitor.synthetic.visits import make_visits

# The CSV contract's columns, in contract order: the importer's specs are the one source.
# The optional practice-quality columns are written only when asked for (``practice``).
# So is expected_release (custody people's return, for the forecast): the committed demo
# register stays byte for byte the same.
PRACTICE_OFFENDER_COLUMNS: tuple[str, ...] = (*PRACTICE_COLUMNS[OFFENDERS], "expected_release")
PRACTICE_VISIT_COLUMNS: tuple[str, ...] = PRACTICE_COLUMNS[VISITS]
OFFENDER_COLUMNS: tuple[str, ...] = tuple(c for c in SPECS[OFFENDERS].known if c not in PRACTICE_OFFENDER_COLUMNS)
VISIT_COLUMNS: tuple[str, ...] = tuple(c for c in SPECS[VISITS].known if c not in PRACTICE_VISIT_COLUMNS)
# Synthetic officers have no identity provider behind them (the demo signs in locally):
# no sign_in_id column, so the committed demo register stays byte for byte the same.
OFFICER_COLUMNS: tuple[str, ...] = tuple(c for c in SPECS[OFFICERS].known if c != "sign_in_id")


#: Every this many offender managers, one states their capacity in the register (visits a
#: week); the others are planned at their observed pace (monitor.planning).
STATED_CAPACITY_EVERY = 4
STATED_VISITS_PER_WEEK = 3


def _visits_per_week(o: Officer) -> str:
    """officers.csv visits_per_week: stated for a fixed few offender managers, drawn from no random stream
    (so the rest of the register is what it was without the column)."""
    number = o.officer_id.rpartition("-")[2]
    if o.role == "offender_manager" and number.isdigit() and int(number) % STATED_CAPACITY_EVERY == 0:
        return str(STATED_VISITS_PER_WEEK)
    return ""


def generate(
    people: int,
    *,
    seed: int,
    as_of: date,
    out_dir: Path,
    messy: bool = False,
    practice: bool = False,
    absences: bool = False,
) -> dict[str, int]:
    """Write offenders.csv, visits.csv and officers.csv for ``people`` fake people into ``out_dir``.

    Returns the number of data rows written per file, plus ``bad_rows`` (rows the
    importer must reject; 0 unless ``messy``). Same arguments, same bytes. ``practice``
    adds the practice-quality columns (:mod:`monitor.synthetic.practice`), and times to
    most visits, to the same register; ``absences`` writes absences.csv too
    (:mod:`monitor.synthetic.absences`, counted as ``absences``), leaving the rest as it was.
    """
    if people < 1:
        raise ValueError(f"people must be at least 1, got {people}")
    out_dir = Path(out_dir)
    private_mkdir(out_dir)
    rng = random.Random(seed)
    style = Style(random.Random(seed * 7919 + 104729), people) if messy else Style(None, people)
    # Practice draws from a generator of their own: the register is otherwise the same.
    prng = random.Random(seed * 15485863 + 32452843) if practice else None
    a = as_of.toordinal()

    officers, holders = make_officers(rng, people)
    om_ids = [o for o, _ in holders]

    counts = {"offenders": 0, "visits": 0, "officers": 0, "bad_rows": 0}
    with open_extract(out_dir / "officers.csv", messy) as fh:
        w = style.writer(fh)
        w.writerow(style.header(OFFICER_COLUMNS, extra=None))
        for o in officers:
            active = style.boolean(o.active, default=True)
            w.writerow([o.officer_id, o.name, o.email, o.team, o.role, active, _visits_per_week(o)])
            counts["officers"] += 1

    width = max(6, len(str(people + 10)))
    visit_no = 0
    vwidth = 8
    first_visit_id = ""
    with open_extract(out_dir / "offenders.csv", messy) as ofh, open_extract(out_dir / "visits.csv", messy) as vfh:
        ow, vw = style.writer(ofh), style.writer(vfh)
        extra_o = PRACTICE_OFFENDER_COLUMNS if prng is not None else ()
        extra_v = PRACTICE_VISIT_COLUMNS if prng is not None else ()
        ow.writerow(style.header(OFFENDER_COLUMNS + extra_o, extra="Notes"))
        vw.writerow(style.header(VISIT_COLUMNS + extra_v, extra="Source_System"))
        for n in range(1, people + 1):
            p = make_person(rng, n, width, a, holders)
            pp = person_practice(prng, p, a) if prng is not None else None
            release = expected_release(seed, p, a) if prng is not None else None
            ow.writerow(style.offender_row(p, pp, release))
            counts["offenders"] += 1
            for day, outcome, vtype, officer in make_visits(rng, p, a, om_ids):
                visit_no += 1
                vid = f"VIS-{visit_no:0{vwidth}d}"
                first_visit_id = first_visit_id or vid
                made = visit_practice(prng, pp, outcome, vtype, officer, om_ids) if prng and pp else None
                vw.writerow(style.visit_row(vid, p.ref, day, outcome, vtype, officer, made))
                counts["visits"] += 1
        if messy:
            counts["bad_rows"] = style.bad_rows(
                ow, vw, width, a, holders[0], first_visit_id, len(extra_o), len(extra_v)
            )
    if absences:
        counts["absences"] = write_absences(officers, as_of, out_dir)
    return counts
