"""What ``import DIR --check`` and ``import DIR --suggest-mapping`` print.

The dry run is how an operator tries a mapping on a force's extract before anything is
stored, so it shows each step the import takes: which file was read as which (and how:
the encoding, or the sheet), which header became which field and which codes become which
values, the characters beyond ASCII found per field (a wrong encoding shows as ``Ã``
where ``â`` belongs), the first rows as parsed, then exactly what the import would do.
Personal data (names, dates of birth, officers' names and emails) is shown only where
``[policy] include_names`` allows it; otherwise its place is marked. Everything is printed
as text with control characters escaped, like the import's own output.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from monitor.cli.app import App
from monitor.cli.import_ import _print_presence, _print_rejects, shown

if TYPE_CHECKING:
    from monitor.core.config import Config
    from monitor.register.importer import FilePreview, ImportResult


def _value(value: object) -> str:
    if value is None:
        return "(blank)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return shown(str(value))


def _preview(p: FilePreview, counts: dict[str, int], names: bool) -> None:
    from monitor.register.fields import NO_ECHO

    how = "; ".join(x for x in (p.reading, p.note) if x)
    click.echo(f"{p.file} <- {shown(p.label)} ({shown(how)})")
    width = min(max((len(h) for h, _f in p.matched), default=0) + 2, 40)
    click.echo("  columns:")
    for header, field in p.matched:
        target = field or "ignored"
        if field in p.codes:
            pairs = ", ".join(f"{shown(code)} -> {value}" for code, value in p.codes[field][:12])
            target += f" (codes: {pairs})"
        click.echo(f"    {shown(repr(header)):<{width}} -> {target}")
    if p.characters:
        found = "; ".join(f"{f}: {' '.join(sorted(chars))}" for f, chars in sorted(p.characters.items()))
        click.echo(f"  characters beyond ASCII: {shown(found)}")
    if p.rows:
        click.echo("  first rows as parsed:")
        for line, values in p.rows:
            cells = ", ".join(
                f"{k}=(personal data)" if k in NO_ECHO and not names and v is not None else f"{k}={_value(v)}"
                for k, v in values.items()
            )
            click.echo(f"    line {line}: {cells}")
    click.echo(
        f"  would insert {counts['inserted']}, update {counts['updated']}, "
        f"leave unchanged {counts['unchanged']}, reject {counts['rejected']}"
    )


def print_check(result: ImportResult, config: Config, rejects_file: Path | None) -> None:
    """The dry run's report (see the module docstring); the rejects CSV too when asked."""
    if rejects_file is not None:
        from monitor.core.files import write_private

        write_private(rejects_file, result.reject_report_csv())
    click.echo("Dry run: nothing is written to the register (import --check).")
    for warning in result.warnings:
        click.echo(f"warning: {shown(warning)}", err=True)
    for p in result.previews:
        click.echo("")
        _preview(p, result.counts[p.file], config.policy.include_names)
    if result.rejects:
        _print_rejects(result.rejects, rejects_file)
    click.echo("")
    if result.presence and (result.full or any(p.returned for p in result.presence)):
        click.echo("People and officers (what the import would record):")
        _print_presence(result)
    stored = sum(c["inserted"] + c["updated"] for c in result.counts.values())
    rejected = len(result.rejects)
    click.echo(
        f"check: the import would write {stored} row{'s' if stored != 1 else ''} and reject {rejected} "
        f"(exit {result.exit_code}); nothing was written"
    )


def print_suggestion(app: App, directory: Path) -> None:
    """A draft ``[import]`` mapping from the files in ``directory``, on stdout."""
    from monitor.register.suggest import suggest_mapping

    if not directory.is_dir():
        from monitor.cli.app import EXIT_USAGE, fail

        raise fail(f"{directory}: not a directory", EXIT_USAGE)
    click.echo(shown_lines(suggest_mapping(directory, app.config)), nl=False)


def shown_lines(text: str) -> str:
    return "\n".join(shown(line) for line in text.split("\n"))
