"""``visit-monitor systemd-units``: write the systemd units for *this* installation.

The units in the repository's ``config/`` (shipped in the wheel as ``monitor.config``)
name ``/usr/local/bin/visit-monitor``; a virtualenv under ``/opt``, a distribution
package or ``pip install --prefix`` puts the console script elsewhere, and systemd
(``systemd-analyze verify`` too) refuses a unit whose ``ExecStart`` is not an executable
file. So this command writes the same units with the paths that hold where it runs: the
console script it was started as (or ``--bin`` / ``--prefix``), the configuration
folder, and the service user. Everything else (sandboxing, watchdog, timeouts) is the
shipped text, unchanged.
"""

from __future__ import annotations

import os
import shutil
import sys
from importlib import resources
from pathlib import Path

import click

from monitor.cli.app import EXIT_USAGE, fail

UNITS: tuple[str, ...] = (
    "visit-monitor.service",
    "visit-monitor-once.service",
    "visit-monitor-once.timer",
    "visit-monitor-web.service",
)
#: The paths the shipped units name, each replaced by the installation's own.
SHIPPED_BIN = "/usr/local/bin/visit-monitor"
SHIPPED_ETC = "/etc/visit-monitor"
SHIPPED_USER = "visit-monitor"
#: Folders ProtectHome=yes hides from the service: a console script there cannot start.
HIDDEN_BY_PROTECT_HOME = ("/home/", "/root/", "/run/user/")
#: Units hold no data and no secret; systemctl and systemd-analyze, run by any user, read them.
UNIT_MODE = 0o644


def installed_script() -> Path | None:
    """The ``visit-monitor`` console script of the running installation, if it can be found."""
    started_as = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if started_as is not None and started_as.name == "visit-monitor" and started_as.is_file():
        return started_as.absolute()
    beside = Path(sys.prefix) / "bin" / "visit-monitor"
    if beside.is_file():
        return beside
    found = shutil.which("visit-monitor")
    return Path(found).absolute() if found else None


def interpreter(script: Path) -> Path | None:
    """The Python a console script runs (its ``#!`` line), symlinks resolved (a virtualenv's
    ``bin/python3`` points at the Python it was made from, which the service must reach too)."""
    try:
        with open(script, "rb") as fh:
            first = fh.readline(512)
    except OSError:
        return None
    if not first.startswith(b"#!"):
        return None
    command = first[2:].decode("utf-8", "replace").strip().split()
    return Path(command[0]).resolve() if command and command[0].startswith("/") else None


def render_unit(name: str, *, bin_path: str, etc_dir: str, user: str) -> str:
    text = resources.files("monitor.config").joinpath(name).read_text(encoding="utf-8")
    text = text.replace(SHIPPED_BIN, bin_path).replace(SHIPPED_ETC, etc_dir)
    lines = []
    for line in text.splitlines(keepends=True):
        key = line.split("=", 1)[0]
        if key in ("User", "Group") and line.strip() == f"{key}={SHIPPED_USER}":
            line = f"{key}={user}\n"
        lines.append(line)
    return "".join(lines)


@click.command("systemd-units")
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder to write the units into, e.g. /etc/systemd/system.",
)
@click.option(
    "--bin",
    "bin_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The visit-monitor console script (default: the one running this command).",
)
@click.option(
    "--prefix",
    type=click.Path(file_okay=False, path_type=Path),
    help="Installation prefix (a virtualenv, /usr/local): the script is PREFIX/bin/visit-monitor.",
)
@click.option(
    "--etc",
    "etc_dir",
    default=SHIPPED_ETC,
    show_default=True,
    help="Folder holding monitor.toml and the environment file with the secrets.",
)
@click.option("--user", default=SHIPPED_USER, show_default=True, help="Service user and group.")
def command(out_dir: Path, bin_path: Path | None, prefix: Path | None, etc_dir: str, user: str) -> None:
    """Write the systemd units with this installation's paths (ExecStart, config, user)."""
    if bin_path is not None and prefix is not None:
        raise fail("give --bin or --prefix, not both", EXIT_USAGE)
    script = bin_path if bin_path is not None else (prefix / "bin" / "visit-monitor" if prefix else installed_script())
    if script is None:
        raise fail("cannot find the visit-monitor console script: give --bin or --prefix", EXIT_USAGE)
    script = script.absolute()
    if not script.is_file() or not script.stat().st_mode & 0o111:  # os.access says yes to root
        raise fail(f"{script}: not an executable file (systemd would refuse ExecStart)", EXIT_USAGE)
    if not etc_dir.startswith("/") or any(c.isspace() for c in etc_dir + str(script) + user) or not user:
        raise fail("--etc must be an absolute path, and no path or user may hold spaces", EXIT_USAGE)
    for what, path in (("the console script", script), ("its Python", interpreter(script))):
        if path is not None and str(path).startswith(HIDDEN_BY_PROTECT_HOME):
            click.echo(
                f"warning: {what} ({path}) is under a home folder, which the units hide from the service "
                "(ProtectHome=yes) and the service user cannot usually read: make the virtualenv under /opt "
                "from the system's Python (/usr/bin/python3 -m venv), not from one under a home folder",
                err=True,
            )
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in UNITS:
        path = out_dir / name
        text = render_unit(name, bin_path=str(script), etc_dir=etc_dir.rstrip("/"), user=user)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, UNIT_MODE)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(path, UNIT_MODE)
        click.echo(f"wrote {path}")
    click.echo(f"ExecStart={script} (config {etc_dir.rstrip('/')}/monitor.toml, user {user})")
    click.echo("Then: systemctl daemon-reload && systemctl enable --now visit-monitor")
