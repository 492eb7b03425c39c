"""A synthetic person's visit history: completed visits on their risk interval, backlogs, failed attempts.

The history is what makes obligations interesting: most active community cases are in
time, some are overdue with an age spread like real backlogs, returned people may not have
been seen since they came back, and failed or non-home visits sit after the last good one
(they must not count). Draws continue the generator's one ``random.Random``, person by
person, so the same seed gives the same visits.
"""

from __future__ import annotations

import random

from monitor.synthetic.people import Person, months_back

INTERVAL_MONTHS: dict[str, int] = {"very_high": 1, "high": 3, "medium": 6, "low": 12}
HISTORY_DAYS = 5 * 365  # visit history kept in an extract (about five years)
P_OVERDUE = 0.135  # chance an established active community case is past due (new/returned add the rest)


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


def make_visits(rng: random.Random, p: Person, a: int, om_ids: list[str]) -> list[tuple[int, str, str, str]]:
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
            anchor = months_back(a - _overdue_days(rng), months)
        else:
            anchor = min(a, months_back(a + rng.randint(0, step_days), months))
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
        overdue_ish = anchor is None or months_back(a, months) > anchor
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
