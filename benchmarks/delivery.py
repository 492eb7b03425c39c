"""Time delivery of queued digests over one reused STARTTLS connection to a local relay.

Why: a national run queues about 2,500 digests every week; delivery must keep up (target:
at least 50 messages a second to a relay on the same network). This queues N messages of
digest size (the real templates, rendered for synthetic officers) in a scratch SQLite
register and sends them with ``deliver_pending`` to the aiosmtpd relay the tests use
(verified TLS, AUTH), so the figure includes the outbox claims, the recipient re-check,
the disclosure log and the wire. The relay runs in its own process, as a real one would:
sharing this process's interpreter it would be half of what is measured.

    .venv/bin/python benchmarks/delivery.py --messages 500
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from smtp_server import PASSWORD, SmtpRelay

from monitor.core import config as config_module
from monitor.digests.contexts import Backlog, OfficerDigest, Recipient
from monitor.digests.render import build_digest_message
from monitor.mail import outbox
from monitor.mail.delivery import deliver_pending
from monitor.register.db import make_engine, transaction, upgrade
from monitor.register.models import Officer
from monitor.rules.obligations import Item

NOW = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)
AS_OF = date(2026, 11, 23)


def digest(officer_id: str, email: str, cases: int) -> OfficerDigest:
    """An officer digest with ``cases`` overdue visits: about the size of a real one."""
    items = [
        Item("visit", f"RSO-{n:06d}", "medium", "TEAM-01", officer_id, date(2026, 10, 1), 53, date(2026, 4, 1), n % 3)
        for n in range(cases)
    ]
    backlog = Backlog.of(caseload=50, overdue=items, due_soon=[], reviews=[], notifications=[], unlocated=[], flag=2)
    return OfficerDigest(
        kind="officer",
        period="2026-W48",
        as_of=AS_OF,
        recipient=Recipient(officer_id, f"Officer {officer_id}", email),
        marking="OFFICIAL-SENSITIVE",
        include_names=False,
        failed_attempts_flag=2,
        due_soon_days=14,
        backlog=backlog,
        overdue_visits=items,
        warrant_flags=[i for i in items if i.failed_attempts >= 2],
    )


def serve(directory: Path) -> None:
    """Run the relay until stdin closes; print its [smtp] settings and, at the end, what it got."""
    relay = SmtpRelay(directory).start()
    print(json.dumps(relay.smtp_settings(timeout=30)), flush=True)
    sys.stdin.read()
    received = relay.received
    print(
        json.dumps(
            {
                "received": len(received),
                "connections": len({r.connection for r in received}),
                "cpu": time.process_time(),
            }
        )
    )
    relay.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--cases", type=int, default=25, help="Overdue visits per digest (about 30 KB of HTML).")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    with tempfile.TemporaryDirectory(prefix="vm-deliver-") as tmp:
        work = Path(tmp)
        server = subprocess.Popen(
            [sys.executable, __file__, "--serve", str(work / "relay")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert server.stdin is not None and server.stdout is not None
        smtp = json.loads(server.stdout.readline())
        os.environ["MONITOR_SMTP_PASSWORD"] = PASSWORD
        try:
            url = f"sqlite:///{work / 'bench.db'}"
            config = config_module.load(
                None,
                {"database": {"url": url}, "mail": {"transport": "smtp"}, "smtp": smtp},
            )
            engine = make_engine(url)
            upgrade(engine)
            size = 0
            with transaction(engine) as session:
                for n in range(args.messages):
                    officer_id = f"OM-{n:04d}"
                    email = f"om-{n:04d}@police.example"
                    session.add(
                        Officer(
                            officer_id=officer_id,
                            name=f"Officer {officer_id}",
                            email=email,
                            team="TEAM-01",
                            role="offender_manager",
                            active=True,
                            updated_at=NOW,
                        )
                    )
                    context = digest(officer_id, email, args.cases)
                    message, _ = build_digest_message(context, config)
                    row = outbox.enqueue(
                        session,
                        kind="officer",
                        recipient=officer_id,
                        email=email,
                        period="2026-W48",
                        message=message,
                        case_refs=context.case_refs,
                        now=NOW,
                    )
                    assert row is not None
                    size += len(row.content)
            started, cpu = time.perf_counter(), time.process_time()
            report = deliver_pending(engine, config, respect_backoff=False)
            seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
            server.stdin.close()
            relay_side = json.loads(server.stdout.readline())
            connections = relay_side["connections"]
            print(
                f"delivered {report.sent} of {args.messages} messages ({size / args.messages / 1024:.0f} KB each) "
                f"in {seconds:.2f} s: {report.sent / seconds:.0f} messages/s over {connections} connection(s); "
                f"failed {report.failed}, pending {report.pending}; this process's CPU {cpu:.2f} s "
                f"({report.sent / cpu:.0f} messages per CPU second); the relay's CPU {relay_side['cpu']:.2f} s"
            )
            engine.dispose()
        finally:
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
