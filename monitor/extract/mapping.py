"""A force's headers and codes, mapped onto the contract's fields and values.

A force's extract says "Nominal Ref" for ``ref`` and "VH" for ``very_high``. The configuration
says so once (``[import.columns.<file>]``, ``[import.values.<field>]``) and this module
applies it to any file and any field alike: it knows no field by name, the register passes
in the contract's (``monitor.register.specs.SPECS``), so a column added to the contract is
mappable the day it is added.

Rules, each so that nothing is guessed:

* A header matches when it is equal once trimmed, case-folded, and with spaces and hyphens
  read as ``_`` (``Risk Level`` is ``risk_level``), the rule the contract's own headers follow.
* A field the configuration maps is found only under its candidate headers, the first
  present winning; a field it does not map only under its contract name.
* A code is matched trimmed, case-folded, with inner spaces single (``very  high`` = ``Very
  High``); a code the map does not hold reaches the field as it is, where the contract's
  own spellings are read and anything else rejects the row, naming the codes the map knows.
* A required field with no column stops the import in one line naming what was looked for
  and what the header holds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from monitor.core.import_settings import code_key
from monitor.extract.errors import Unreadable

#: Distinct cells remembered per value map (codes repeat; a handful per column).
_SEEN_MAX = 10_000
#: Header texts named in a message before "and N more".
_SHOWN_HEADERS = 30


def normalise_token(text: str) -> str:
    """``"Very High"``, ``"very-high"``, ``" VERY_HIGH "`` -> ``"very_high"`` (headers too)."""
    lowered = text.strip().lower().replace("-", "_").replace(" ", "_")
    if "__" in lowered:
        lowered = "_".join(part for part in lowered.split("_") if part)
    return lowered


def shown(text: str, limit: int = 40) -> str:
    """A header or code short enough to repeat in a message."""
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


class ValueMap:
    """One field's codes: the force's code -> the contract's value (see the module docstring)."""

    __slots__ = ("_by_key", "_pairs", "_seen", "codes", "field")

    def __init__(self, field: str, codes: Mapping[str, str]):
        self.field = field
        #: The codes as the configuration writes them, for messages.
        self.codes: tuple[str, ...] = tuple(codes)
        self._pairs = tuple(codes.items())
        self._by_key = {code_key(code): value for code, value in codes.items()}
        self._seen: dict[str, str] = {}

    def __call__(self, cell: str) -> str:
        hit = self._seen.get(cell)
        if hit is None:
            hit = self._by_key.get(code_key(cell), cell)
            if len(self._seen) < _SEEN_MAX:
                self._seen[cell] = hit
        return hit

    def pairs(self) -> tuple[tuple[str, str], ...]:
        """(the force's code, the contract's value), as configured."""
        return self._pairs

    def describe(self) -> str:
        """``[import.values.risk_level] maps VH, H, M, L`` for a reject reason."""
        named = ", ".join(self.codes[:20]) + (f" and {len(self.codes) - 20} more" if len(self.codes) > 20 else "")
        return f"[import.values.{self.field}] maps {named}"


@dataclass(frozen=True)
class FileMapping:
    """What the configuration says about one file: its columns, and the value maps of its fields."""

    #: The configuration's name for the file ("offenders" in ``[import.columns.offenders]``).
    role: str = ""
    #: Contract field -> the force's candidate headers, in order.
    columns: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: Contract field -> its value map.
    values: Mapping[str, ValueMap] = field(default_factory=dict)


class Header:
    """A file's header: which field sits at which position, and how its cells are translated."""

    def __init__(
        self,
        name: str,
        cells: list[str],
        *,
        known: Sequence[str],
        required: Sequence[str],
        mapping: FileMapping | None = None,
    ):
        mapping = mapping or FileMapping()
        self.name = name
        self.width = len(cells)
        self.warnings: list[str] = []
        if any("\x00" in cell for cell in cells):
            raise Unreadable(f"{name}: the header holds NUL characters: not text (UTF-16 without a BOM?)")
        tokens = [normalise_token(cell) for cell in cells]
        self.positions: dict[str, int] = {}
        for field_name in known:
            wanted = mapping.columns.get(field_name, (field_name,))
            for candidate in wanted:
                hits = [i for i, t in enumerate(tokens) if t == normalise_token(candidate)]
                if len(hits) > 1:
                    raise Unreadable(f"{name}: column {tokens[hits[0]]!r} appears twice in the header")
                if hits:
                    taken = next((f for f, p in self.positions.items() if p == hits[0]), None)
                    if taken is not None:
                        raise Unreadable(
                            f"{name}: the column {shown(cells[hits[0]].strip())} would be both {taken} and "
                            f"{field_name} (see [import.columns.{mapping.role}])"
                        )
                    self.positions[field_name] = hits[0]
                    break
        used = set(self.positions.values())
        for pos, token in enumerate(tokens):
            if pos in used:
                continue
            if not token:
                self.warnings.append(f"{name}: ignoring the unnamed column {pos + 1}")
            else:
                self.warnings.append(f"{name}: ignoring unknown column {token!r}")
        missing = [f for f in required if f not in self.positions]
        if missing:
            raise Unreadable(self._missing(missing, required, cells, mapping))
        self.present = frozenset(self.positions)
        #: Which header became which field, in the file's order (for the dry run).
        self.matched: list[tuple[str, str | None]] = [
            (cell.strip(), next((f for f, p in self.positions.items() if p == pos), None))
            for pos, cell in enumerate(cells)
        ]
        self.value_maps: dict[str, ValueMap] = {f: m for f, m in mapping.values.items() if f in self.positions}
        self._translate = tuple((self.positions[f], m) for f, m in self.value_maps.items())

    def _missing(self, missing: list[str], required: Sequence[str], cells: list[str], mapping: FileMapping) -> str:
        looked = []
        for field_name in missing:
            candidates = mapping.columns.get(field_name)
            if candidates:
                heads = " or ".join(f'"{c}"' for c in candidates)
                looked.append(f"{field_name!r} (mapped to {heads} in [import.columns.{mapping.role}])")
            else:
                looked.append(repr(field_name))
        found = [shown(c.strip()) for c in cells if c.strip()]
        more = f" and {len(found) - _SHOWN_HEADERS} more" if len(found) > _SHOWN_HEADERS else ""
        columns = "column" if len(missing) == 1 else "columns"
        return (
            f"{self.name}: missing required {columns} {', '.join(looked)} (required: {', '.join(required)}; "
            f"the header has: {', '.join(found[:_SHOWN_HEADERS]) or 'nothing'}{more})"
        )

    @property
    def translates(self) -> bool:
        return bool(self._translate)

    def translate(self, record: list[str]) -> list[str]:
        """The record with each mapped field's code replaced by the contract's value (in place)."""
        width = len(record)
        for pos, value_map in self._translate:
            if pos < width:
                record[pos] = value_map(record[pos])
        return record

    def codes(self, field: str) -> str:
        """What the value map of ``field`` knows, for a reject reason ("" when it has none)."""
        value_map = self.value_maps.get(field)
        return f"; {value_map.describe()}" if value_map is not None else ""
