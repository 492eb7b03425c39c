"""docs/reference/input-format.md: the register extract, from monitor.register.fields.

Which files, which columns, which are required and which is the key come from ``SPECS``;
what each column accepts comes from the import's own parsers: each column of a valid row
(the committed demo register's first) is given a bad value and the reason the importer
would print is shown. What a column *means* is written here (``MEANING``).
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from zoneinfo import ZoneInfo

from tools.reference.common import code, finish, head, table

SEEDS = Path(__file__).resolve().parents[2] / "seeds"

MEANING: dict[str, dict[str, str]] = {
    "officers.csv": {
        "officer_id": "The officer's identifier, as `offender_manager` and a visit's `officer` name them.",
        "name": "The officer's name, as digests address them.",
        "email": "Where their digests go; must be in `[mail] allowed_domains` to be mailed.",
        "team": "The officer's team code (supervisors receive their team's digests).",
        "role": "`offender_manager` (own cases), `supervisor` (a team), `lead` (the force).",
        "active": "`false` for someone who has left: never mailed, refused by the web app.",
        "visits_per_week": (
            "Home visits the officer can lead in a normal week, for the week's plan and the forecast; "
            "blank: their observed pace over the last 12 weeks ([Plan and forecast](../planning.md))."
        ),
        "sign_in_id": (
            "The officer's identifier at the identity provider (Entra ID object id, UPN or `sub`), "
            "matched when `[web] identity_claim` is not `email`; blank for officers who do not sign in "
            "(see [Sign-in](../operate/sign-in.md))."
        ),
    },
    "offenders.csv": {
        "ref": "The case reference (as in ViSOR or the case system). Digests and reports name people only by it.",
        "risk_level": "The current risk level (of serious harm) as the force's assessment records it.",
        "status": (
            "Where the person is now: only `community` owes home visits; `missing` is listed as whereabouts unknown."
        ),
        "team": "The team that manages the case.",
        "offender_manager": "The `officer_id` of the managing officer (not checked against officers.csv).",
        "registered_on": "The day the notification requirements began.",
        "status_since": (
            "The day the current status began (blank: `registered_on`). A return to the community "
            "restarts the first-visit clock."
        ),
        "management": "`active` (default) or `reactive` (no routine home visits; risk reviews still due).",
        "risk_assessed_on": "The last risk assessment (ARMS).",
        "last_notified_on": "The last periodic notification in person (s.85).",
        "no_fixed_abode": "`true` when the person has no fixed abode: they notify weekly.",
        "registration_ends": (
            "The last day of the notification period (blank: indefinite). From the next day they are out of scope."
        ),
        "surname": "Personal data: stored, shown only with `[policy] include_names = true`.",
        "forenames": "Personal data: stored, shown only with `[policy] include_names = true`.",
        "date_of_birth": "Personal data: stored, shown only with `[policy] include_names = true`.",
        "expected_release": (
            "When someone in `custody` is expected back in the community (blank: unknown). The forecast "
            "counts them back that week, owing a first home visit within `first_visit_within`; on anyone "
            "not in custody, or a date already past, it is kept and ignored ([Plan and forecast](../planning.md))."
        ),
        "visit_interval": (
            "The visit frequency set in the person's risk management plan, as an ISO 8601 duration (`P2M`, "
            "`P6W`); it overrides `[policy] intervals` for them. Blank: the risk level's interval."
        ),
        "mappa_category": "MAPPA category 1-4 (`Category 1`, `Cat 2` are read too). Blank: not given.",
        "mappa_level": "MAPPA level 1-3 (`Level 2`, `L3` are read too): levels 2 and 3 are listed first.",
        "supervisor_reviewed_on": (
            "The last supervisor review of the case; blank (with the column present): never reviewed."
        ),
    },
    "visits.csv": {
        "visit_id": "The visit's identifier (unique across the extract).",
        "ref": "The person visited: a `ref` in this extract's offenders.csv or already in the register.",
        "visit_date": "When the visit was made or attempted (a datetime counts as its date in `timezone`).",
        "outcome": (
            "`completed` resets the clock; `no_access` is a failed attempt (counted towards the warrant flag); "
            "`cancelled` counts for nothing."
        ),
        "visit_type": "`home` (default) or `other`: only home visits count.",
        "officer": "The `officer_id` of the officer who made it (optional).",
        "second_officer": (
            "The `officer_id` of the second officer; blank on a completed home visit: a lone visit "
            "([practice measures](../practice.md)). Without the column, pairing is not recorded."
        ),
        "announced": "`true` when the visit was announced beforehand (default false).",
    },
    "absences.csv": {
        "officer_id": "The officer away (an `officer_id`; an unknown one is kept, with a warning).",
        "starts_on": "The first day away.",
        "ends_on": "The last day away (the same day for a single day).",
        "fraction": (
            "The share of each working day away (`0.5` or `50%` for half days); blank: whole days. "
            'Only ever shown as "unavailable": never a reason ([Plan and forecast](../planning.md)).'
        ),
    },
}

BAD = "zz-not-valid!"


#: A valid row for a file the demo register does not ship (absences are the force's own).
EXTRA_BASELINES: dict[str, tuple[list[str], list[str]]] = {
    "absences.csv": (["officer_id", "starts_on", "ends_on", "fraction"], ["OM-0001", "2026-12-07", "2026-12-11", "1"]),
}


def _baseline(name: str) -> tuple[list[str], list[str]]:
    """The header and first data row of the committed demo register's file."""
    if name in EXTRA_BASELINES and not (SEEDS / name).exists():
        return EXTRA_BASELINES[name]
    with open(SEEDS / name, newline="", encoding="utf-8") as fh:
        rows = csv.reader(fh)
        return next(rows), next(rows)


