"""Values made once per distinct key, in a dictionary that starts again past a limit.

Why a module of its own, in ``core``: a national run computes the same few thousand things
hundreds of thousands of times (a due date per start day and interval in the rules, a date
or a table cell as text in the reports), and both layers keep them the same way. The limit
is there so that hostile data, which can make every value distinct, cannot grow a memo
without end.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Memo(dict[K, V]):
    """``memo[key]`` is ``make(key)``, made on the first lookup and kept; cleared when it
    holds ``limit`` entries. A lookup that is kept costs a dictionary lookup (``dict``'s
    own, in C): only a miss runs Python."""

    def __init__(self, make: Callable[[K], V], limit: int = 100_000) -> None:
        super().__init__()
        self.make = make
        self.limit = limit

    def __missing__(self, key: K) -> V:
        if len(self) >= self.limit:
            self.clear()
        value = self[key] = self.make(key)
        return value
