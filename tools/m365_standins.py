#!/usr/bin/env python3
"""Run ``visit-monitor`` against local Microsoft 365 stand-ins, to see OAuth 2.0 delivery work.

Why: a tenant to try Graph or SMTP XOAUTH2 against is not always at hand, and the
failure paths (a wrong secret, throttling) cannot be provoked on a real one at will.
This starts the stand-ins the tests use (tests/m365_servers.py: the identity platform's
token endpoint, Graph's sendMail and Exchange's SMTP submission with AUTH XOAUTH2, all on
127.0.0.1 over HTTPS/STARTTLS with a throwaway CA), writes a config for each transport,
and runs the real command line against them:

    python tools/m365_standins.py            # scripted: each command, its output, exit code
    python tools/m365_standins.py --serve    # start, print the configs, wait for Ctrl-C

Needs the test extras (``pip install -e '.[test]'``). Everything is synthetic: the demo
register in seeds/, a fake tenant, client ID and secret.
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from m365_servers import CLIENT_SECRET, M365, MAILBOX, Answer  # noqa: E402 - after the path

AS_OF = "2026-11-23"  # the date the demo register in seeds/ was generated for


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_config(path: Path, sections: dict[str, dict[str, Any]]) -> Path:
    lines = []
    for name, values in sections.items():
        lines.append(f"[{name}]")
        lines += [f"{key} = {_toml(value)}" for key, value in values.items()]
        lines.append("")
    path.write_text("\n".join(lines))
    return path


def configs(work: Path, m365: M365) -> tuple[Path, Path]:
    """graph.toml (client secret) and smtp.toml (XOAUTH2, certificate), one database."""
    database = {"url": f"sqlite:///{work / 'monitor.db'}"}
    mail = {"from": MAILBOX, "allowed_domains": ["police.example"], "maildir": str(work / "outbox")}
    graph = write_config(
        work / "graph.toml",
        {
            "database": database,
            "mail": {**mail, "transport": "graph"},
            "smtp": m365.app_keys(),
            "graph": m365.graph_section(),
        },
    )
    smtp = write_config(
        work / "smtp.toml",
        {
            "database": database,
            "mail": {**mail, "transport": "smtp"},
            "smtp": {**m365.smtp_section(), **m365.certificate_keys()},
        },
    )
    return graph, smtp


def run(work: Path, *args: str, env: dict[str, str] | None = None) -> int:
    exe = str(Path(sys.executable).with_name("visit-monitor"))
    shown = " ".join(f"{k}={v}" for k, v in (env or {}).items())
    print(f"$ {shown + ' ' if shown else ''}visit-monitor {shlex.join(args)}", flush=True)
    proc = subprocess.run(
        [exe, *args], cwd=work, env={**os.environ, **(env or {})}, capture_output=True, text=True, check=False
    )
    out = (proc.stdout + proc.stderr).rstrip()
    if out:
        print(out)
    print(f"(exit {proc.returncode})\n", flush=True)
    return proc.returncode


def observed(m365: M365) -> None:
    print("# what the stand-ins saw")
    for r in m365.tenant.requests:
        outcome = f"ERROR {r.error}" if r.error else "ok"
        print(f"token endpoint: scope={r.scope} client auth={r.method or '-'}: {outcome}")
    statuses = Counter(status for status, _token in m365.graph.answers)
    tokens = len({token for _status, token in m365.graph.answers})
    counts = ", ".join(f"{n} x {status}" for status, n in sorted(statuses.items()))
    print(f"graph: POST /v1.0/users/{MAILBOX}/sendMail: {counts} (with {tokens} distinct tokens)")
    for login in m365.relay.xoauth2.logins:
        print(f"smtp: STARTTLS, AUTH XOAUTH2 user={login.user}: 235")
    rcpts = Counter(len(r.rcpt_tos) for r in m365.relay.received)
    print(f"smtp: {len(m365.relay.received)} messages from {MAILBOX}, recipients per message: {dict(rcpts)}")
    print()


def scripted(work: Path, m365: M365) -> None:
    graph, smtp = configs(work, m365)
    secret = {"MONITOR_SMTP_CLIENT_SECRET": CLIENT_SECRET}
    print("# setup: the synthetic demo register\n")
    run(work, "--config", str(graph), "db", "upgrade")
    run(work, "--config", str(graph), "import", str(REPO / "seeds"))

    print("# 1. Graph, client secret: Graph throttles once (429, Retry-After 1) and is busy once (503)\n")
    m365.graph.script += [Answer(429, retry_after="1"), Answer(503)]
    run(work, "--config", str(graph), "digest", "--kind", "officer", "--as-of", AS_OF, env=secret)
    run(work, "--config", str(graph), "deliver", env=secret)

    print("# 2. A wrong client secret: clear error, nothing spent, exit 1; then the right one\n")
    run(
        work,
        "--config",
        str(graph),
        "digest",
        "--kind",
        "team",
        "--as-of",
        AS_OF,
        env={"MONITOR_SMTP_CLIENT_SECRET": "wrong"},
    )
    run(work, "--config", str(graph), "deliver", env={"MONITOR_SMTP_CLIENT_SECRET": "wrong"})
    run(work, "--config", str(graph), "deliver", env=secret)

    print("# 3. Graph answers 400 for one message: a dead letter\n")
    m365.graph.script.append(Answer(400, code="ErrorMimeContentInvalid", message="The MIME content is not valid."))
    run(work, "--config", str(graph), "digest", "--kind", "force", "--as-of", AS_OF, env=secret)

    print("# 4. SMTP with XOAUTH2 (certificate, no secret): the escalation digests\n")
    run(work, "--config", str(smtp), "digest", "--kind", "escalation", "--as-of", AS_OF)
    observed(m365)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--serve", action="store_true", help="start the stand-ins and wait for Ctrl-C")
    parser.add_argument("--dir", type=Path, help="working folder (default: a new temporary one)")
    args = parser.parse_args(argv)
    work = (args.dir or Path(tempfile.mkdtemp(prefix="m365-standins-"))).resolve()
    work.mkdir(parents=True, exist_ok=True)
    logging.getLogger("mail.log").setLevel(logging.ERROR)  # the relay stand-in's own chatter
    m365 = M365(work / "m365").start()
    try:
        if not args.serve:
            scripted(work, m365)
            return 0
        graph, smtp = configs(work, m365)
        print(f"stand-ins running; configs: {graph} and {smtp}")
        print(f"export MONITOR_SMTP_CLIENT_SECRET={CLIENT_SECRET}   # fake, for the stand-in only")
        print(f"visit-monitor --config {graph} db upgrade && visit-monitor --config {graph} import {REPO / 'seeds'}")
        print(f"visit-monitor --config {graph} digest --as-of {AS_OF}; visit-monitor --config {smtp} deliver")
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return 0
    finally:
        m365.stop()


if __name__ == "__main__":
    sys.exit(main())
