"""Pausing Python's cycle collector while a scan builds a national result.

Why: a force-wide scan makes a few hundred thousand small objects (rows, obligations) that
hold no reference cycles, so reference counting frees them all; the cycle collector only
re-examines them, again and again as the young generations fill up, and at 100,000 people
that was a quarter of the scan. Pausing it for the loop loses nothing: anything cyclic
made meanwhile is collected when it resumes. On resuming, what the pause made is moved to
the oldest generation (``gc.freeze`` then ``gc.unfreeze``) rather than left for the first
young collection to walk all at once; the next full collection sees it as usual.

The collector is process-wide. In the web server several scans may overlap; whichever
paused it resumes it, and a scan that found it already paused leaves it alone, so it is
always running again once the first pause ends.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def paused_gc() -> Iterator[None]:
    """Run the block with the cycle collector off (if it was on), then turn it back on."""
    was_enabled = gc.isenabled()
    if was_enabled:
        gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            # Everything made meanwhile goes straight to the oldest generation, to be looked at
            # in the next full collection, instead of being walked at once by the first young
            # collection after the pause (all of a national scan's objects: 0.1 s of a scan).
            gc.freeze()
            gc.unfreeze()
            gc.enable()


@contextmanager
def frozen_gc() -> Iterator[None]:
    """Run the block with every object alive now out of the cycle collector's sight.

    Why: a digest run holds one national scan's contexts (a few hundred thousand objects)
    while it renders thousands of messages; each full collection during rendering walked all
    of them again, half a second of a national preview. Frozen objects are still freed by
    reference counting as usual; :func:`gc.unfreeze` afterwards hands them back to the
    collector (so a cycle among them is collected then, not leaked).
    """
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
