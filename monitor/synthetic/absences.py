"""absences.csv for a synthetic register: a few offender managers away, on a fixed pattern.

Why a fixed pattern and no random stream: the demo and the planner's tests want time away
to show (a plan with less capacity this week, a forecast with a dip) without changing a
single other byte of the register, so the people, visits and officers are what they are
without the file. Which officers are away follows their number, and when follows the
extract's date: someone away the whole week holding it, someone half the next fortnight,
someone back last week (only their past pace is affected) and someone away a month later.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path

from monitor.register.specs import ABSENCES, SPECS
from monitor.synthetic.extract import open_extract
from monitor.synthetic.people import Officer

ABSENCE_COLUMNS: tuple[str, ...] = SPECS[ABSENCES].known

#: Offender managers numbered ``n`` with ``n % EVERY`` in the table are away: (first day in
#: weeks from the extract's Monday, days, fraction). Small registers get some too.
EVERY = 12
PATTERN: dict[int, tuple[int, int, str]] = {
    2: (0, 7, "1"),  # away the whole of this week
    5: (1, 14, "0.5"),  # part time the next fortnight
    8: (-2, 5, "1"),  # away a week, back last week
    11: (4, 28, "1"),  # a month away from four weeks on
}


def write_absences(officers: Sequence[Officer], as_of: date, out_dir: Path) -> int:
    """Write ``out_dir/absences.csv``; return its number of data rows."""
    monday = as_of - timedelta(days=as_of.weekday())
    rows: list[tuple[str, str, str, str]] = []
    for o in officers:
        number = o.officer_id.rpartition("-")[2]
        if o.role != "offender_manager" or not number.isdigit():
            continue
        away = PATTERN.get(int(number) % EVERY)
        if away is not None:
            week, days, fraction = away
            first = monday + timedelta(weeks=week)
            rows.append((o.officer_id, first.isoformat(), (first + timedelta(days=days - 1)).isoformat(), fraction))
    with open_extract(out_dir / ABSENCES, messy=False) as fh:
        fh.write(",".join(ABSENCE_COLUMNS) + "\n")
        for row in rows:
            fh.write(",".join(row) + "\n")
    return len(rows)
