"""Reading one CSV file: bytes in the declared encoding to records, forgiving about form, loud about damage.

Extracts come from case-management systems, BI tools and spreadsheets, so the reader accepts
a BOM, CRLF line ends and any encoding that writes ASCII as ASCII (``[import] encoding``:
UTF-8 by default, cp1252 for a CSV saved by Excel on Windows), and numbers every record by
the physical line it starts on, so a reject points at the line a person sees in an editor.

Damage to one record costs only that record: a giant line or a stray quote rejects it and
reading goes on. Damage to the file stops the import (:class:`Unreadable`): a UTF-16 file, a
quote still open at the end, and a line that is not valid in the declared encoding - that
is a file in another encoding, and importing its other rows would drop every person with an
accent in their name ("Siân", "Zoë") while seeming to work. A UTF-8 BOM is the file saying
it is UTF-8, and is believed whatever the configuration says. A file declared in a
single-byte encoding whose accented lines are all valid UTF-8 gets a warning (``SiÃ¢n``).
Values are not looked at here: that is ``monitor.register.fields``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from monitor.extract.errors import Unreadable

#: Bytes of one physical line read at once. A longer line is cut there, the rest of it is
#: skipped and its record rejected, so one giant line cannot exhaust memory.
LINE_LIMIT = 1 << 20
#: Characters one quoted value may reach across lines before the csv module stops it (it
#: only catches runaway quotes: every stored column is far shorter, see ``fields``).
FIELD_LIMIT = 4 * LINE_LIMIT

_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def encoding_label(encoding: str) -> str:
    return "UTF-8" if encoding == "utf-8" else encoding


class Rows:
    """A CSV file read record by record, with the physical line each record starts on.

    Iterating yields ``(line, cells, problem)``. ``problem`` is None for a record that was
    read, else why it cannot be (a line over ``LINE_LIMIT``, a stray quote): that record is
    rejected and reading goes on with the next line. Bytes are decoded line by line in
    ``encoding``; a line that is not valid in it stops the import (see the module docstring).
    """

    def __init__(self, path: Path, *, encoding: str = "utf-8"):
        self.path = path
        self.name = path.name
        self.encoding = encoding
        self.warnings: list[str] = []
        if csv.field_size_limit() < FIELD_LIMIT:
            csv.field_size_limit(FIELD_LIMIT)  # process-wide, and only ever raised
        try:
            self._fh = open(path, "rb")  # noqa: SIM115 - closed in close()
        except OSError as exc:
            raise Unreadable(f"{self.name}: cannot be read ({exc.strerror or exc})") from None
        #: Physical lines that could not be read as they are: line -> reason.
        self.bad_lines: dict[int, str] = {}
        self._eof = False
        # strict: a quote in the wrong place is an error, not a guess.
        self._reader = csv.reader(self._lines(), strict=True)
        self.line_num = 0

    def _lines(self) -> Iterator[str]:
        """Physical lines as text for the csv module (which counts them in ``line_num``)."""
        readline = self._fh.readline
        encoding = self.encoding
        single_byte = encoding != "utf-8"
        accented = as_utf8 = 0  # lines with bytes over 127, and those of them valid UTF-8
        number = 0
        while raw := readline(LINE_LIMIT):
            number += 1
            if number == 1:
                if raw.startswith(_UTF16_BOMS):
                    raise Unreadable(
                        f"{self.name}: UTF-16 text; the extract must be {encoding_label(encoding)} "
                        "(in Excel: save as 'CSV UTF-8')"
                    )
                if raw.startswith(_UTF8_BOM):
                    raw = raw[3:]
                    encoding, single_byte = "utf-8", False  # the file says what it is
            if len(raw) == LINE_LIMIT and not raw.endswith(b"\n"):
                while (rest := readline(LINE_LIMIT)) and not rest.endswith(b"\n"):
                    pass
                self.bad_lines[number] = f"line {number} is longer than {LINE_LIMIT // 1024} KiB"
                yield raw.decode(encoding, "replace") + "\n"
                continue
            try:
                text = raw.decode(encoding)
            except UnicodeDecodeError as exc:
                raise Unreadable(self._not_in(encoding, number, raw[exc.start])) from None
            if single_byte and not text.isascii():
                accented += 1
                as_utf8 += _valid_utf8(raw)
            yield text
        if accented and as_utf8 == accented:
            self.warnings.append(
                f"{self.name}: read as {encoding}, but all {accented} lines with accented letters are valid UTF-8: "
                'if names look wrong (SiÃ¢n for Siân), set [import] encoding = "utf-8"'
            )
        self._eof = True

    def _not_in(self, encoding: str, line: int, byte: int) -> str:
        hint = (
            'set [import] encoding to the file\'s (a CSV saved by Excel on Windows is usually "cp1252") '
            "or save it as CSV UTF-8"
        )
        return f"{self.name}: line {line} is not valid {encoding_label(encoding)} text (byte 0x{byte:02X}): {hint}"

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
                    raise Unreadable(
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


def _valid_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


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
