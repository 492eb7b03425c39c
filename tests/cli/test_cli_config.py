"""``config example``, ``config check`` and ``systemd-units``: what a wheel install needs to follow the guide.

The units are checked with ``systemd-analyze verify`` (Debian's systemd package) wherever
the package is installed: the shipped units named /usr/local/bin/visit-monitor and failed
verification anywhere else.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli.app import cli
from monitor.cli.systemd_units import UNITS
from monitor.core import config as config_module

REPO = Path(__file__).resolve().parents[2]
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")


def test_config_example_is_the_documented_file_and_the_defaults() -> None:
    result = CliRunner().invoke(cli, ["config", "example"])
    assert result.exit_code == 0
    assert result.output == (REPO / "config" / "monitor.toml").read_text(encoding="utf-8")
    assert tomllib.loads(result.output) == config_module.DEFAULTS


def test_config_check_names_file_and_database_and_masks_the_password(tmp_path: Path) -> None:
    path = tmp_path / "monitor.toml"
    path.write_text('[database]\nurl = "postgresql://monitor:Sekrit-1@db.police.example/register"\n')
    result = CliRunner().invoke(cli, ["--config", str(path), "config", "check"])
    assert result.exit_code == 0, result.output
    assert f"config: {path}" in result.output and "ok: every value is valid" in result.output
    assert "postgresql://monitor:***@db.police.example/register (from database.url in" in result.output
    assert "Sekrit-1" not in result.output
    path.write_text("[policy]\ndue_soon_days = -1\n")
    result = CliRunner().invoke(cli, ["--config", str(path), "config", "check"])
    assert result.exit_code == 2 and "policy.due_soon_days" in result.output


def _units(out: Path, *args: str) -> subprocess.CompletedProcess[str]:
    script = Path(sys.executable).with_name("visit-monitor")
    return subprocess.run(
        [str(script), "systemd-units", "--out", str(out), *args], capture_output=True, text=True, check=False
    )


def test_units_name_the_console_script_that_wrote_them(tmp_path: Path) -> None:
    done = _units(tmp_path / "units")
    assert done.returncode == 0, done.stderr
    script = Path(sys.executable).with_name("visit-monitor")
    for name in UNITS:
        text = (tmp_path / "units" / name).read_text()
        assert "/usr/local/bin" not in text, name
        assert (tmp_path / "units" / name).stat().st_mode & 0o777 == 0o644
    service = (tmp_path / "units" / "visit-monitor.service").read_text()
    assert f"ExecStart={script} run\n" in service
    assert f"ExecStart={script} run --once\n" in (tmp_path / "units" / "visit-monitor-once.service").read_text()
    # Everything but the paths is the shipped unit's text.
    shipped = (REPO / "config" / "visit-monitor.service").read_text()
    assert service == shipped.replace("/usr/local/bin/visit-monitor", str(script))


def test_units_take_prefix_etc_and_user(tmp_path: Path) -> None:
    prefix = tmp_path / "opt" / "visit-monitor"
    (prefix / "bin").mkdir(parents=True)
    script = prefix / "bin" / "visit-monitor"
    script.write_text("#!/bin/sh\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    done = _units(tmp_path / "units", "--prefix", str(prefix), "--etc", "/srv/vm/etc", "--user", "vmon")
    assert done.returncode == 0, done.stderr
    service = (tmp_path / "units" / "visit-monitor.service").read_text()
    assert f"ExecStart={script} run\n" in service
    assert "Environment=MONITOR_CONFIG=/srv/vm/etc/monitor.toml\n" in service
    assert "EnvironmentFile=-/srv/vm/etc/environment\n" in service
    assert "User=vmon\nGroup=vmon\n" in service


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--bin", "/nonexistent/visit-monitor"], "not an executable file"),
        (["--bin", "NOT_EXECUTABLE"], "not an executable file"),
        (["--bin", "/bin/true", "--prefix", "/usr"], "not both"),
        (["--bin", "/bin/true", "--etc", "relative/etc"], "absolute"),
    ],
)
def test_units_refuse_paths_systemd_would_refuse(tmp_path: Path, args: list[str], words: str) -> None:
    plain = tmp_path / "plain-file"
    plain.write_text("not a program\n")
    plain.chmod(0o644)
    done = _units(tmp_path / "units", *[str(plain) if a == "NOT_EXECUTABLE" else a for a in args])
    assert done.returncode == 2 and words in done.stderr, done.stderr
    assert not (tmp_path / "units").exists()


@pytest.mark.skipif(
    SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed (Debian: apt-get install systemd)"
)
def test_written_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    assert _units(tmp_path / "units").returncode == 0
    paths = [str(tmp_path / "units" / name) for name in UNITS]
    env = {**os.environ, "SYSTEMD_LOG_LEVEL": "warning"}
    done = subprocess.run([str(SYSTEMD_ANALYZE), "verify", *paths], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    # The shipped units, as they are, fail wherever /usr/local/bin/visit-monitor is not there:
    # the reason this command exists.
    if not Path("/usr/local/bin/visit-monitor").exists():
        shipped = subprocess.run(
            [str(SYSTEMD_ANALYZE), "verify", str(REPO / "config" / "visit-monitor.service")],
            capture_output=True,
            text=True,
            env=env,
        )
        assert shipped.returncode != 0 and "not executable" in shipped.stderr


def test_units_warn_when_the_python_behind_the_script_is_in_a_home_folder(tmp_path: Path) -> None:
    """A virtualenv made from a Python under /root (pyenv) cannot start under the units'
    ProtectHome=yes, nor be read by the service user: found in the operator walkthrough."""
    script = tmp_path / "visit-monitor"
    script.write_text("#!/home/nobody-here/.pyenv/versions/3.11.7/bin/python3\n")
    script.chmod(0o755)
    done = _units(tmp_path / "units", "--bin", str(script))
    assert done.returncode == 0
    assert "its Python (/home/nobody-here/.pyenv/versions/3.11.7/bin/python3) is under a home folder" in done.stderr
    plain = tmp_path / "ok-script"
    plain.write_text("#!/usr/bin/python3\n")
    plain.chmod(0o755)
    done = _units(tmp_path / "units2", "--bin", str(plain))
    assert done.returncode == 0 and "warning" not in done.stderr
