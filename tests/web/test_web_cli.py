"""``visit-monitor web``: configuration checks, the demo's refusals, and a real server on a port.

The real-server test starts the command as a subprocess (waitress on a loopback port)
on the demo register and signs in through its local sign-in, as a newcomer would.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from builders import add_offender
from click.testing import CliRunner

from monitor.cli.app import cli
from monitor.core import config as config_module
from monitor.register.db import make_engine, transaction, upgrade
from monitor.web.demo import NotDemoDatabase, check_demo_database


def test_help_does_not_load_flask() -> None:
    code = (
        "import sys; from click.testing import CliRunner; from monitor.cli.app import cli;"
        "r = CliRunner().invoke(cli, ['--help']); assert 'web' in r.output, r.output;"
        "bad = [m for m in ('flask', 'authlib', 'waitress') if m in sys.modules]; assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(
    ("toml", "key", "expected"),
    [
        ('[web]\nissuer = "http://login.police.example"', "web.issuer", "http:// only on loopback"),
        ('[web]\nbase_url = "ftp://x"', "web.base_url", "https:// URL"),
        ('[web]\nissuer = "https://login.police.example/t/v2.0"', "web.client_id", "client id"),
        ("[web]\nsession_idle_minutes = 0", "web.session_idle_minutes", "at least 1"),
        ('[web]\nscopes = "email"', "web.scopes", '"openid"'),
        ('[web]\nclient_secret = "hunter2"', "web.client_secret", "no secret in the config file"),
    ],
)
def test_bad_web_config_names_key_value_and_expectation(tmp_path: Path, toml: str, key: str, expected: str) -> None:
    path = tmp_path / "monitor.toml"
    path.write_text(toml + "\n")
    with pytest.raises(config_module.ConfigError) as info:
        config_module.load(path)
    assert info.value.key == key and expected in str(info.value)


def test_http_issuer_on_loopback_is_allowed_and_secret_only_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = config_module.load(overrides={"web": {"issuer": "http://127.0.0.1:9400/", "client_id": "x"}})
    assert cfg.web.issuer == "http://127.0.0.1:9400" and cfg.web.client_secret == ""
    monkeypatch.setenv("MONITOR_OIDC_CLIENT_SECRET", "s3cret-value")
    assert cfg.web.client_secret == "s3cret-value" and "s3cret-value" not in repr(cfg)


def test_web_refuses_to_start_without_an_identity_provider(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["web", "--port", "1"], standalone_mode=False)
    assert isinstance(result.exception, Exception) and "web.issuer" in str(result.exception)


def test_demo_refuses_anything_but_loopback(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["web", "--demo", "--host", "0.0.0.0"], standalone_mode=False)
    assert "loopback" in str(result.exception)
    assert not (tmp_path / "var").exists()


def test_demo_refuses_a_database_that_is_not_the_demo_register(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'var' / 'demo.db'}")
    upgrade(engine)
    with transaction(engine) as s:
        add_offender(s, "REAL-CASE-1")
    with pytest.raises(NotDemoDatabase):
        check_demo_database(engine)
    engine.dispose()
    result = CliRunner().invoke(cli, ["web", "--demo", "--port", "1"], standalone_mode=False)
    assert "demo database" in str(result.exception)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_demo_serves_on_loopback_with_waitress(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "web", "--demo", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                if requests.get(f"{base}/sign-in", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                time.sleep(0.2)
        browser = requests.Session()
        page = browser.get(f"{base}/sign-in", timeout=5)
        assert page.headers["Server"] == "visit-monitor"  # waitress, not a development server
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token
        answer = browser.post(
            f"{base}/demo/sign-in",
            data={"email": "sergeant.testname.01@police.example", "csrf_token": token.group(1)},
            timeout=10,
        )
        assert answer.url == f"{base}/teams/TEAM-01" and "Team TEAM-01" in answer.text
        assert browser.get(f"{base}/teams/TEAM-02", timeout=5).status_code == 404
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=20)
    assert "synthetic register as of 2026-11-23" in out
    assert (tmp_path / "var" / "demo.db").is_file()


def test_demo_creates_its_folder_private_whatever_the_umask(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``web --demo`` made var/ 0755 though everything the service writes is 0700/0600."""
    import monitor.web.demo as demo_module

    def refuse(*args: object, **kwargs: object) -> None:
        raise NotDemoDatabase("stop here")  # the folder is made before the database is opened

    monkeypatch.setattr(demo_module, "prepare_demo_database", refuse)
    old = os.umask(0o022)
    try:
        CliRunner().invoke(cli, ["web", "--demo", "--port", "1", "--var", "fresh/var"], standalone_mode=False)
    finally:
        os.umask(old)
    for folder in (tmp_path / "fresh", tmp_path / "fresh" / "var"):
        assert folder.is_dir() and (folder.stat().st_mode & 0o777) == 0o700, folder