def _reason(name: str, column: str, value: str) -> str:
    """The importer's reason for ``column`` = ``value`` in an otherwise valid row ("" = accepted)."""
    from monitor.extract.mapping import Header
    from monitor.register.cells import Bad, Cells, ParseState
    from monitor.register.fields import PARSERS
    from monitor.register.specs import SPECS

    spec = SPECS[name]
    header_cells, row = _baseline(name)
    values = dict(zip(header_cells, row, strict=True))
    columns = list(spec.known)
    record = [values.get(c, "") for c in columns]
    record[columns.index(column)] = value
    header = Header(name, columns, known=spec.known, required=spec.required)
    state = ParseState(ZoneInfo("Europe/London"))
    state.known_refs.add(values.get("ref", ""))
    try:
        PARSERS[name](state, Cells(header, record))
    except Bad as exc:
        if exc.field == column:
            reason = exc.reason.replace(f" {value!r}", "")
            return re.sub(r",? got\b.*$", "", reason)
    return ""


def accepts(name: str, column: str) -> str:
    """What the importer says it expects when ``column`` holds a bad value ("" = any text)."""
    reason = _reason(name, column, BAD)
    if reason.startswith("unknown ref"):
        return "an existing `ref`: in this extract's offenders.csv or already in the register"
    if "date" in reason:  # a date that must not come before another column's
        order = _reason(name, column, "1900-01-01")
        if order:
            reason += "; " + re.sub(r" \(\d{4}-\d\d-\d\d\)", "", order)
    return reason


def _shown(text: str) -> str:
    text = text.removeprefix("invalid date: ").removeprefix("expected ")
    if text.startswith("one of "):
        return ", ".join(code(v) for v in text.removeprefix("one of ").split(", "))
    return text


