"""The one memo (monitor.core.memo): made once per key, and bounded.

Why: the rules' due-date tables and the reports' cells all keep values this way; a memo that
made a value twice would only be slow, but one that never stopped growing would let a
hostile register (every date distinct) take the service's memory.
"""

from __future__ import annotations

from monitor.core.memo import Memo


def test_a_value_is_made_once_per_key() -> None:
    made: list[int] = []

    def make(n: int) -> str:
        made.append(n)
        return str(n)

    memo: Memo[int, str] = Memo(make)
    assert [memo[1], memo[2], memo[1], memo[2]] == ["1", "2", "1", "2"]
    assert made == [1, 2]


def test_it_starts_again_at_its_limit() -> None:
    memo: Memo[int, int] = Memo(lambda n: n * n, limit=3)
    for n in range(10):
        assert memo[n] == n * n
        assert len(memo) <= 3
