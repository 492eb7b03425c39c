"""The import's progress bar: a rich bar on stderr when asked for, else nothing at all.

The CLI asks only on a terminal; the daemon and tests never do, so rich is imported only
when a bar is actually shown and the import itself never depends on it.
"""

from __future__ import annotations

from typing import Any


class Advance:
    """Progress callback: ``(file, total, done, task=None) -> task``; a no-op when off."""

    def __init__(self, progress: Any = None):
        self._progress = progress

    def __call__(self, name: str, total: int, done: int, task: Any = None) -> Any:
        if self._progress is None:
            return None
        if task is None:
            return self._progress.add_task(name, total=total or None)
        self._progress.update(task, completed=done)
        return task


class ProgressDisplay:
    """A rich progress bar on stderr when asked for (the CLI asks only on a terminal)."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self._progress: Any = None

    def __enter__(self) -> Advance:
        if not self.enabled:
            return Advance()
        # Lazy: rich is loaded only when a bar is shown (startup speed of every other run).
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("lines"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
        )
        self._progress.start()
        return Advance(self._progress)

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()
