"""Issue "Templated digests and safe delivery", end to end: a register the code has not seen,
`visit-monitor digest --kind all` through the CLI, a real STARTTLS+AUTH relay, and the relay
misbehaving in every way the issue names.

The expected recipients and case lists come from the scan (itself checked row for row
against the independent oracle in test_oracle_agreement.py) and the officer directory.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from smtp_server import SmtpRelay, smtp_relay
from sqlalchemy import Engine, select

from monitor.cli.app import cli
from monitor.core import config as config_module
from monitor.register.db import reading
from monitor.register.importer import import_directory
from monitor.register.models import Disclosure, Officer, OutboxMessage
from monitor.rules.scan import scan
from monitor.synthetic.generator import generate
from monitor.synthetic.people import SURNAMES

__all__ = ["smtp_relay"]  # the fixture, imported for pytest

AS_OF = date(2026, 11, 23)  # a Monday


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_config(path: Path, db_url: str, relay: SmtpRelay, **smtp: Any) -> Path:
    sections: dict[str, dict[str, Any]] = {
        "database": {"url": db_url},
        "mail": {"transport": "smtp", "allowed_domains": ["police.example"], "retry_base_seconds": 1},
        "smtp": relay.smtp_settings(**smtp),
    }
    lines = []
    for name, values in sections.items():
        lines.append(f"[{name}]")
        lines += [f"{k} = {_toml(v)}" for k, v in values.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def register(engine: Engine, db_url: str, tmp_path: Path) -> dict[str, Any]:
    """A generated register (seed unknown to every other test), imported."""
    extract = tmp_path / "extract"
    generate(420, seed=8675309, as_of=AS_OF, out_dir=extract)
    cfg = config_module.load(overrides={"database": {"url": db_url}})
    assert import_directory(engine, cfg, extract).exit_code == 0
    with reading(engine) as s:
        obligations = scan(s, cfg.policy, AS_OF)
        officers = {o.officer_id: o for o in s.scalars(select(Officer))}
    return {"obligations": obligations, "officers": officers}


def run_cli(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args], catch_exceptions=False)


def kind_of(subject: str) -> str:
    if "ESCALATION" in subject:
        return "escalation"
    if "Your visits" in subject:
        return "officer"
    if "Force RSO backlog" in subject:
        return "force"
    assert re.search(r"Team \S+ backlog", subject), subject
    return "team"


def mailable(officer: Officer | None, role: str) -> bool:
    return (
        officer is not None
        and officer.active
        and officer.role == role
        and officer.email.lower().endswith("@police.example")
    )


def by_recipient(relay: SmtpRelay) -> dict[tuple[str, str], list[Any]]:
    out: dict[tuple[str, str], list[Any]] = {}
    for r in relay.received:
        (rcpt,) = r.rcpt_tos
        out.setdefault((rcpt.lower(), kind_of(r.message["Subject"])), []).append(r)
    return out


def test_digest_all_reaches_exactly_the_right_people(
    register: dict[str, Any], smtp_relay: SmtpRelay, db_url: str, tmp_path: Path
) -> None:
    config = write_config(tmp_path / "monitor.toml", db_url, smtp_relay)
    obligations, officers = register["obligations"], register["officers"]

    # --preview first: files, and nothing sent or queued.
    preview = run_cli(config, "digest", "--kind", "all", "--as-of", AS_OF.isoformat(), "--preview", str(tmp_path / "p"))
    assert preview.exit_code == 0, preview.output
    assert list((tmp_path / "p").glob("*.eml")) and smtp_relay.received == []

    result = run_cli(config, "digest", "--kind", "all", "--as-of", AS_OF.isoformat())
    assert result.exit_code == 0, result.output
    got = by_recipient(smtp_relay)

    # Offender managers: exactly one digest each, naming every one of their overdue cases.
    overdue_by_om: dict[str, list[str]] = {}
    for item in obligations.overdue_visits:
        overdue_by_om.setdefault(item.offender_manager, []).append(item.ref)
    assert overdue_by_om
    refused = 0
    for om, refs in overdue_by_om.items():
        officer = officers.get(om)
        if not mailable(officer, "offender_manager"):
            refused += 1
            if officer is not None:
                assert (officer.email.lower(), "officer") not in got, om
            continue
        assert officer is not None
        (received,) = got[(officer.email.lower(), "officer")]
        text = received.message.get_body(("plain",)).get_content()
        for ref in refs:
            assert ref in text, (om, ref)
    assert refused >= 1, "the generated register should hold an unmailable offender manager"

    # Supervisors: one team digest each, naming the team's most overdue case.
    worst_by_team: dict[str, str] = {}
    for item in sorted(obligations.overdue_visits, key=lambda i: (-i.days_overdue, i.sort_key)):
        worst_by_team.setdefault(item.team, item.ref)
    supervisors = [o for o in officers.values() if mailable(o, "supervisor") and o.team in worst_by_team]
    assert supervisors
    for sup in supervisors:
        (received,) = got[(sup.email.lower(), "team")]
        assert worst_by_team[sup.team] in received.message.get_body(("plain",)).get_content()

    # Leads: one force digest each.
    leads = [o for o in officers.values() if mailable(o, "lead")]
    assert leads
    for lead in leads:
        assert len(got[(lead.email.lower(), "force")]) == 1

    # Every message: verified STARTTLS, AUTH, marked, multipart, one recipient, no names, no raw markup.
    assert all(len(v) == 1 for v in got.values()), "someone got the same digest twice"
    for r in smtp_relay.received:
        msg = r.message
        assert r.tls and r.authenticated
        assert len(r.rcpt_tos) == 1 and r.rcpt_tos[0].lower().endswith("@police.example")
        assert msg["Subject"].startswith("[OFFICIAL-SENSITIVE]")
        assert msg.get_content_type() == "multipart/alternative"
        assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
        body = msg.get_body(("plain",)).get_content() + msg.get_body(("html",)).get_content()
        assert body.count("OFFICIAL-SENSITIVE") >= 4  # top and bottom of both parts
        assert not any(surname in body for surname in SURNAMES)
        assert "<script" not in body.lower()
    assert not any(addr.endswith("partner.example") for addr, _ in got)

    # A second run sends nothing.
    before = len(smtp_relay.received)
    again = run_cli(config, "digest", "--kind", "all", "--as-of", AS_OF.isoformat())
    assert again.exit_code == 0, again.output
    assert len(smtp_relay.received) == before


def _outbox(db_url: str) -> list[OutboxMessage]:
    from monitor.register.db import make_engine

    eng = make_engine(db_url)
    try:
        with reading(eng) as s:
            return list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
    finally:
        eng.dispose()


def _disclosures(db_url: str) -> list[Disclosure]:
    from monitor.register.db import make_engine

    eng = make_engine(db_url)
    try:
        with reading(eng) as s:
            return list(s.scalars(select(Disclosure).order_by(Disclosure.id)))
    finally:
        eng.dispose()


def test_every_digest_arrives_despite_a_misbehaving_relay(
    register: dict[str, Any], smtp_relay: SmtpRelay, db_url: str, tmp_path: Path
) -> None:
    config = write_config(tmp_path / "monitor.toml", db_url, smtp_relay)
    officers = register["officers"]
    om = sorted(o.email.lower() for o in officers.values() if mailable(o, "offender_manager"))
    refused_address = om[0]

    # 1. Relay down: everything is queued and waits; nothing is lost.
    smtp_relay.stop()
    down = run_cli(config, "digest", "--kind", "all", "--as-of", AS_OF.isoformat())
    assert down.exit_code == 1, down.output  # queued, but not delivered: says how many and why (issue 8)
    assert "not delivered: relay unreachable" in down.output
    queued = _outbox(db_url)
    assert queued and all(m.status == "pending" and m.attempts == 0 for m in queued)

    # 2. Back up, but 451 at DATA for the first two, 550 for one recipient, and the
    #    connection dropped after DATA once.
    smtp_relay.start()
    smtp_relay.handler.fail_data_next = 2
    smtp_relay.handler.reject_rcpt[refused_address] = "550 5.1.1 Mailbox unavailable"
    smtp_relay.handler.drop_after_data_next = 1
    for _ in range(6):
        result = run_cli(config, "deliver")
        if all(m.status in ("sent", "failed") for m in _outbox(db_url)):
            break
    final = _outbox(db_url)
    assert Counter(m.status for m in final) == {"sent": len(final) - 1, "failed": 1}
    (dead,) = [m for m in final if m.status == "failed"]
    assert dead.email.lower() == refused_address
    assert "550" in (dead.last_error or "")
    assert result.exit_code in (0, 1)

    # Every other digest arrived; once each, or twice with one Message-ID after the drop.
    ids = Counter(r.message_id for r in smtp_relay.received)
    assert set(ids) == {m.message_id for m in final if m.status == "sent"}
    assert sorted(ids.values(), reverse=True)[0] <= 2
    assert list(ids.values()).count(2) == 1  # exactly the dropped one, resent with the same Message-ID

    # The refused one is reported, logged, and never retried.
    outcomes = Counter(d.outcome for d in _disclosures(db_url) if d.email.lower() == refused_address)
    assert outcomes["failed"] == 1
    received_before = len(smtp_relay.received)
    later = run_cli(config, "deliver")
    assert later.exit_code == 0
    assert len(smtp_relay.received) == received_before
    assert _outbox(db_url)[0].status in ("sent", "failed")


def test_nothing_is_sent_to_an_untrusted_relay(
    register: dict[str, Any], smtp_relay: SmtpRelay, db_url: str, tmp_path: Path
) -> None:
    # A CA the relay's certificate does not chain to: the batch must stop before any DATA.
    import trustme

    other_ca = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other_ca))
    config = write_config(tmp_path / "monitor.toml", db_url, smtp_relay, ca_file=str(other_ca))
    result = run_cli(config, "digest", "--kind", "all", "--as-of", AS_OF.isoformat())
    assert result.exit_code == 1
    assert "certificate" in result.output.lower()
    assert smtp_relay.received == []
    assert all(m.status == "pending" and m.attempts == 0 for m in _outbox(db_url))
    assert not [d for d in _disclosures(db_url) if d.outcome == "sent"]

    # With the right CA the same queue goes out, once each.
    config = write_config(tmp_path / "monitor.toml", db_url, smtp_relay)
    assert run_cli(config, "deliver").exit_code == 0
    assert len(smtp_relay.received) == len(_outbox(db_url)) == len({r.message_id for r in smtp_relay.received})
