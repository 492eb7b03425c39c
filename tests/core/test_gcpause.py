"""The scan pauses the cycle collector and always turns it back on (``core.gcpause``)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from monitor.core.gcpause import frozen_gc, paused_gc


class Node:
    """An object that can sit in a reference cycle, which only the cycle collector frees."""

    other: Node


@pytest.fixture(autouse=True)
def _collector_on() -> Iterator[None]:
    gc.enable()
    yield
    gc.enable()


def test_paused_inside_and_running_after() -> None:
    with paused_gc():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_running_again_after_an_error() -> None:
    with pytest.raises(RuntimeError), paused_gc():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_overlapping_pauses_leave_it_running() -> None:
    """Two scans in the web server's threads: the first pause ends, the collector runs again."""
    first, second = paused_gc(), paused_gc()
    first.__enter__()
    second.__enter__()  # found it paused: will leave it alone
    first.__exit__(None, None, None)
    assert gc.isenabled()
    second.__exit__(None, None, None)
    assert gc.isenabled()


def test_left_off_if_it_was_off() -> None:
    gc.disable()
    with paused_gc():
        pass
    assert not gc.isenabled()


def test_frozen_objects_are_handed_back_and_cycles_collected() -> None:
    """Objects alive at the freeze are out of sight inside the block and back after it, even
    after an error; a cycle among them is collected once the block ends, not leaked."""

    a, b = Node(), Node()
    a.other, b.other = b, a  # a reference cycle the collector alone can free
    before = gc.get_freeze_count()
    with pytest.raises(RuntimeError), frozen_gc():
        assert gc.get_freeze_count() > before
        del a, b
        gc.collect()
        assert any(type(o) is Node for o in gc.get_objects()) is False  # frozen: not tracked here
        raise RuntimeError("boom")
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert not any(type(o) is Node for o in gc.get_objects())


def test_what_a_pause_made_goes_to_the_oldest_generation() -> None:
    """After a pause the first young collection does not walk everything the pause made (a
    national scan's objects): they are in the oldest generation already, and a cycle among
    them is still collected by the next full collection."""

    with paused_gc():
        made = [[n] for n in range(50_000)]
        a, b = Node(), Node()
        a.other, b.other = b, a
    assert gc.get_count()[0] < 700  # nothing waiting for a young collection
    oldest = {id(o) for o in gc.get_objects(generation=2)}
    assert id(made) in oldest and id(made[-1]) in oldest
    del a, b
    gc.collect()
    assert not any(type(o) is Node for o in gc.get_objects())
