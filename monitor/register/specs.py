"""The extract's contract: which files it has, their columns, and the values each may take.

``SPECS`` is the one statement of which columns each file has, which are required, which
take fixed values (``choices``, ``flags``) or dates, and how they map onto the register's
tables; the importer (``monitor.register.fields`` turns a record into a row by it), the
synthetic generator, a force's mapping check (``monitor.register.contract``) and the docs'
input-format reference all read it from here. Kept apart from ``fields`` so the statement of
the contract is read in one place, without the parsing around it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from monitor.core.config import RISK_LEVELS
from monitor.register import models

OFFICERS, OFFENDERS, VISITS = "officers.csv", "offenders.csv", "visits.csv"
#: Optional: officers' time away, for the planner (monitor.planning).
ABSENCES = "absences.csv"
#: Processing order: officers first, then offenders, then visits (which may refer to
#: offenders from this extract or already in the register); absences last (they name
#: officers, and nothing else depends on them).
FILE_ORDER: tuple[str, ...] = (OFFICERS, OFFENDERS, VISITS, ABSENCES)

STATUSES = ("community", "custody", "hospital", "abroad", "missing", "deceased", "deregistered")
MANAGEMENT = ("active", "reactive")
OUTCOMES = ("completed", "no_access", "cancelled")
VISIT_TYPES = ("home", "other")
ROLES = ("offender_manager", "supervisor", "lead")

#: Fields whose values are never repeated back in reasons, warnings or logs (personal data,
#: and an officer's time away, which is staff data).
NO_ECHO = frozenset(
    {"surname", "forenames", "date_of_birth", "name", "email", "sign_in_id", "starts_on", "ends_on", "fraction"}
)

#: Free text: may hold a tab, invisible formatting marks (right-to-left names) and unusual
#: spaces. Every other column is a code, key, date or choice, where such characters only
#: ever hide a difference ("RSO-1" and "RSO-\u200b1" look alike).
FREE_TEXT = frozenset({"name", "surname", "forenames"})
#: Longest value accepted per column (the register's column sizes); others: ``MAX_LENGTH``.
MAX_LENGTHS: dict[str, int] = {"name": 200, "surname": 200, "forenames": 200, "email": 320, "sign_in_id": 255}
MAX_LENGTH = 64


@dataclass(frozen=True)
class Spec:
    """How one file maps onto one table."""

    name: str
    model: type[models.Base]
    key: str
    required: tuple[str, ...]
    optional: tuple[str, ...]
    #: Values for columns a file does not have, used only when a row is inserted.
    insert_defaults: dict[str, Any]
    #: Stored columns that come from parsing rather than from a CSV column of that name.
    derived: tuple[str, ...] = ()
    #: Columns with a fixed set of values: column -> the values (a force maps its codes onto them).
    choices: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: True/false columns.
    flags: tuple[str, ...] = ()
    #: Date columns (a force's date forms apply to every one; the dry run samples them).
    dates: tuple[str, ...] = ()
    #: When ``key`` is not a column of the file but made from these (see :func:`row_key`).
    key_columns: tuple[str, ...] = ()

    @property
    def known(self) -> tuple[str, ...]:
        return self.required + self.optional

    @property
    def role(self) -> str:
        """The file's name in the configuration: ``offenders`` for offenders.csv."""
        return self.name.removesuffix(".csv")

    @property
    def key_label(self) -> str:
        """The key as a person reads it in a reject ("duplicate officer_id and starts_on")."""
        return " and ".join(self.key_columns) if self.key_columns else self.key

    @property
    def key_field(self) -> str:
        """The column a reject about the key names."""
        return self.key_columns[-1] if self.key_columns else self.key

    @property
    def columns(self) -> tuple[str, ...]:
        """Stored columns compared to decide updated vs unchanged (besides the key)."""
        return tuple(c for c in self.known if c != self.key) + self.derived


OFFENDER_OPTIONAL: tuple[str, ...] = (
    "status_since",
    "management",
    "risk_assessed_on",
    "last_notified_on",
    "no_fixed_abode",
    "registration_ends",
    "surname",
    "forenames",
    "date_of_birth",
    # When someone in custody is expected back in the community (monitor.planning's forecast).
    "expected_release",
)

#: The optional practice-quality columns (docs/practice.md), per file: what inspectors look
#: at besides the backlog. A register that has never had any of them reports exactly as
#: before (``[policy] practice_measures = "auto"``).
PRACTICE_COLUMNS: dict[str, tuple[str, ...]] = {
    "offenders.csv": ("visit_interval", "mappa_category", "mappa_level", "supervisor_reviewed_on"),
    "visits.csv": ("second_officer", "announced"),
}

SPECS: dict[str, Spec] = {
    OFFICERS: Spec(
        name=OFFICERS,
        model=models.Officer,
        key="officer_id",
        required=("officer_id", "name", "email", "team", "role"),
        # sign_in_id: the identity provider's id for the officer (Entra oid, UPN or sub),
        # matched at sign-in when [web] identity_claim is not "email". visits_per_week: the
        # home visits they can lead in a normal week (monitor.planning).
        optional=("active", "sign_in_id", "visits_per_week"),
        insert_defaults={"active": True, "sign_in_id": None, "visits_per_week": None},
        derived=("absent_since",),
        choices={"role": ROLES},
        flags=("active",),
    ),
    OFFENDERS: Spec(
        name=OFFENDERS,
        model=models.Offender,
        key="ref",
        required=("ref", "risk_level", "status", "team", "offender_manager", "registered_on"),
        optional=OFFENDER_OPTIONAL + PRACTICE_COLUMNS["offenders.csv"],
        insert_defaults={
            **dict.fromkeys(OFFENDER_OPTIONAL + PRACTICE_COLUMNS["offenders.csv"], None),
            "management": "active",
            "no_fixed_abode": False,
            "supervisor_review_recorded": None,
        },
        derived=("absent_since", "supervisor_review_recorded"),
        choices={"risk_level": RISK_LEVELS, "status": STATUSES, "management": MANAGEMENT},
        flags=("no_fixed_abode",),
        dates=(
            "registered_on",
            "status_since",
            "risk_assessed_on",
            "last_notified_on",
            "registration_ends",
            "date_of_birth",
            "supervisor_reviewed_on",
            "expected_release",
        ),
    ),
    VISITS: Spec(
        name=VISITS,
        model=models.Visit,
        key="visit_id",
        required=("visit_id", "ref", "visit_date", "outcome"),
        optional=("visit_type", "officer", *PRACTICE_COLUMNS["visits.csv"]),
        derived=("visited_at", "visit_minute", "paired"),
        insert_defaults={
            "visit_type": "home",
            "officer": None,
            "second_officer": None,
            "announced": None,
            "paired": None,
        },
        choices={"outcome": OUTCOMES, "visit_type": VISIT_TYPES},
        flags=("announced",),
        dates=("visit_date",),
    ),
    ABSENCES: Spec(
        name=ABSENCES,
        model=models.OfficerAbsence,
        key="absence_key",
        key_columns=("officer_id", "starts_on"),
        required=("officer_id", "starts_on", "ends_on"),
        optional=("fraction",),
        insert_defaults={"fraction": 1.0},
        derived=("withdrawn_on",),
        dates=("starts_on", "ends_on"),
    ),
}

#: Every column with fixed values, over all files: column -> values (the one statement of them).
CHOICES: dict[str, tuple[str, ...]] = {name: values for spec in SPECS.values() for name, values in spec.choices.items()}
#: Every true/false column, over all files.
FLAGS: frozenset[str] = frozenset(name for spec in SPECS.values() for name in spec.flags)
