"""Converters from the contract's CSV to the shapes forces deliver, written for the tests alone.

Nothing here comes from the product's mapping code: each converter holds its own table of
headers and codes, written from the two example mappings' *documentation* (the docs page
and the comments of config/examples/), so a test that imports a converted register with
the example configuration checks the mapping against an independent statement of it.

* :func:`to_workbook`: a spreadsheet-style export, one workbook "RSO Register 2026-03.xlsx"
  with sheets "Nominals", "Visit Log" and "Officers", friendly headers, VH/H/M/L, Y/N,
  Excel date cells, an extra column holding a formula, and empty formatted rows at the end.
* :func:`to_records_csv`: a records-system-style extract, cp1252 with CRLF, upper-case
  headers, DD-MON-YYYY dates, short codes, and an older delivery beside the newest.
"""

from __future__ import annotations

import csv
import os
from datetime import date
from pathlib import Path

MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")

#: Accented names the converted registers carry (written into the contract CSV first).
ACCENTED = ("Siân", "Zoë", "Zoë Siân", "Ffion Siân", "Renée")


def read(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def add_accents(contract: Path) -> None:
    """Give every fifth person an accented forename, in the contract CSV itself."""
    rows = read(contract / "offenders.csv")
    for i, row in enumerate(rows):
        if i % 5 == 0:
            row["forenames"] = ACCENTED[(i // 5) % len(ACCENTED)]
    with open(contract / "offenders.csv", "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def _day(text: str) -> date | None:
    return date.fromisoformat(text) if text else None


# --------------------------------------------------------------------------- the workbook

SHEET_OFFENDERS = {
    "ref": "Nominal Ref",
    "risk_level": "Risk Level (RM2000)",
    "status": "Status",
    "team": "Team",
    "offender_manager": "OM",
    "registered_on": "Registered",
    "status_since": "Status Since",
    "management": "Management",
    "risk_assessed_on": "Last ARMS",
    "last_notified_on": "Last Notified",
    "no_fixed_abode": "NFA",
    "registration_ends": "Registration Ends",
    "surname": "Surname",
    "forenames": "Forename(s)",
    "date_of_birth": "DOB",
}
SHEET_VISITS = {
    "visit_id": "Visit No",
    "ref": "Nominal Ref",
    "visit_date": "Date of Visit",
    "outcome": "Result",
    "visit_type": "Type",
    "officer": "Officer",
}
SHEET_OFFICERS = {
    "officer_id": "Collar No",
    "name": "Name",
    "email": "Email",
    "team": "Team",
    "role": "Role",
    "visits_per_week": "Visits a Week",
}
RISK_CODES = {"very_high": "VH", "high": "H", "medium": "M", "low": "L"}
OUTCOME_WORDS = {"completed": "Seen", "no_access": "No Answer", "cancelled": "Cancelled"}
TYPE_WORDS = {"home": "Home Visit", "other": "Other", "": None}
ROLE_CODES = {"offender_manager": "OM", "supervisor": "DS", "lead": "DI"}
DATES = ("registered_on", "status_since", "risk_assessed_on", "last_notified_on", "registration_ends", "date_of_birth")


def _offender_cells(row: dict[str, str]) -> list[object]:
    out: list[object] = []
    for column in SHEET_OFFENDERS:
        value = row.get(column, "")
        if column in DATES or column == "visit_date":
            out.append(_day(value))
        elif column == "risk_level":
            out.append(RISK_CODES[value])
        elif column == "no_fixed_abode":
            out.append({"true": "Y", "false": "N", "": None}[value])
        elif column in ("status", "management"):
            out.append(value.title() if value else None)
        else:
            out.append(value or None)
    return out


def to_workbook(contract: Path, out: Path, name: str = "RSO Register 2026-03.xlsx") -> Path:
    from openpyxl import Workbook

    out.mkdir(parents=True, exist_ok=True)
    book = Workbook(write_only=True)
    nominals = book.create_sheet("Nominals")
    nominals.append([*SHEET_OFFENDERS.values(), "Days Registered"])
    for n, row in enumerate(read(contract / "offenders.csv"), start=2):
        nominals.append([*_offender_cells(row), f"=TODAY()-F{n}"])
    for _ in range(3):
        nominals.append([None, None, None])  # formatted, empty: Excel keeps such rows
    log = book.create_sheet("Visit Log")
    log.append(list(SHEET_VISITS.values()))
    for row in read(contract / "visits.csv"):
        log.append(
            [
                row["visit_id"],
                row["ref"],
                _day(row["visit_date"]),
                OUTCOME_WORDS[row["outcome"]],
                TYPE_WORDS[row.get("visit_type", "")],
                row.get("officer") or None,
            ]
        )
    staff = book.create_sheet("Officers")
    staff.append([*SHEET_OFFICERS.values(), "Active"])
    for row in read(contract / "officers.csv"):
        active = {"true": "Yes", "false": "No", "": None}[row.get("active", "")]
        pace = row.get("visits_per_week", "")
        staff.append(
            [
                row["officer_id"],
                row["name"],
                row["email"],
                row["team"],
                ROLE_CODES[row["role"]],
                int(pace) if pace else None,  # a number cell: read as text without ".0"
                active,
            ]
        )
    path = out / name
    book.save(path)
    return path


# --------------------------------------------------------------------------- the records system

CSV_OFFENDERS = {
    "ref": "NOMINAL_ID",
    "risk_level": "RISK_LEVEL",
    "status": "CURRENT_STATUS",
    "team": "UNIT",
    "offender_manager": "OM_STAFF_ID",
    "registered_on": "REG_DATE",
    "status_since": "STATUS_DATE",
    "management": "MGMT_TYPE",
    "risk_assessed_on": "ARMS_DATE",
    "last_notified_on": "LAST_NOTIFICATION",
    "no_fixed_abode": "NFA_FLAG",
    "registration_ends": "REG_END_DATE",
    "surname": "SURNAME",
    "forenames": "FORENAMES",
    "date_of_birth": "DOB",
}
CSV_VISITS = {
    "visit_id": "CONTACT_ID",
    "ref": "NOMINAL_ID",
    "visit_date": "CONTACT_DATE",
    "outcome": "CONTACT_OUTCOME",
    "visit_type": "CONTACT_TYPE",
    "officer": "STAFF_ID",
}
CSV_OFFICERS = {
    "officer_id": "STAFF_ID",
    "name": "STAFF_NAME",
    "email": "EMAIL_ADDRESS",
    "team": "UNIT",
    "role": "STAFF_ROLE",
    "active": "ACTIVE_FLAG",
    "visits_per_week": "WEEKLY_VISITS",
}
STATUS_CODES = {
    "community": "COMM",
    "custody": "CUST",
    "hospital": "HOSP",
    "abroad": "ABRD",
    "missing": "MISS",
    "deceased": "DECD",
    "deregistered": "DEREG",
}
CODES: dict[str, dict[str, str]] = {
    "risk_level": {"very_high": "VERY HIGH", "high": "HIGH", "medium": "MEDIUM", "low": "LOW"},
    "status": STATUS_CODES,
    "management": {"active": "ACT", "reactive": "REACT", "": ""},
    "outcome": {"completed": "COMP", "no_access": "NOACC", "cancelled": "CANC"},
    "visit_type": {"home": "HV", "other": "OTH", "": ""},
    "role": ROLE_CODES,
    "no_fixed_abode": {"true": "Y", "false": "N", "": ""},
    "active": {"true": "Y", "false": "N", "": ""},
}


def _records_cell(column: str, value: str) -> str:
    if column in CODES:
        return CODES[column][value]
    if column in DATES or column == "visit_date":
        day = _day(value)
        return f"{day.day:02d}-{MONTHS[day.month - 1]}-{day.year}" if day else ""
    return value


def _write_cp1252(path: Path, columns: dict[str, str], rows: list[dict[str, str]]) -> None:
    with open(path, "w", encoding="cp1252", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(columns.values())
        for row in rows:
            writer.writerow([_records_cell(c, row.get(c, "")) for c in columns])


def to_records_csv(contract: Path, out: Path, stamp: str = "20260305") -> None:
    out.mkdir(parents=True, exist_ok=True)
    # An older delivery, kept in the folder: the newest file of each kind is the one read.
    for name, columns in (("NOMINALS", CSV_OFFENDERS), ("CONTACTS", CSV_VISITS), ("STAFF", CSV_OFFICERS)):
        old = out / f"{name}_20260201.csv"
        _write_cp1252(old, columns, [])
        os.utime(old, (1_700_000_000, 1_700_000_000))
    _write_cp1252(out / f"NOMINALS_{stamp}.csv", CSV_OFFENDERS, read(contract / "offenders.csv"))
    _write_cp1252(out / f"CONTACTS_{stamp}.csv", CSV_VISITS, read(contract / "visits.csv"))
    _write_cp1252(out / f"STAFF_{stamp}.csv", CSV_OFFICERS, read(contract / "officers.csv"))
