"""Reading one extract file: bytes to records, forgiving about form, loud about damage.

Extracts come from case-management systems and spreadsheets, so the reader accepts a BOM,
CRLF line ends and headers in any case or spacing ("Visit Date" is ``visit_date``), and
numbers every record by the physical line it starts on, so a reject points at the line a
person sees in an editor. Damage costs only the record it is in: bytes that are not UTF-8,
a giant line or a stray quote reject that record and reading goes on. What stops the
import is damage to the whole file: an unreadable or UTF-16 file, a bad header, a missing
required column, a quote still open at the end. Values are not looked at here: that is
``fields``.
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


#: Bytes of one physical line read at once. A longer line is cut there, the rest of it is
#: skipped and its record rejected, so one giant line cannot exhaust memory.
LINE_LIMIT = 1 << 20
#: Characters one quoted value may reach across lines before the csv module stops it (it
#: only catches runaway quotes: every stored column is far shorter, see ``fields``).
FIELD_LIMIT = 4 * LINE_LIMIT

_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


class Rows:
    """A CSV file read record by record, with the physical line each record starts on.

    Iterating yields ``(line, cells, problem)``. ``problem`` is None for a record that was
    read, else why it cannot be (bytes that are not UTF-8, a line over ``LINE_LIMIT``, a
    stray quote): that record is rejected and reading goes on with the next line. Bytes
    are decoded line by line, so a bad byte costs its own record and the line numbers
    stay right. Only a quote left open at the end of the file stops the import: it would
    have swallowed every row after it.
    """

    def __init__(self, path: Path):
        self.path = path
        self.name = path.name
        if csv.field_size_limit() < FIELD_LIMIT:
            csv.field_size_limit(FIELD_LIMIT)  # process-wide, and only ever raised
        try:
            self._fh = open(path, "rb")  # noqa: SIM115 - closed in close()
        except OSError as exc:
            raise ImportFailure(f"{self.name}: cannot be read ({exc.strerror or exc})") from None
        #: Physical lines that could not be read as they are: line -> reason.
        self.bad_lines: dict[int, str] = {}
        self._eof = False
        # strict: a quote in the wrong place is an error, not a guess.
        self._reader = csv.reader(self._lines(), strict=True)
        self.line_num = 0

    def _lines(self) -> Iterator[str]:
        """Physical lines as text for the csv module (which counts them in ``line_num``)."""
        readline = self._fh.readline
        number = 0
        while raw := readline(LINE_LIMIT):
            number += 1
            if number == 1:
                if raw.startswith(_UTF16_BOMS):
                    raise ImportFailure(
                        f"{self.name}: UTF-16 text; the extract must be UTF-8 (in Excel: save as 'CSV UTF-8')"
                    )
                if raw.startswith(_UTF8_BOM):
                    raw = raw[3:]
            if len(raw) == LINE_LIMIT and not raw.endswith(b"\n"):
                while (rest := readline(LINE_LIMIT)) and not rest.endswith(b"\n"):
                    pass
                self.bad_lines[number] = f"line {number} is longer than {LINE_LIMIT // 1024} KiB"
                yield raw.decode("utf-8", "replace") + "\n"
                continue
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError:
                self.bad_lines[number] = f"not valid UTF-8 text (line {number})"
                yield raw.decode("utf-8", "replace")
        self._eof = True

    def __iter__(self) -> Iterator[tuple[int, list[str], str | None]]:
        reader = self._reader
        bad = self.bad_lines
        while True:
            start = reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                self.line_num = reader.line_num
                if self._eof:
                    raise ImportFailure(
                        f"{self.name}: malformed CSV: a quote opened in the record starting on line {start} "
                        "is never closed (is the file cut short?)"
                    ) from None
                yield start, [], self._damage(start) or _csv_problem(exc)
                continue
            self.line_num = reader.line_num
            yield start, cells, self._damage(start) if bad else None

    def _damage(self, start: int) -> str | None:
        """Why a line of the record from ``start`` to the current line could not be read."""
        bad = self.bad_lines
        return next((bad[n] for n in range(start, self.line_num + 1) if n in bad), None)

    def close(self) -> None:
        self._fh.close()


def _csv_problem(exc: csv.Error) -> str:
    text = str(exc)
    if "field limit" in text:
        return f"a value longer than {FIELD_LIMIT // (1 << 20)} MiB (a quote left open?)"
    return f"malformed CSV ({text})"


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
        if any("\x00" in cell for cell in cells):
            raise ImportFailure(f"{name}: the header holds NUL characters: not UTF-8 text (UTF-16 without a BOM?)")
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
        for line, record, problem in rows:
            if problem is not None:
                raise ImportFailure(f"{path.name}: cannot read the header (line {line}): {problem}")
            if "".join(record).strip():
                return Header(path.name, record, known=known, required=required)
        raise ImportFailure(f"{path.name}: empty file (expected a header line with {', '.join(required)})")
    finally:
        rows.close()
