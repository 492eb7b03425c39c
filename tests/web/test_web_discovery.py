"""The identity provider is checked when ``visit-monitor web`` starts, and tried again until it answers.

A provider that cannot be reached, or whose discovery document names another issuer, used
to be found only at the first sign-in, logged without the address or the cause. Now the
command logs both at start (never the client secret), serves anyway, and sign-in works as
soon as the provider does; a document naming the wrong issuer is not kept, so fixing the
provider is enough.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from oidc_idp import CLIENT_ID, CLIENT_SECRET, running
from sqlalchemy import Engine
from web_support import build_register, make_app, web_config

from monitor.core.config import Config
from monitor.web import provider


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(autouse=True)
def _secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONITOR_OIDC_CLIENT_SECRET", CLIENT_SECRET)


@pytest.mark.slow
def test_web_logs_an_unreachable_provider_at_start_serves_and_signs_in_once_it_answers(
    tmp_path: Path, sqlite_engine: Engine, sqlite_url: str
) -> None:
    build_register(sqlite_engine)
    idp_port, port = _free_port(), _free_port()
    issuer = f"http://127.0.0.1:{idp_port}"
    (tmp_path / "monitor.toml").write_text(
        f'[database]\nurl = "{sqlite_url}"\n[web]\nissuer = "{issuer}"\nclient_id = "{CLIENT_ID}"\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    env["MONITOR_OIDC_CLIENT_SECRET"] = CLIENT_SECRET
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", "monitor.toml", "web", "--port", str(port)],
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
        assert requests.get(f"{base}/auth/login", allow_redirects=False, timeout=15).status_code == 503
        with running(idp_port):
            start = requests.get(f"{base}/auth/login", allow_redirects=False, timeout=15)
            assert start.status_code == 302 and start.headers["Location"].startswith(f"{issuer}/authorize")
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=20)
    first = next(line for line in out.splitlines() if "identity provider cannot be used" in line)
    assert f"{issuer}/.well-known/openid-configuration" in first and "Connection refused" in first
    assert CLIENT_SECRET not in out and "Traceback" not in out


def test_a_document_naming_another_issuer_is_logged_and_not_kept(
    sqlite_engine: Engine, make_config: Callable[..., Config], sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    build_register(sqlite_engine)
    with running() as idp:
        idp.discovery_issuer = "https://login.elsewhere.example/v2.0"
        app = make_app(web_config(make_config, sqlite_url, issuer=idp.issuer, client_id=CLIENT_ID), sqlite_engine)
        with caplog.at_level(logging.WARNING, logger="monitor.web.provider"):
            assert provider.check(app) is False
        line = caplog.records[-1].getMessage()
        assert "login.elsewhere.example" in line and idp.issuer in line
        client = app.test_client()
        assert client.get("/auth/login").status_code == 503
        idp.discovery_issuer = None  # the provider is put right: nothing to restart
        assert client.get("/auth/login").status_code == 302
        assert provider.check(app) is True


def test_keys_that_cannot_be_read_are_reported_with_their_address(
    sqlite_engine: Engine, make_config: Callable[..., Config], sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    with running() as idp:
        app = make_app(web_config(make_config, sqlite_url, issuer=idp.issuer, client_id=CLIENT_ID), sqlite_engine)
        idp.jwks = lambda: {"keys": []}  # type: ignore[method-assign]
        with caplog.at_level(logging.WARNING, logger="monitor.web.provider"):
            assert provider.check(app) is False
        assert f"{idp.issuer}/jwks" in caplog.records[-1].getMessage() and "no keys" in caplog.records[-1].getMessage()


def test_the_background_check_says_when_the_provider_answers(
    sqlite_engine: Engine, make_config: Callable[..., Config], sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    port = _free_port()
    config = web_config(make_config, sqlite_url, issuer=f"http://127.0.0.1:{port}", client_id=CLIENT_ID)
    app = make_app(config, sqlite_engine)
    stop = threading.Event()
    with caplog.at_level(logging.WARNING, logger="monitor.web.provider"):
        assert provider.check(app) is False
        watcher = threading.Thread(target=provider.watch, args=(app,), kwargs={"stop": stop, "wait": 0.05})
        watcher.start()
        try:
            with running(port):
                watcher.join(10)
        finally:
            stop.set()
    assert not watcher.is_alive()
    assert any("answers now" in r.getMessage() for r in caplog.records)
    assert any("cannot connect" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("exc", "words"),
    [
        (requests.ConnectionError("... [Errno 111] Connection refused')"), "cannot connect: Connection refused"),
        (requests.Timeout(), "no answer in time"),
        (requests.exceptions.SSLError(), "TLS failed"),
        (ValueError("Expecting value"), "not a JSON document"),
    ],
)
def test_causes_are_put_in_words(exc: BaseException, words: str) -> None:
    assert words in provider.cause(exc)
