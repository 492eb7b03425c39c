"""Reading one extract file: bytes to records, forgiving about form, loud about damage.

Extracts come from case-management systems and spreadsheets, so the reader accepts a BOM,
CRLF line ends and headers in any case or spacing ("Visit Date" is ``visit_date``), and
numbers every record by the physical line it starts on, so a reject points at the line a
person sees in an editor. What it cannot read (not UTF-8, an unclosed quote, a missing
required column) stops the import with the file and line named. Values are not looked at
here: that is ``fields``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from monitor.register.results import ImportFailure


def normalise_token(text: str) -> str:
    """``"Very High"``, ``"very-high"``, ``" VERY_HIGH "`` -> ``"very_high"`` (headers too)."""
    lowered = text.strip().lower().replace("-", "_").replace(" ", "_")
    if "__" in lowered:
        lowered = "_".join(part for part in lowered.split("_") if part)
    return lowered


class Rows:
    """A CSV file read record by record with the physical line each record starts on."""

    def __init__(self, path: Path):
        self.path = path
        self.name = path.name
        try:
            self._fh = open(path, encoding="utf-8-sig", newline="")  # noqa: SIM115 - closed in close()
        except OSError as exc:
            raise ImportFailure(f"{self.name}: cannot be read ({exc.strerror or exc})") from None
        # strict: an unclosed quote fails loudly instead of swallowing the rest of the file.
        self._reader = csv.reader(self._fh, strict=True)
        self.line_num = 0

    def __iter__(self) -> Iterator[tuple[int, list[str]]]:
        while True:
            start = self._reader.line_num + 1
            try:
                record = next(self._reader)
            except StopIteration:
                return
            except UnicodeDecodeError:
                raise ImportFailure(f"{self.name}: not UTF-8 text (line {_first_bad_utf8_line(self.path)})") from None
            except csv.Error as exc:
                raise ImportFailure(
                    f"{self.name}: malformed CSV in the record starting on line {start} ({exc})"
                ) from None
            self.line_num = self._reader.line_num
            yield start, record

    def close(self) -> None:
        self._fh.close()


def _first_bad_utf8_line(path: Path) -> int:
    """The physical line holding the first invalid UTF-8 (the decoder reads ahead in blocks)."""
    with open(path, "rb") as fh:
        for number, raw in enumerate(fh, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                return number
    return 0


def physical_lines(path: Path) -> int:
    """Count lines cheaply (bytes), for the progress bar's total."""
    lines, last = 0, b""
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            lines += block.count(b"\n")
            last = block
    return lines + (1 if last and not last.endswith(b"\n") else 0)


class Header:
    """A file's header: which known column sits at which position."""

    def __init__(self, name: str, cells: list[str], *, known: tuple[str, ...], required: tuple[str, ...]):
        self.positions: dict[str, int] = {}
        self.width = len(cells)
        self.warnings: list[str] = []
        seen: set[str] = set()
        for pos, raw in enumerate(cells):
            col = normalise_token(raw)
            if not col:
                self.warnings.append(f"{name}: ignoring the unnamed column {pos + 1}")
                continue
            if col in seen:
                raise ImportFailure(f"{name}: column {col!r} appears twice in the header")
            seen.add(col)
            if col in known:
                self.positions[col] = pos
            else:
                self.warnings.append(f"{name}: ignoring unknown column {col!r}")
        for col in required:
            if col not in self.positions:
                raise ImportFailure(f"{name}: missing required column {col!r} (required: {', '.join(required)})")
        self.present = frozenset(self.positions)


def read_header(path: Path, *, known: tuple[str, ...], required: tuple[str, ...]) -> Header:
    """The first non-blank record of ``path`` as a Header; fails on an empty file."""
    rows = Rows(path)
    try:
        for _line, record in rows:
            if any(c.strip() for c in record):
                return Header(path.name, record, known=known, required=required)
        raise ImportFailure(f"{path.name}: empty file (expected a header line with {', '.join(required)})")
    finally:
        rows.close()
