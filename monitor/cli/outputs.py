"""The ``--format`` and ``--output`` options of ``plan`` and ``forecast``, and writing the result.

Why a module of its own, and a light one: the command modules import it when the CLI starts
(every command's options are built then, for ``--help``), so it must not pull in the planner
or the reports; those stay imported inside the commands.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from monitor.cli.app import fail
from monitor.core.files import private_mkdir, write_private

#: The output formats of ``plan`` and ``forecast``.
FORMATS: tuple[str, ...] = ("table", "json", "csv", "html")


def output_options(what: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--format`` and ``--output``, the same for ``plan`` and ``forecast`` (``what``: "plan")."""

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        command = click.option(
            "--output",
            type=click.Path(dir_okay=False, writable=True, path_type=Path),
            help="Write to FILE instead of standard output.",
        )(command)
        return click.option(
            "--format",
            "fmt",
            type=click.Choice(FORMATS),
            default="table",
            show_default=True,
            help=f"How to write the {what}: a table for the terminal, JSON or CSV for scripts, printable HTML.",
        )(command)

    return decorate


def write_out(text: str, output: Path | None) -> bool:
    """``text`` to standard output, or to ``output`` (private to the service's user); True when
    written to a file, for the command to say so on standard error."""
    if output is None:
        click.echo(text, nl=False)
        return False
    try:
        write_private(private_mkdir(output.parent) / output.name, text)
    except OSError as exc:
        raise fail(f"cannot write {output}: {exc.strerror or exc}") from None
    return True
