"""docs/reference/cli.md: every command and option (from the click group), environment
variables (from the code that reads them) and exit codes (from monitor.cli.errors)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import click

from tools.reference.common import code, finish, head, table

#: What each exit code means to a script or a probe; keyed by the constant's name.
EXIT_WORDS: dict[str, str] = {
    "EXIT_OK": "Done: everything asked for was done.",
    "EXIT_FAILURE": (
        "Failure: the database could not be reached or is not migrated, a file could not be written, mail "
        "could not be delivered, a job failed, `health` found a problem, or a bug (one plain line; "
        "`MONITOR_DEBUG=1` shows the traceback)."
    ),
    "EXIT_USAGE": (
        "Usage or configuration error: a bad option, an unknown `--team` or `--officer`, a bad value in "
        "the configuration file or `$MONITOR_DATABASE_URL` (the key, the value and what was expected)."
    ),
    "EXIT_REJECTED_ROWS": "`import` finished, but rejected some rows (each named with file, line, field and reason).",
    "EXIT_BROKEN_PIPE": (
        "The reader of the output went away (`visit-monitor report | head`): the command stopped quietly, "
        "as `cat` does (128 + SIGPIPE). Not all of the output was read."
    ),
}

#: Each environment variable the code reads, and what it is for.
ENV_WORDS: dict[str, str] = {
    "MONITOR_CONFIG": "The configuration file, when `--config` is not given.",
    "MONITOR_DATABASE_URL": (
        "Overrides `[database] url` (keep a database password here, in the service's environment file, "
        "rather than in the configuration file)."
    ),
    "MONITOR_SMTP_PASSWORD": "The mail relay's password (`[smtp] username`); the only place it is read from.",
    "MONITOR_SMTP_CLIENT_SECRET": (
        "The Microsoft 365 app registration's client secret, when no certificate is configured "
        '(`[smtp] auth = "oauth2"` or `[mail] transport = "graph"`).'
    ),
    "MONITOR_OIDC_CLIENT_SECRET": "The web app's client secret at the identity provider (`[web]`).",
    "MONITOR_DEBUG": "`1` shows a traceback instead of the plain one-line error. For developers: it may quote data.",
    "NO_COLOR": "Set (to anything): `report`'s table is printed without colour on a terminal.",
    "NOTIFY_SOCKET": "Set by systemd for `Type=notify` units: `run` reports READY, WATCHDOG and STOPPING there.",
    "WATCHDOG_USEC": "Set by systemd (`WatchdogSec=`): how often `run` must report that it is alive.",
    "WATCHDOG_PID": "Set by systemd with `WATCHDOG_USEC`: the process the watchdog applies to.",
}

MONITOR = Path(__file__).resolve().parents[2] / "monitor"
_ENV_READ = re.compile(r"""os\.(?:environ(?:\.get)?\s*[\[(]|getenv\s*\()\s*["']([A-Z][A-Z0-9_]+)["']""")
_ENV_NAMED = re.compile(r"""["']((?:MONITOR|NO)_[A-Z0-9_]+)["']""")


def environment_variables() -> list[str]:
    """Every environment variable the product's code reads (found in its source)."""
    names: set[str] = set()
    for path in MONITOR.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        names.update(_ENV_READ.findall(text))
        names.update(n for n in _ENV_NAMED.findall(text) if not n.startswith("MONITOR_TEST"))
    return sorted(names)


def exit_codes() -> list[tuple[str, int]]:
    from monitor.cli import errors

    found = [
        (name, value) for name, value in vars(errors).items() if name.startswith("EXIT_") and isinstance(value, int)
    ]
    return sorted(found, key=lambda item: item[1])


def _root() -> tuple[click.Group, click.Context]:
    from monitor.cli.app import cli

    return cli, click.Context(cli, info_name="visit-monitor")


def commands() -> list[tuple[str, click.Command]]:
    """Every command and subcommand as (full name, command), depth first."""
    root, ctx = _root()
    out: list[tuple[str, click.Command]] = []

    def walk(group: click.Group, prefix: str, parent: click.Context) -> None:
        for name in group.list_commands(parent):
            command = group.get_command(parent, name)
            if command is None or command.hidden:
                continue
            full = f"{prefix} {name}"
            out.append((full, command))
            if isinstance(command, click.Group):
                walk(command, full, click.Context(command, info_name=name, parent=parent))

    walk(root, "visit-monitor", ctx)
    return out


def _value(option: click.Option) -> str:
    if option.is_flag:
        return "flag"
    if isinstance(option.type, click.Choice):
        return ", ".join(code(c) for c in option.type.choices)
    if isinstance(option.type, click.IntRange):
        low = option.type.min if option.type.min is not None else ""
        high = option.type.max if option.type.max is not None else ""
        return f"{code(option.metavar or 'N')} ({low} to {high})"
    metavar = option.metavar or option.type.name.upper()
    return code(metavar)


def _default(option: click.Parameter) -> str:
    default = option.default
    if isinstance(option, click.Option) and option.is_flag:
        return ""
    unset = type(default).__name__ == "Sentinel"  # click 8.2+: no default given
    if unset or default is None or default == () or callable(default):
        return ""
    return code(default)


def _options(command: click.Command) -> list[str]:
    rows = []
    arguments = []
    for param in command.params:
        if isinstance(param, click.Argument):
            arguments.append(param)
            continue
        if not isinstance(param, click.Option) or param.hidden:
            continue
        names = ", ".join(code(n) for n in [*param.opts, *param.secondary_opts])
        words = param.help or ""
        if param.multiple and "repeat" not in words.lower():
            words += " Repeatable."
        if param.required:
            words += " Required."
        if param.envvar:
            words += f" Also `${param.envvar}`."
        rows.append((names, _value(param), _default(param), words.strip()))
    lines: list[str] = []
    if arguments:
        lines += table(
            ("Argument", "Required"),
            [(code(a.human_readable_name), "yes" if a.required else "no") for a in arguments],
        )
    if rows:
        lines += table(("Option", "Value", "Default", "What it does"), rows)
    else:
        lines += ["No options besides `--help`.", ""]
    return lines


def page() -> str:
    from monitor.cli.app import SHORT_HELP

    root, ctx = _root()
    lines = head(
        "Command line",
        "For operators and anyone scripting visit-monitor: every command, every option, the environment "
        "variables read and the exit codes.",
        "Every command is `visit-monitor [--config FILE] COMMAND ...` (or `python -m monitor ...`). "
        "`visit-monitor COMMAND --help` prints the same as this page for one command.",
    )
    lines += ["## Global options", ""]
    rows = []
    for param in root.params:
        if isinstance(param, click.Option):
            names = ", ".join(code(n) for n in [*param.opts, *param.secondary_opts])
            extra = f" Also `${param.envvar}`." if param.envvar else ""
            rows.append((names, (param.help or "") + extra))
    rows.append(("`-h`, `--help`", "Print help and exit (after a command: that command's help)."))
    lines += table(("Option", "What it does"), rows)

    lines += ["## Commands", ""]
    listed = commands()
    lines += table(
        ("Command", "What it does"),
        [(f"[{code(full)}](#{_anchor(full)})", _short(full, cmd, SHORT_HELP)) for full, cmd in listed],
    )
    for full, command in listed:
        depth = full.count(" ")
        lines += [f"{'#' * (depth + 1)} {full} {{#{_anchor(full)}}}", ""]
        sub_ctx = click.Context(command, info_name=full.removeprefix("visit-monitor "), parent=ctx)
        usage = " ".join(command.collect_usage_pieces(sub_ctx))
        lines += ["```", f"{full} {usage}".rstrip(), "```", ""]
        lines += [_help_text(command), ""]
        if isinstance(command, click.Group):
            names = ", ".join(code(f"{full} {n}") for n in command.list_commands(sub_ctx))
            lines += [f"Subcommands: {names}.", ""]
        else:
            lines += _options(command)

    lines += ["## Environment variables", ""]
    lines += table(
        ("Variable", "What it does"),
        [(code(name), ENV_WORDS.get(name, "")) for name in environment_variables()],
    )
    lines += ["## Exit codes", ""]
    lines += table(("Code", "Meaning"), [(code(value), EXIT_WORDS.get(name, "")) for name, value in exit_codes()])
    return finish(lines)


def _short(full: str, command: click.Command, short_help: dict[str, str]) -> str:
    name = full.removeprefix("visit-monitor ")
    return short_help.get(name) or command.get_short_help_str(200)


def _anchor(full: str) -> str:
    return full.replace(" ", "-")


def _help_text(command: click.Command) -> str:
    text = inspect.cleandoc(command.help or command.short_help or "")
    return text.replace("\b\n", "")


def missing_words() -> list[str]:
    gaps = [f"exit code {name}" for name, _ in exit_codes() if name not in EXIT_WORDS]
    gaps += [f"environment variable {name}" for name in environment_variables() if name not in ENV_WORDS]
    for full, command in commands():
        if not (command.help or command.short_help):
            gaps.append(f"command {full} (no help text)")
        for param in command.params:
            if isinstance(param, click.Option) and not param.hidden and not param.help:
                gaps.append(f"option {param.opts[0]} of {full} (no help text)")
    return gaps
