"""absences.csv: what an import does with officers' time away besides storing the rows.

An absence is keyed by its officer and first day (``fields.absence_key``), not by a
column of its own, so the importer asks here for the key of a raw record (to settle a
repeated one) and, after the file, for the two things only absences need:

* **Officers the directory does not know.** An absence naming an unknown officer is kept
  (a later officers.csv may add them) and the import warns, naming the officer ids only:
  when and how long someone is away is staff data and is never repeated.
* **A full extract** speaks for the whole list of absences, but a force's export usually
  holds only current and future ones, so an absence it leaves out is treated by when it
  falls: one that has ended (before the import's date) is history and stays as it is;
  one that is current or still to come was cancelled, and is marked ``withdrawn_on``
  (kept, never deleted, and no longer taken off the officer's capacity). The mark is
  cleared when a later extract lists it again. Nothing is refused as cut short: absences
  come and go by the week, so no share of them "missing" means damage.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from monitor.register import models
from monitor.register.csvfile import Header, Rows
from monitor.register.fields import ABSENCES, SPECS, Bad, Cells, ParseState, Spec, row_key

#: Officer ids named in one warning before "and N more".
NAMED_IN_WARNING = 10
#: Keys per UPDATE ... WHERE key IN (...): below every bind-parameter limit.
_IN_KEYS = 500


def record_key(state: ParseState, spec: Spec, header: Header) -> Callable[[list[str]], str | None]:
    """The key of a raw record of ``spec``'s file, or None when it has none to make."""

    def key_of(record: list[str]) -> str | None:
        try:
            return row_key(state, spec, Cells(header, record))
        except Bad:
            return None

    return key_of


def after_absences(
    session: Session,
    path: Path,
    header: Header,
    state: ParseState,
    *,
    import_id: int,
    full: bool,
    on: date,
) -> list[str]:
    """After absences.csv's rows were written: withdraw what a full extract left out; warn.

    Returns the warnings for the import's summary. Runs inside the import's transaction.
    """
    warnings: list[str] = []
    if full:
        named = _keys_in_file(path, header, record_key(state, SPECS[ABSENCES], header))
        withdrawn = _withdraw(session, named, on)
        if withdrawn:
            warnings.append(
                f"{path.name}: {withdrawn} current or future absence{'s' if withdrawn != 1 else ''} not in this "
                f"full extract, marked withdrawn on {on.isoformat()} (kept, no longer taken off capacity)"
            )
    unknown = sorted(
        set(
            session.scalars(
                select(models.OfficerAbsence.officer_id).where(
                    models.OfficerAbsence.withdrawn_on.is_(None),
                    models.OfficerAbsence.officer_id.not_in(select(models.Officer.officer_id)),
                )
            )
        )
    )
    if unknown:
        named_ids = ", ".join(unknown[:NAMED_IN_WARNING])
        more = f" and {len(unknown) - NAMED_IN_WARNING} more" if len(unknown) > NAMED_IN_WARNING else ""
        warnings.append(
            f"{path.name}: absences of {len(unknown)} officer{'s' if len(unknown) != 1 else ''} not in the officer "
            f"directory (kept; they count once officers.csv has them): {named_ids}{more}"
        )
    return warnings


def _keys_in_file(path: Path, header: Header, key_of: Callable[[list[str]], str | None]) -> set[str]:
    """Every key the file names, in rows stored or rejected (a rejected row is still listed)."""
    named: set[str] = set()
    rows = Rows(path)
    try:
        items = iter(rows)
        for _line, record, _problem in items:  # up to the header
            if "".join(record).strip():
                break
        for _line, record, problem in items:
            if problem is None and len(record) == header.width and (key := key_of(record)) is not None:
                named.add(key)
    finally:
        rows.close()
    return named


def _withdraw(session: Session, named: set[str], on: date) -> int:
    """Mark current and future absences the full file does not name; how many were marked."""
    model = models.OfficerAbsence
    current = session.scalars(select(model.absence_key).where(model.withdrawn_on.is_(None), model.ends_on >= on)).all()
    missing = sorted(set(current) - named)
    for start in range(0, len(missing), _IN_KEYS):
        chunk = missing[start : start + _IN_KEYS]
        session.execute(update(model).where(model.absence_key.in_(chunk)).values(withdrawn_on=on))
    return len(missing)
