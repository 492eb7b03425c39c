"""The scan's result types are built by a quicker ``__init__`` than dataclasses generate
(``core.slots.stores_through_slots``); they must behave exactly as the generated one did.

For any values, positional or by keyword, with defaults left out or given, an instance holds
what a plain frozen dataclass of the same fields holds, compares, hashes and prints the same,
and still refuses assignment.
"""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.core.slots import stores_through_slots
from monitor.rules.obligations import Item, Personal, Unlocated

TYPES = (Item, Personal, Unlocated)


def reference(cls: type) -> type:
    """A frozen, slotted dataclass with the same fields, keeping its generated ``__init__``."""
    spec = [(f.name, f.type, dataclasses.field(default=f.default)) for f in dataclasses.fields(cls)]
    return dataclasses.make_dataclass(cls.__name__, spec, frozen=True, slots=True)


values = st.one_of(st.none(), st.text(max_size=5), st.integers(-400, 400), st.booleans(), st.dates())


@pytest.mark.parametrize("cls", TYPES, ids=lambda c: c.__name__)
@given(data=st.data())
def test_same_instance_as_the_generated_init(cls: type, data: st.DataObject) -> None:
    fields = dataclasses.fields(cls)
    required = [f for f in fields if f.default is dataclasses.MISSING]
    given_count = data.draw(st.integers(len(required), len(fields)))
    args = [data.draw(values) for _ in range(given_count)]
    by_keyword = data.draw(st.booleans())
    ref_cls = reference(cls)
    if by_keyword:
        kwargs = {f.name: v for f, v in zip(fields, args, strict=False)}
        ours, theirs = cls(**kwargs), ref_cls(**kwargs)
    else:
        ours, theirs = cls(*args), ref_cls(*args)
    assert dataclasses.astuple(ours) == dataclasses.astuple(theirs)
    assert repr(ours).partition("(")[2] == repr(theirs).partition("(")[2]
    assert ours == cls(*dataclasses.astuple(ours))
    assert hash(ours) == hash(cls(*dataclasses.astuple(ours)))
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(ours, fields[0].name, "changed")


def test_arguments_are_checked_as_before() -> None:
    with pytest.raises(TypeError):
        Item("visit", "RSO-1")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Item("visit", "RSO-1", "low", "T", "OM", date(2026, 1, 1), 3, colour="red")  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Personal("A", "B", None, "extra")  # type: ignore[call-arg]
    assert Item("visit", "R", "low", "T", "OM", date(2026, 1, 1), 3).failed_attempts == 0


def test_a_default_factory_is_refused() -> None:
    @dataclasses.dataclass(frozen=True, slots=True)
    class WithFactory:
        tags: list[str] = dataclasses.field(default_factory=list)

    with pytest.raises(TypeError, match="default factory"):
        stores_through_slots(WithFactory)
