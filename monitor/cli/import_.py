"""``visit-monitor import DIR``: load offenders.csv, visits.csv and officers.csv from DIR.

Or the force's own files, as ``[import]`` maps them. ``--check`` is a dry run that prints
what the import would do and writes nothing (``import_check`` prints it);
``--suggest-mapping`` prints a draft of the ``[import]`` tables from the files.

Exit codes follow the contract: 0 all rows stored or unchanged, 3 done but some rows
were rejected (each is printed with file, line, field and reason, and kept in
``import_rejects``), 1 the import failed and nothing was changed, 2 DIR holds none of
the expected files (or the configuration is bad). A dry run exits as the import would.

Everything printed here may carry bytes from the extract (a reason quotes the bad value,
a warning the odd column name), so it is printed as text, never as rich markup, and with
control characters shown as escapes: a cell can neither break the table nor put a live
link or an escape sequence on the operator's terminal.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from monitor.cli.app import EXIT_FAILURE, EXIT_USAGE, fail, get_app

if TYPE_CHECKING:
    from monitor.register.importer import ImportResult, Reject

#: Rejects printed to the terminal; the rest are in import_rejects and --rejects FILE.
SHOWN_REJECTS = 100
#: Keys newly marked absent that are named in the summary; all are in the report.
SHOWN_ABSENT = 20


def shown(text: str) -> str:
    """``text`` with every non-printable character as a visible escape (``\\x1b``, ``\\u202e``)."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


@click.command("import")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--rejects",
    "rejects_file",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Also write every rejected row (file,line,field,reason) to this CSV file.",
)
@click.option(
    "--full",
    is_flag=True,
    help="The extract is the whole register: mark people and officers it leaves out "
    '(also set by a manifest.json with "full": true).',
)
@click.option(
    "--force",
    is_flag=True,
    help="Accept a full extract that leaves out more than import.max_missing_percent of the register.",
)
@click.option(
    "--check",
    is_flag=True,
    help="Dry run: show the mapping, the first rows as parsed and what the import would do; write nothing.",
)
@click.option(
    "--suggest-mapping",
    is_flag=True,
    help="Print a draft [import] mapping (files, columns, codes, encoding, dates) from the files, to check and paste.",
)
@click.pass_context
def command(
    ctx: click.Context,
    directory: Path,
    rejects_file: Path | None,
    full: bool,
    force: bool,
    check: bool,
    suggest_mapping: bool,
) -> None:
    """Import a register extract: offenders.csv, visits.csv and/or officers.csv in DIRECTORY.

    The whole import is one transaction; re-importing the same extract changes nothing.
    Exit 0 when every row was stored (or already up to date), 3 when some rows were
    rejected, 1 when the import failed (nothing changed), 2 for a bad DIRECTORY.
    """
    if check and suggest_mapping:
        raise fail("--check and --suggest-mapping do not go together: suggest first, then check", EXIT_USAGE)
    if suggest_mapping:
        from monitor.cli.import_check import print_suggestion

        print_suggestion(get_app(ctx), directory)
        return
    from monitor.core.config import ConfigError
    from monitor.register.db import SchemaError
    from monitor.register.importer import ImportFailure, ImportUsageError, import_directory

    app = get_app(ctx)
    try:
        config = app.config
        engine = app.engine()
    except ConfigError as exc:
        raise fail(f"configuration error: {exc}", EXIT_USAGE) from None
    except SchemaError as exc:
        raise fail(str(exc), EXIT_FAILURE) from None

    try:
        result = import_directory(
            engine, config, directory, progress=sys.stderr.isatty() and not check, full=full, force=force, check=check
        )
    except ImportUsageError as exc:
        raise fail(shown(str(exc)), EXIT_USAGE) from None
    except ImportFailure as exc:
        if check:
            raise fail(
                f"the import would fail (nothing was written: dry run): {shown(str(exc))}", EXIT_FAILURE
            ) from None
        recorded = f" (recorded as import #{exc.import_id})" if exc.import_id is not None else ""
        reason = shown(str(exc))
        # The recorded reason may already say so (it is read on its own in the web app).
        said = "import failed: " if "nothing was changed" in reason else "import failed, nothing was changed: "
        raise fail(f"{said}{reason}{recorded}", EXIT_FAILURE) from None
    if check:
        from monitor.cli.import_check import print_check

        print_check(result, config, rejects_file)
        ctx.exit(result.exit_code)

    # The rejects file first: it is what the people fixing the extract need, whatever
    # happens to the terminal output.
    if rejects_file is not None:
        _write_rejects(rejects_file, result.reject_report_csv(), result.import_id)
    for warning in result.warnings:
        click.echo(f"warning: {shown(warning)}", err=True)
    if result.rejects:
        _print_rejects(result.rejects, rejects_file)

    width = max(len(name) for name in result.counts)
    for name, c in result.counts.items():
        click.echo(
            f"{name:<{width}}  inserted {c['inserted']}, updated {c['updated']}, "
            f"unchanged {c['unchanged']}, rejected {c['rejected']}"
        )
    _print_presence(result)
    rejected = len(result.rejects)
    status = f"{rejected} row{'s' if rejected != 1 else ''} rejected" if rejected else "ok"
    click.echo(f"import #{result.import_id}{' (full extract)' if result.full else ''}: {status}")
    ctx.exit(result.exit_code)


def _print_presence(result: ImportResult) -> None:
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


def _print_rejects(rejects: list[Reject], rejects_file: Path | None) -> None:
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


def _write_rejects(path: Path, text: str, import_id: int) -> None:
    """The --rejects report, private (0600); a failure says the import itself was stored."""
    from monitor.core.files import write_private

    try:
        write_private(path, text)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise fail(f"import #{import_id} was stored, but {path} could not be written: {reason}") from None
