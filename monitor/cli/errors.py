"""Every failure a command can meet, turned into one or two plain lines and an exit code.

Users of this service are operators and officers, not Python developers: a traceback tells
them nothing, and a driver's message can quote a connection string with its password or a
row of the register. So every command's exceptions pass through :func:`explain` once (the
click group calls it; see ``LazyGroup.invoke`` in app.py), which knows the few kinds there
are:

* configuration (a bad value, an unusable database URL or driver): exit 2;
* the database (unreachable, refused, missing, locked, no schema, read-only): exit 1;
* files (permission denied, disk full, a missing folder): exit 1;
* anything else is a bug: exit 1 with the exception's type only, because its message may
  hold register data. ``MONITOR_DEBUG=1`` shows the traceback instead, for developers.

Every line passes through :func:`monitor.core.redact.redact`, so no secret is printed.
"""

from __future__ import annotations

import click

from monitor.core.config import ConfigError
from monitor.core.redact import mask_url, redact

EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_REJECTED_ROWS = 0, 1, 2, 3
#: What a shell reports for a command whose reader went away (``| head``): 128 + SIGPIPE,
#: as for ``cat`` or ``seq``. The command stops quietly; its output was not all read.
EXIT_BROKEN_PIPE = 141

#: Driver messages longer than this are cut: the first line says what went wrong.
MAX_DETAIL = 300


class PlainFailure(click.ClickException):
    """Printed as ``visit-monitor: <message>`` on stderr, then exit with ``exit_code``."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(redact(message))
        self.exit_code = exit_code  # type: ignore[misc]  # click declares it a ClassVar

    def show(self, file: object = None) -> None:
        for line in self.message.splitlines():
            click.echo(f"visit-monitor: {line}" if not line.startswith(" ") else line, err=True)


def stdout_gone() -> bool:
    """True when standard output is a pipe whose reader has gone (``visit-monitor report | head``).

    Told apart from a broken pipe elsewhere (a relay's socket), which is a real failure.
    """
    import select
    import sys

    try:
        fd = sys.stdout.fileno()
        poller = select.poll()
        poller.register(fd, select.POLLOUT)
        return any(events & select.POLLERR for _, events in poller.poll(0))
    except (OSError, ValueError, AttributeError):  # closed, not a real file, no poll()
        return False


def silence_stdout() -> None:
    """Point standard output at /dev/null so the interpreter's last flush cannot complain."""
    import os
    import sys

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass  # no real descriptor (a test runner's stream): nothing left to flush into a pipe


def _first_line(text: str) -> str:
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return line[:MAX_DETAIL]


def _database_detail(exc: BaseException) -> str:
    """What the driver said, for the errors whose message names no register data."""
    from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

    orig = getattr(exc, "orig", None)
    if isinstance(exc, OperationalError | InterfaceError) and orig is not None:
        # Connection, authentication, missing database, locked, disk I/O: no row values.
        return _first_line(str(orig)) or type(orig).__name__
    if isinstance(exc, DBAPIError) and orig is not None:
        # Integrity/data errors can quote row values: name the kind only.
        return type(orig).__name__
    return type(exc).__name__


def explain(exc: BaseException, database: str | None = None) -> tuple[str, int]:
    """The message (one or two lines, secrets masked) and exit code for ``exc``.

    ``database`` describes the database in use ("postgresql://monitor:***@db/register
    from $MONITOR_DATABASE_URL") and is added as a second line to database errors.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from monitor.register.db import SchemaError

    where = f"\n  database: {database}" if database else ""
    if isinstance(exc, ConfigError):
        return redact(f"configuration error: {exc}"), EXIT_USAGE
    if isinstance(exc, SchemaError):
        return redact(f"{exc}{where}"), EXIT_FAILURE
    if isinstance(exc, SQLAlchemyError):
        return redact(f"database error: {_database_detail(exc)}{where}"), EXIT_FAILURE
    from monitor.digests.preview import PreviewWorkerLost

    if isinstance(exc, PreviewWorkerLost):  # our own words: no register data in them
        return str(exc), EXIT_FAILURE
    if isinstance(exc, OSError):
        name = exc.filename if exc.filename is not None else ""
        reason = exc.strerror or type(exc).__name__
        return redact(f"{name}: {reason}" if name else f"{reason}"), EXIT_FAILURE
    return f"internal error ({type(exc).__name__}); details withheld as they may quote register data", EXIT_FAILURE


def describe_database(url: str, origin: str) -> str:
    """``postgresql://monitor:***@db/register (from $MONITOR_DATABASE_URL)``."""
    return f"{mask_url(url)} (from {origin})"
