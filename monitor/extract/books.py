"""The workbooks one import has open, whatever their format, each opened once.

Why a module of its own: an import reads a workbook's sheets through two readers (.xlsx
streamed by :mod:`monitor.extract.workbook`, .xls and .ods by :mod:`monitor.extract.sheets`),
and the register's stages hand one ``Books`` from file to file so a workbook holding
several files' sheets is opened, and its table of texts read, once. Holding both kinds here
keeps the two readers from importing each other.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from monitor.extract.workbook import Workbook

if TYPE_CHECKING:
    from monitor.extract.sheets import CalamineBook

_Book = TypeVar("_Book", bound="Workbook | CalamineBook")


class Books:
    """The workbooks one import has open, each opened once; closed with the import.

    .xlsx through :meth:`get`, .xls and .ods through :meth:`calamine` (``sheets``).
    """

    def __init__(self) -> None:
        self._open: dict[Path, Workbook | CalamineBook] = {}

    def get(self, path: Path) -> Workbook:
        return self._opened(path, Workbook)

    def calamine(self, path: Path) -> CalamineBook:
        from monitor.extract.sheets import CalamineBook  # python-calamine only when one is read

        return self._opened(path, CalamineBook)

    def _opened(self, path: Path, kind: Callable[[Path], _Book]) -> _Book:
        book = self._open.get(path)
        if book is None:
            book = self._open[path] = kind(path)
        return book  # type: ignore[return-value]  # one path, one format: the same kind each time

    def close(self) -> None:
        for book in self._open.values():
            book.close()
        self._open.clear()
