"""What ``visit-monitor import`` prints: rejects, absences, the dry run and the suggested mapping.

Everything printed may carry bytes from the extract (a reason quotes the bad value, a
warning the odd column name), so it is printed as text, never as rich markup, and with
control characters shown as escapes: a cell can neither break the table nor put a live
link or an escape sequence on the operator's terminal.

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

import sys
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from monitor.cli.app import App

if TYPE_CHECKING:
    from monitor.core.config import Config
    from monitor.register.importer import FilePreview, ImportResult, Reject

#: Rejects printed to the terminal; the rest are in import_rejects and --rejects FILE.
SHOWN_REJECTS = 100
#: Keys newly marked absent that are named in the summary; all are in the report.
SHOWN_ABSENT = 20


def shown(text: str) -> str:
    """``text`` with every non-printable character as a visible escape (``\\x1b``, ``\\u202e``)."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def print_presence(result: ImportResult) -> None:
    """Who a full extract left out (marked, never deleted), and who is back (a dry run: would be)."""
    marked, cleared = ("would be marked", "would be cleared") if result.dry else ("marked", "cleared")
    for p in result.presence:
        what = "people" if p.file == "offenders.csv" else "officers"
        if p.marked:
            names = ", ".join(shown(k) for k in p.marked[:SHOWN_ABSENT])
            more = f" and {len(p.marked) - SHOWN_ABSENT} more" if len(p.marked) > SHOWN_ABSENT else ""
            click.echo(
                f"{p.file}: {len(p.marked)} {what} not in this full extract, {marked} absent since "
                f"{p.since.isoformat()} (kept; resolve them): {names}{more}"
            )
        if p.returned:
            click.echo(f"{p.file}: {p.returned} {what} back in the extract (absent mark {cleared})")
        if p.absent and (result.full or p.returned):
            click.echo(f"{p.file}: {p.absent} {what} in all not in the latest full extract (see report)")


def print_rejects(rejects: list[Reject], rejects_file: Path | None) -> None:
    """A rich table on a terminal, plain ``file:line: field: reason`` lines otherwise."""
    first = rejects[:SHOWN_REJECTS]
    more = len(rejects) - len(first)
    if sys.stderr.isatty():
        from rich.console import Console
        from rich.table import Table
        from rich.text import Text

        table = Table(title="Rejected rows", title_justify="left")
        for heading in ("file", "line", "field", "reason"):
            table.add_column(heading, justify="right" if heading == "line" else "left")
        for r in first:
            # Text cells, not markup strings: "[/]" or "[link=...]" in a reason is data.
            table.add_row(*(Text(shown(v)) for v in (r.file, str(r.line), r.field or "", r.reason)))
        Console(stderr=True).print(table)
    else:
        for r in first:
            click.echo(f"rejected: {shown(str(r))}", err=True)
    if more:
        where = f"all are in {rejects_file}" if rejects_file else "use --rejects FILE for the full list"
        click.echo(f"... and {more} more rejected rows ({where})", err=True)


def _value(value: object) -> str:
    if value is None:
        return "(blank)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return shown(str(value))


def _preview(p: FilePreview, counts: dict[str, int], names: bool) -> None:
    from monitor.register.specs import NO_ECHO

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
        print_rejects(result.rejects, rejects_file)
    click.echo("")
    if result.presence and (result.full or any(p.returned for p in result.presence)):
        click.echo("People and officers (what the import would record):")
        print_presence(result)
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
