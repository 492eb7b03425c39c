"""The two ways reading an extract stops, below every reader and the importer that reports them."""

from __future__ import annotations


class Unreadable(Exception):
    """A whole file cannot be read (not CSV or not a workbook, wrong encoding, a bad header).

    The message names the file and never holds a cell's value.
    """


class NoExtract(Unreadable):
    """The folder is not usable as an extract: nothing to read, or two files for one role."""
