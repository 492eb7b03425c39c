"""absences.csv: what an import does with officers' time away besides storing the rows.

An absence is keyed by its officer and first day (``fields.absence_key``), not by a
column of its own, so the importer asks here for the key of a raw record (to settle a
repeated one, and to note every absence a full extract names) and, after the file, for the
two things only absences need:

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

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from monitor.extract.mapping import Header
from monitor.register import models
from monitor.register.cells import Bad, Cells, ParseState
from monitor.register.fields import row_key
from monitor.register.specs import Spec

#: Officer ids named in one warning before "and N more".
NAMED_IN_WARNING = 10
#: Keys per UPDATE ... WHERE key IN (...): below every bind-parameter limit.
_IN_KEYS = 500


def record_key(
    state: ParseState,
    spec: Spec,
    header: Header,
    translate: Callable[[list[str]], list[str]] | None = None,
) -> Callable[[list[str]], str | None]:
    """The key of a raw record of ``spec``'s file, or None when it has none to make.

    ``translate`` is the header's translation of the force's codes (``Header.translate``),
    applied as the importer applies it before a record becomes cells (to a copy: it
    translates in place).
    """

    def key_of(record: list[str]) -> str | None:
        try:
            return row_key(state, spec, Cells(header, translate(list(record)) if translate is not None else record))
        except Bad:
            return None

    return key_of


def after_absences(
    session: Session,
    label: str,
    named: set[str] | None,
    *,
    on: date,
    dry: bool = False,
) -> list[str]:
    """After absences.csv's rows were written: withdraw what a full extract left out; warn.

    ``named`` holds every key the full extract's file names (rows stored or rejected: a
    rejected row is still listed), collected by the importer as it read the file; None for
    an ordinary import. A dry run (``import --check``) counts what would be withdrawn and
    writes nothing. Returns the warnings for the import's summary. Runs inside the import's
    transaction.
    """
    warnings: list[str] = []
    if named is not None:
        withdrawn = _withdraw(session, named, on, dry=dry)
        if withdrawn:
            would = "would be marked" if dry else "marked"
            warnings.append(
                f"{label}: {withdrawn} current or future absence{'s' if withdrawn != 1 else ''} not in this "
                f"full extract, {would} withdrawn on {on.isoformat()} (kept, no longer taken off capacity)"
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
            f"{label}: absences of {len(unknown)} officer{'s' if len(unknown) != 1 else ''} not in the officer "
            f"directory (kept; they count once officers.csv has them): {named_ids}{more}"
        )
    return warnings


def _withdraw(session: Session, named: set[str], on: date, *, dry: bool) -> int:
    """Mark current and future absences the full file does not name; how many were (or would be) marked."""
    model = models.OfficerAbsence
    current = session.scalars(select(model.absence_key).where(model.withdrawn_on.is_(None), model.ends_on >= on)).all()
    missing = sorted(set(current) - named)
    if dry:
        return len(missing)
    for start in range(0, len(missing), _IN_KEYS):
        chunk = missing[start : start + _IN_KEYS]
        session.execute(update(model).where(model.absence_key.in_(chunk)).values(withdrawn_on=on))
    return len(missing)
