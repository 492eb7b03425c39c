"""Duplicate keys within one file, found in memory that does not grow with the file.

Why: a key seen twice in one file is rejected with the line it was first seen on, which
needs every key of the file so far. Kept in a dict, a national visits file (1.1 million
visit ids at 100,000 people, 3.3 million at 300,000) held 150 to 450 MB of strings: the
whole import was several times the size of everything else it keeps. Instead:

* :class:`FirstSeen` is a Bloom filter: a fixed bit array (16 bits per key the file's size
  suggests, four probes) that answers "certainly not seen" for almost every row, and
  "maybe seen" for true duplicates and for about one row in 400 besides.
* The importer holds the "maybe" rows back (parsed, not written) and, after the file,
  settles them with :func:`first_lines`: one more pass over the file that notes the first
  line of just those keys. A held row whose key first appears on an earlier line is a
  duplicate; otherwise it was the first after all and is written then.

The answer is exactly what the dict gave (tests/register/test_import_dedupe.py checks that against
one with a filter so small that nearly every row is held), at a few MB whatever the size.

A workbook costs far more to read twice than a CSV file (a national visits sheet is a
minute of XML parsing), so for one the main pass also writes each record's line and key
to a :class:`KeySpool`, a temporary file, and the settling pass reads that instead.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable

from monitor.extract.books import Books
from monitor.extract.mapping import Header
from monitor.extract.records import Source

#: Bits of filter per key the file's size suggests (~0.25 % of new keys held back).
BITS_PER_KEY = 16
#: Bytes per row assumed when sizing from the file (a visit row is about 60 to 70 bytes).
BYTES_PER_ROW = 32
#: Smallest and largest filter, in bits (8 KB to 64 MB).
MIN_BITS = 1 << 16
MAX_BITS = 1 << 29


class FirstSeen:
    """A Bloom filter of the keys of one file; see the module docstring."""

    __slots__ = ("_bits", "_mask")

    def __init__(self, bits: int):
        size = MIN_BITS
        while size < min(bits, MAX_BITS):
            size <<= 1
        self._bits = bytearray(size >> 3)
        self._mask = size - 1

    @classmethod
    def for_file(cls, source: Source) -> FirstSeen:
        return cls(source.size_hint() // BYTES_PER_ROW * BITS_PER_KEY)

    def add(self, key: str) -> bool:
        """Note ``key``; True when it may have been noted before (always, if it was)."""
        h = hash(key)
        a = h & 0xFFFFFFFF
        b = ((h >> 32) & 0xFFFFFFFF) | 1
        bits, mask = self._bits, self._mask
        seen = True
        for p in (a & mask, (a + b) & mask, (a + 2 * b) & mask, (a + 3 * b) & mask):
            byte, bit = p >> 3, 1 << (p & 7)
            if not bits[byte] & bit:
                bits[byte] |= bit
                seen = False
        return seen


class KeySpool:
    """Each counted record's line and key, on disk, for the settling pass (see the module docstring).

    Only keys that could have been held are kept: a key that is not printable fails the
    field checks, so it never is. The file is private and gone when closed.
    """

    def __init__(self) -> None:
        self._fh = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()

    def add(self, line: int, key: str) -> None:
        if key.isprintable():
            self._fh.write(f"{line} {key}\n".encode())

    def first_lines(self, wanted: set[str], until: int) -> dict[str, int]:
        found: dict[str, int] = {}
        self._fh.seek(0)
        for raw in self._fh:
            number, _space, key = raw.decode().rstrip("\n").partition(" ")
            line = int(number)
            if line > until:
                break
            if key in wanted and key not in found:
                found[key] = line
                if len(found) == len(wanted):
                    break
        return found

    def close(self) -> None:
        self._fh.close()


def first_lines(
    source: Source,
    encoding: str,
    header: Header,
    key: str,
    wanted: set[str],
    until: int,
    books: Books | None = None,
    spool: KeySpool | None = None,
    key_of: Callable[[list[str]], str | None] | None = None,
) -> dict[str, int]:
    """The first physical line on which each of ``wanted`` is a row's key.

    A line counts as the importer counts it: a record that was read, with as many values
    as the header, whatever its other values. (Every wanted key passed the field checks
    when it was held, so a cell equal to one passes them too.) The pass stops at the last
    held line, ``until``: no first occurrence can come after it. ``key_of`` makes the key
    of a record whose key is not one column (None when it cannot be made).
    """
    if spool is not None:
        return spool.first_lines(wanted, until)
    found: dict[str, int] = {}
    position, width = (-1 if key_of else header.positions[key]), header.width
    rows = source.open(encoding, books)
    try:
        items = iter(rows)
        for _line, record, _problem in items:  # up to the header
            if "".join(record).strip():
                break
        for line, record, problem in items:
            if line > until:
                break
            if problem is None and len(record) == width:
                value = key_of(record) if key_of else record[position].strip()
                if value in wanted and value not in found:
                    found[value] = line
                    if len(found) == len(wanted):
                        break
    finally:
        rows.close()
    return found
