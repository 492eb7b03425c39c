"""`visit-monitor demo`: a fresh user's first run, from the source tree and from a built wheel."""

from __future__ import annotations

import email
import email.policy
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import monitor
from monitor.cli.app import cli

REPO = Path(__file__).resolve().parents[2]


def _check_demo_output(folder: Path) -> list[Path]:
    var = folder / "var"
    assert (var / "monitor.db").is_file()
    report = (var / "report.html").read_text(encoding="utf-8")
    assert "OFFICIAL-SENSITIVE" in report
    assert "<script" not in report.lower()
    emls = sorted((var / "outbox").glob("*.eml"))
    assert emls, "no digests written"
    kinds = set()
    for path in emls:
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert "OFFICIAL-SENSITIVE" in msg["Subject"]
        assert msg.get_content_type() == "multipart/alternative"
        assert msg["To"].endswith("@police.example")
        assert msg["Cc"] is None and msg["Bcc"] is None
        kinds.add(msg["Subject"])
    assert len(kinds) > 1
    return emls


def test_demo_in_an_empty_folder_and_again(tmp_path: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(cli, ["demo"], catch_exceptions=False)
    assert first.exit_code == 0, first.output
    assert "var/report.html" in first.output
    assert "not mailed: OM-" in first.output  # the seeds hold an inactive and an off-domain officer
    emls = _check_demo_output(tmp_path)

    second = runner.invoke(cli, ["demo"], catch_exceptions=False)
    assert second.exit_code == 0, second.output
    assert "0 queued now" in second.output
    assert "0 rows new" in second.output
    assert sorted((tmp_path / "var" / "outbox").glob("*.eml")) == emls


def test_demo_ignores_a_configured_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A demo must never write synthetic cases into the configured (possibly real) register."""
    monkeypatch.setenv("MONITOR_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/never")
    result = CliRunner().invoke(cli, ["demo", "--var", "demo-var"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "demo-var" / "monitor.db").is_file()


@pytest.mark.slow
def test_wheel_install_then_demo_in_an_empty_folder(tmp_path: Path) -> None:
    """Templates, migrations and seeds ship inside the wheel: the demo needs nothing else."""
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheels), str(REPO)],
        check=True,
        capture_output=True,
    )
    (wheel,) = wheels.glob("visit_monitor-*.whl")
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )
    empty = tmp_path / "empty"
    empty.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target)}
    where = subprocess.run(
        [sys.executable, "-c", "import monitor; print(monitor.__file__)"],
        cwd=empty,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.startswith(str(target)), where.stdout  # the wheel's copy, not the source tree
    proc = subprocess.run(
        [sys.executable, "-m", "monitor", "demo"], cwd=empty, env=env, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    _check_demo_output(empty)
    # The operator guide's first steps work from the wheel alone: the documented config and
    # units that name the wheel's own console script (not /usr/local/bin).
    script = target / "bin" / "visit-monitor"
    example = subprocess.run(
        [sys.executable, "-m", "monitor", "config", "example"], cwd=empty, env=env, capture_output=True, text=True
    )
    assert example.returncode == 0 and example.stdout == (REPO / "config" / "monitor.toml").read_text()
    units = subprocess.run(
        [sys.executable, "-m", "monitor", "systemd-units", "--bin", str(script), "--out", "units"],
        cwd=empty,
        env=env,
        capture_output=True,
        text=True,
    )
    assert units.returncode == 0, units.stderr
    assert f"ExecStart={script} run\n" in (empty / "units" / "visit-monitor.service").read_text()
    version = subprocess.run([str(script), "--version"], env=env, capture_output=True, text=True)
    assert version.stdout.strip() == f"visit-monitor, version {monitor.__version__}"
