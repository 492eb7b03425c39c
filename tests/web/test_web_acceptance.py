"""Acceptance: ``visit-monitor web`` on a register it has never seen, signed in through a real provider.

A generated register (``visit-monitor seed``, its own seed), imported with the CLI, served
by the ``web`` command (waitress, a subprocess) configured only through ``[web]`` and
``$MONITOR_OIDC_CLIENT_SECRET``, and oidc-provider-mock as the force's provider. A
supervisor, a stranger and the lead sign in with plain HTTP (the provider's form posted
as a browser would) and each sees exactly their scope: the supervisor's team page lists
exactly ``report --team`` 's overdue visits, nothing of other teams.
"""

from __future__ import annotations

import csv
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from click.testing import CliRunner

from monitor.cli.app import cli
from monitor.core.clock import today

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _sign_in(base: str, provider: str, address: str) -> tuple[requests.Session, requests.Response]:
    sub = f"acceptance-{address}"
    assert (
        requests.put(
            f"{provider}/users/{quote(sub)}", json={"email": address, "email_verified": True}, timeout=10
        ).status_code
        == 204
    )
    browser = requests.Session()
    form = browser.get(f"{base}/", timeout=10)  # not signed in: on to the provider's form
    assert form.url.startswith(f"{provider}/oauth2/authorize") and 'placeholder="sub"' in form.text
    return browser, browser.post(form.url, data={"sub": sub}, timeout=20)


def test_supervisor_stranger_and_lead_on_an_unseen_register(tmp_path: Path, oidc_provider: str) -> None:
    as_of = today("Europe/London")
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    config = tmp_path / "monitor.toml"
    config.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path / "register.db"}"\n'
        f'[web]\nbase_url = "{base}"\nissuer = "{oidc_provider}"\nclient_id = "visit-monitor-acceptance"\n'
    )
    runner = CliRunner()
    for args in (
        ["seed", "--people", "1500", "--seed", "4711", "--as-of", as_of.isoformat(), "--out", str(tmp_path / "x")],
        ["db", "upgrade"],
        ["import", str(tmp_path / "x")],
    ):
        result = runner.invoke(cli, ["--config", str(config), *args])
        assert result.exit_code == 0, result.output
    with (tmp_path / "x" / "officers.csv").open(encoding="utf-8") as fh:
        officers = list(csv.DictReader(fh))
    supervisor = next(o for o in officers if o["role"] == "supervisor" and o["active"] == "true")
    lead = next(o for o in officers if o["role"] == "lead" and o["active"] == "true")
    team = supervisor["team"]
    report = runner.invoke(cli, ["--config", str(config), "report", "--team", team, "--format", "json"])
    expected = [item["ref"] for item in json.loads(report.output)["overdue_visits"]]
    other_refs = {row["ref"] for row in csv.DictReader((tmp_path / "x" / "offenders.csv").open(encoding="utf-8"))} - {
        row["ref"] for row in csv.DictReader((tmp_path / "x" / "offenders.csv").open()) if row["team"] == team
    }

    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    env["MONITOR_OIDC_CLIENT_SECRET"] = "acceptance-secret"
    server = subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(config), "web", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        for _ in range(150):
            try:
                requests.get(f"{base}/sign-in", timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.2)

        browser, page = _sign_in(base, oidc_provider, supervisor["email"].upper())
        assert page.status_code == 200 and page.url == f"{base}/teams/{team}"
        cases = page.text.split('id="cases"', 1)[1].split("Offender managers", 1)[0]
        assert re.findall(r"RSO-\d{6}", cases) == expected
        assert not other_refs & set(re.findall(r"RSO-\d{6}", page.text))
        assert browser.get(f"{base}/force", timeout=10).status_code == 404

        _stranger, refused = _sign_in(base, oidc_provider, "someone@elsewhere.example")
        assert refused.status_code == 403 and "RSO-" not in refused.text

        chief, force = _sign_in(base, oidc_provider, lead["email"])
        assert force.status_code == 200 and force.url == f"{base}/force"
        teams = sorted({o["team"] for o in officers if o["role"] != "lead"})
        side_by_side = force.text.split("Teams by overdue home visits", 1)[1]  # after the governance view
        assert sorted(re.findall(r'<th scope="row"><a href="/teams/([^"]+)">', side_by_side)) == teams
        assert chief.get(f"{base}/teams/{team}", timeout=10).status_code == 200
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=20)
    assert "Serving on" in output
