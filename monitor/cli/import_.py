"""``visit-monitor import DIR``: load offenders.csv, visits.csv and officers.csv from DIR.

Or the force's own files, as ``[import]`` maps them. ``--check`` is a dry run that prints
what the import would do and writes nothing;
``--suggest-mapping`` prints a draft of the ``[import]`` tables from the files.

Exit codes follow the contract: 0 all rows stored or unchanged, 3 done but some rows
were rejected (each is printed with file, line, field and reason, and kept in
``import_rejects``), 1 the import failed and nothing was changed, 2 DIR holds none of
the expected files (or the configuration is bad). A dry run exits as the import would.

What it prints is ``import_output``'s: everything may carry bytes from the extract, so it
is printed as text, never as rich markup, with control characters shown as escapes.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from monitor.cli.app import EXIT_FAILURE, EXIT_USAGE, fail, get_app
from monitor.cli.import_output import print_presence, print_rejects, shown


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
        from monitor.cli.import_output import print_suggestion

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
        from monitor.cli.import_output import print_check

        print_check(result, config, rejects_file)
        ctx.exit(result.exit_code)

    # The rejects file first: it is what the people fixing the extract need, whatever
    # happens to the terminal output.
    if rejects_file is not None:
        _write_rejects(rejects_file, result.reject_report_csv(), result.import_id)
    for warning in result.warnings:
        click.echo(f"warning: {shown(warning)}", err=True)
    if result.rejects:
        print_rejects(result.rejects, rejects_file)

    width = max(len(name) for name in result.counts)
    for name, c in result.counts.items():
        click.echo(
            f"{name:<{width}}  inserted {c['inserted']}, updated {c['updated']}, "
            f"unchanged {c['unchanged']}, rejected {c['rejected']}"
        )
    print_presence(result)
    rejected = len(result.rejects)
    status = f"{rejected} row{'s' if rejected != 1 else ''} rejected" if rejected else "ok"
    click.echo(f"import #{result.import_id}{' (full extract)' if result.full else ''}: {status}")
    ctx.exit(result.exit_code)


def _write_rejects(path: Path, text: str, import_id: int) -> None:
    """The --rejects report, private (0600); a failure says the import itself was stored."""
    from monitor.core.files import write_private

    try:
        write_private(path, text)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise fail(f"import #{import_id} was stored, but {path} could not be written: {reason}") from None
