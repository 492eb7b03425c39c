"""What reading an .xlsx register costs: openpyxl and python-calamine alone, and the import of it.

Why: issue 21 lets a force deliver its register as Excel workbooks; reading them must not
cost more than the library's own reading does. This writes a synthetic register (the
generator's contract CSV) once more as three workbooks (offenders.xlsx, visits.xlsx,
officers.xlsx: contract headers, dates as Excel date cells), then measures, each as a
whole child process with its own peak memory (``spawn.py``):

    openpyxl read-only      every cell of the three workbooks (load_workbook, iter_rows, values only)
    openpyxl parser         the same through openpyxl's worksheet parser, as the product reads them
    python-calamine         the same cells (iter_rows)
    import (CSV)            visit-monitor import of the contract CSV, into a fresh SQLite file
    import (xlsx)           visit-monitor import of the workbooks, into another

and prints the import's extra cost for workbooks beside openpyxl's own read time.

    .venv/bin/python benchmarks/workbook_read.py --people 100000 --dir /tmp/wb [--runs 1]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
import sys
from datetime import date
from pathlib import Path

from measure import Children, median_of

READ_OPENPYXL = """
import sys, openpyxl
cells = 0
for path in sys.argv[1:]:
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    sheet = book.worksheets[0]
    sheet.reset_dimensions()
    for row in sheet.iter_rows(values_only=True):
        cells += len(row)
    book.close()
print(cells)
"""
READ_PARSER = """
import sys
from openpyxl.reader.excel import ExcelReader
from openpyxl.styles.stylesheet import apply_stylesheet
from openpyxl.worksheet._reader import WorkSheetParser
cells = 0
for path in sys.argv[1:]:
    reader = ExcelReader(path, read_only=True, data_only=True, keep_links=False)
    reader.read_manifest(); reader.read_strings(); reader.read_workbook()
    apply_stylesheet(reader.archive, reader.wb)
    for sheet, rel in reader.parser.find_sheets():
        with reader.archive.open(rel.target) as source:
            parser = WorkSheetParser(source, reader.shared_strings, data_only=True, epoch=reader.wb.epoch,
                                     date_formats=reader.wb._date_formats,
                                     timedelta_formats=reader.wb._timedelta_formats)
            for _row, values in parser.parse():
                cells += len(values)
    reader.archive.close()
print(cells)
"""
READ_CALAMINE = """
import sys, python_calamine
cells = 0
for path in sys.argv[1:]:
    book = python_calamine.CalamineWorkbook.from_path(path)
    for row in book.get_sheet_by_index(0).iter_rows():
        cells += len(row)
print(cells)
"""
DATES = ("registered_on", "status_since", "risk_assessed_on", "last_notified_on", "registration_ends", "date_of_birth")


def write_workbooks(contract: Path, out: Path) -> None:
    from openpyxl import Workbook

    out.mkdir(parents=True, exist_ok=True)
    for name in ("officers", "offenders", "visits"):
        book = Workbook(write_only=True)
        sheet = book.create_sheet(name)
        with open(contract / f"{name}.csv", encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader)
            sheet.append(header)
            dated = [i for i, h in enumerate(header) if h in DATES or h == "visit_date"]
            for row in reader:
                cells: list[object] = [c or None for c in row]
                for i in dated:
                    if row[i]:
                        cells[i] = date.fromisoformat(row[i])
                sheet.append(cells)
        book.save(out / f"{name}.xlsx")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument(
        "--steps",
        default="openpyxl,openpyxl parser,calamine,import csv,import xlsx",
        help="which of the five to run (comma-separated)",
    )
    args = parser.parse_args()
    root = args.dir.resolve()
    contract, books = root / "contract", root / "workbooks"
    if not (books / "visits.xlsx").exists():
        from monitor.synthetic.generator import generate

        shutil.rmtree(root, ignore_errors=True)
        generate(args.people, seed=1, as_of=date(2026, 3, 5), out_dir=contract)
        write_workbooks(contract, books)
    paths = [str(books / f"{n}.xlsx") for n in ("officers", "offenders", "visits")]
    vm = str(Path(sys.executable).with_name("visit-monitor"))
    children = Children(root, dict(os.environ))
    steps = [s.strip() for s in args.steps.split(",")]
    runs: dict[str, list] = {k: [] for k in steps}
    readers = {"openpyxl": READ_OPENPYXL, "openpyxl parser": READ_PARSER, "calamine": READ_CALAMINE}
    for n in range(args.runs):
        for label, script in readers.items():
            if label in steps:
                runs[label].append(children.run(label.replace(" ", "-"), [sys.executable, "-c", script, *paths]))
        for label, folder in (("import csv", contract), ("import xlsx", books)):
            if label not in steps:
                continue
            db = root / f"{label.replace(' ', '-')}-{n}.db"
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)
            env = {**os.environ, "MONITOR_DATABASE_URL": f"sqlite:///{db}"}
            step = Children(root, env)
            step.run("upgrade", [vm, "db", "upgrade"])
            runs[label].append(step.run(label.replace(" ", "-"), [vm, "import", str(folder)]))
    table = {k: median_of(v) for k, v in runs.items()}
    for label, measure in table.items():
        code = runs[label][-1].returncode
        print(
            f"{label:16} {measure.seconds:8.2f} s  CPU {measure.cpu_seconds:8.2f} s  peak {measure.peak_mb:7.0f} MB  "
            f"exit {code}"
        )
    if "import xlsx" in table and "import csv" in table:
        extra = table["import xlsx"].seconds - table["import csv"].seconds
        cpu = (table["import xlsx"].cpu_seconds or 0) - (table["import csv"].cpu_seconds or 0)
        for reader in ("openpyxl", "openpyxl parser"):
            if reader in table:
                own, own_cpu = table[reader].seconds, table[reader].cpu_seconds or 1
                print(
                    f"xlsx import - CSV import = {extra:.2f} s = {extra / own:.2f}x {reader}'s own read ({own:.2f} s); "
                    f"CPU {cpu:.2f} s = {cpu / own_cpu:.2f}x ({own_cpu:.2f} s)"
                )
        print(f"import xlsx / import csv = {table['import xlsx'].seconds / table['import csv'].seconds:.2f}x")
    (root / "workbook_read.json").write_text(
        json.dumps({k: v.to_json() for k, v in table.items()}, indent=1), encoding="utf-8"
    )


if __name__ == "__main__":
    main()