def page() -> str:
    from monitor.core.clock import DATE_EXPECTED
    from monitor.register.specs import FILE_ORDER, FREE_TEXT, MAX_LENGTH, MAX_LENGTHS, SPECS

    lines = head(
        "Input format: the register extract",
        "For whoever builds the force's extract (ViSOR or the case system's export) and the operator who "
        "imports it: each file, each column, what is required and what each accepts.",
        "An extract is a folder holding `officers.csv`, `offenders.csv` and `visits.csv` (any of them; "
        "names in any case), imported in that order by `visit-monitor import FOLDER` or dropped into "
        "`[import] drop_dir`. Rows are matched to the register by each file's key: a later extract updates "
        "them, and an extract marked full (`--full`, or a `manifest.json`) also marks whom it leaves out. "
        "The operator guide's import page says how to run an import and what its messages mean.",
    )
    lines += ["## Every file", ""]
    lines += [
        "- **Encoding**: UTF-8, with or without a byte-order mark; LF or CRLF line ends. A row whose bytes "
        "are not UTF-8 is rejected on its own; a UTF-16 file is refused (save it as *CSV UTF-8*).",
        "- **Header**: the first line. Column names are trimmed and matched ignoring case, with spaces and "
        "hyphens read as `_` (`Risk Level`, `Date-of-Birth`). Columns in any order; unknown columns are "
        "ignored with a warning; a missing required column stops the import (nothing changes).",
        f"- **Dates**: {DATE_EXPECTED}. A datetime (ISO 8601 with `Z` or an offset; without one it is "
        "local time; or `DD/MM/YYYY HH:MM`) counts as its date in the configured `timezone`: a visit at "
        "`2026-06-30T23:30:00Z` was on 1 July in London.",
        "- **Choices** (`risk_level`, `status`, ...): case, spaces and hyphens are forgiven (`Very High`, "
        "`very-high` are `very_high`). **True/false**: `true`/`false`, `yes`/`no`, `1`/`0`, `y`/`n`.",
        "- **Blank cells** take the column's default. An optional column that is absent from the file "
        "leaves stored values as they are; present but blank, it clears them.",
        f"- **Lengths**: at most {MAX_LENGTH} characters, except "
        + ", ".join(f"`{c}` {n}" for c, n in sorted(MAX_LENGTHS.items()))
        + ". No control characters anywhere; in codes, keys, dates and choices no invisible formatting "
        "characters either (only " + ", ".join(f"`{c}`" for c in sorted(FREE_TEXT)) + " may hold a tab or bidi marks).",
        "- **Rejected rows**: a row with a problem is rejected (and named with file, line, field and reason); "
        "the others are stored. The same key twice in one file: the second is rejected, naming the first's "
        "line. A row with more or fewer cells than the header is rejected whole.",
        "",
    ]
    for name in FILE_ORDER:
        spec = SPECS[name]
        lines += [f"## {name}", ""]
        key = " and ".join(code(c) for c in spec.key_columns) if spec.key_columns else code(spec.key)
        lines += [f"Key: {key} (one row per key; a later extract updates the row with the same key).", ""]
        rows = []
        for column in spec.known:
            required = "yes" if column in spec.required else "no"
            default = spec.insert_defaults.get(column)
            if column not in spec.required:
                shown = (
                    "blank"
                    if default is None
                    else ("true" if default is True else "false" if default is False else default)
                )
                required += f" (default: {shown})"
            rows.append(
                (
                    code(column),
                    required,
                    _shown(accepts(name, column)) or "any text",
                    MEANING.get(name, {}).get(column, ""),
                )
            )
        lines += table(("Column", "Required", "Accepts", "Meaning"), rows)
    lines += ["## A minimal extract", "", "```"]
    for name in FILE_ORDER:
        header, row = _baseline(name)
        lines += [f"# {name}", ",".join(header), ",".join(row)]
    lines += ["```", ""]
    lines += [
        "These are the first rows of the synthetic demo register shipped in `seeds/` (all fake). "
        "`visit-monitor seed --out DIR` writes a whole register of this shape, `--messy` one in the "
        "untidy form real exports take.",
        "",
    ]
    return finish(lines)


def missing_words() -> list[str]:
    from monitor.register.specs import SPECS

    return [
        f"input column {name}:{column}"
        for name, spec in SPECS.items()
        for column in spec.known
        if column not in MEANING.get(name, {})
    ]
