"""Issue 11, "Send through Microsoft 365 with OAuth 2.0": SMTP XOAUTH2 and Microsoft Graph.

Against local stand-ins that check what the real services check (tests/m365_servers.py):
the identity platform's token endpoint (grant, client secret or certificate assertion,
scope, token lifetime), Exchange's SMTP submission with AUTH XOAUTH2 only, and Graph's
sendMail. No mocks: every token is requested, signed, checked and expired on the wire.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from m365_servers import CLIENT_SECRET, GRAPH, M365, MAILBOX, OUTLOOK, Answer, AppCertificate, m365
from smtp_server import make_test_message
from sqlalchemy import Engine, select

from monitor.cli.app import cli
from monitor.core import config as config_module
from monitor.core.config import Config
from monitor.mail import outbox
from monitor.mail.delivery import deliver_pending
from monitor.mail.transports import make_transport
from monitor.mail.transports.base import Outgoing, PermanentFailure
from monitor.mail.transports.graph import GraphTransport
from monitor.register.db import reading, transaction
from monitor.register.importer import import_directory
from monitor.register.models import Disclosure, Officer, OutboxMessage
from monitor.synthetic.generator import generate

__all__ = ["m365"]  # the fixture, imported for pytest

NOW = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)
BODY_MARKER = "SYNTHETIC-BODY-m365: overdue visit to case C-0001 by 42 days"


# --- helpers -----------------------------------------------------------------------------


def queue(engine: Engine, officer_id: str) -> int:
    email = f"{officer_id.lower()}@police.example"
    with transaction(engine) as session:
        session.add(
            Officer(
                officer_id=officer_id,
                name=f"Officer {officer_id}",
                email=email,
                team="T1",
                role="offender_manager",
                active=True,
                updated_at=NOW,
            )
        )
    with transaction(engine) as session:
        row = outbox.enqueue(
            session,
            kind="officer",
            recipient=officer_id,
            email=email,
            period="2026-W48",
            message=make_test_message(email, text=BODY_MARKER),
            case_refs=["C-0001"],
            now=NOW,
        )
        assert row is not None
        return row.id


def rows(engine: Engine) -> dict[int, OutboxMessage]:
    with reading(engine) as session:
        return {r.id: r for r in session.scalars(select(OutboxMessage))}


def disclosures(engine: Engine) -> list[Disclosure]:
    with reading(engine) as session:
        return list(session.scalars(select(Disclosure).order_by(Disclosure.id)))


def assert_nothing_spent(engine: Engine) -> None:
    """The fault was ours: every message still pending, no attempt counted, nothing disclosed."""
    for row in rows(engine).values():
        assert (row.status, row.attempts) == ("pending", 0)
    assert disclosures(engine) == []


@pytest.fixture
def graph_config(make_config: Callable[..., Config], db_url: str, m365: M365) -> Callable[..., Config]:
    def _make(smtp: dict[str, Any] | None = None, graph: dict[str, Any] | None = None, **mail: Any) -> Config:
        section = {"transport": "graph", "from": MAILBOX, "retry_base_seconds": 1, "max_attempts": 3, **mail}
        return make_config(
            db_url, mail=section, smtp=m365.app_keys(**(smtp or {})), graph=m365.graph_section(**(graph or {}))
        )

    return _make


@pytest.fixture
def xoauth2_config(make_config: Callable[..., Config], db_url: str, m365: M365) -> Callable[..., Config]:
    def _make(smtp: dict[str, Any] | None = None, **mail: Any) -> Config:
        section = {"transport": "smtp", "from": MAILBOX, "retry_base_seconds": 1, "max_attempts": 3, **mail}
        return make_config(db_url, mail=section, smtp=m365.smtp_section(**(smtp or {})))

    return _make


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
        lines += [f"{k} = {_toml(v)}" for k, v in values.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def run_cli(config: Path, *args: str) -> Result:
    return CliRunner().invoke(cli, ["--config", str(config), *args])


# --- digests out, end to end through the CLI -------------------------------------------------------


AS_OF = date(2026, 11, 23)


@pytest.mark.parametrize("transport", ["smtp", "graph"])
def test_digests_go_out_through_microsoft_365(
    engine: Engine, db_url: str, tmp_path: Path, m365: M365, transport: str
) -> None:
    """`visit-monitor digest` then `deliver`: officer digests over XOAUTH2 / Graph, one token."""
    extract = tmp_path / "extract"
    generate(240, seed=4242, as_of=AS_OF, out_dir=extract)
    cfg = config_module.load(overrides={"database": {"url": db_url}})
    assert import_directory(engine, cfg, extract).exit_code == 0
    mail = {"transport": transport, "from": MAILBOX, "allowed_domains": ["police.example"]}
    smtp = m365.smtp_section() if transport == "smtp" else m365.app_keys()
    path = write_config(
        tmp_path / "monitor.toml",
        {"database": {"url": db_url}, "mail": mail, "smtp": smtp, "graph": m365.graph_section()},
    )
    result = run_cli(path, "digest", "--kind", "officer", "--as-of", AS_OF.isoformat())
    assert result.exit_code == 0, result.output
    with reading(engine) as session:
        queued = list(session.scalars(select(OutboxMessage)))
    assert len(queued) >= 3 and all(r.status == "sent" for r in queued)
    sent = {r.message_id: r for r in queued}

    if transport == "smtp":
        received = [(r.message_id, r.rcpt_tos, r.data) for r in m365.relay.received]
        assert all(r.tls and r.authenticated for r in m365.relay.received)
        assert len(m365.relay.xoauth2.logins) == 1 and m365.relay.xoauth2.logins[0].user == MAILBOX
        assert m365.tenant.issued(OUTLOOK) and not m365.tenant.issued(GRAPH)
    else:
        received = [(str(g.message["Message-ID"]), [str(g.message["To"])], g.mime) for g in m365.graph.received]
        assert {g.mailbox for g in m365.graph.received} == {MAILBOX}
        assert all(g.content_type.startswith("text/plain") for g in m365.graph.received)
        assert m365.tenant.issued(GRAPH) and not m365.tenant.issued(OUTLOOK)
    assert len(m365.tenant.issued()) == 1  # one token for the whole batch
    assert sorted(mid for mid, _to, _data in received) == sorted(sent)
    for message_id, to, data in received:
        row = sent[message_id]
        assert to == [row.email]  # exactly one recipient
        assert data.rstrip(b"\r\n") == row.content.rstrip(b"\r\n")  # the stored bytes, unchanged
    sent_log = [d for d in disclosures(engine) if d.outcome != "blocked"]  # blocked: refused recipients
    assert {(d.transport, d.outcome) for d in sent_log} == {(transport, "sent")} and len(sent_log) == len(sent)

    # `deliver` with nothing pending contacts nobody; the report names what went.
    result = run_cli(path, "deliver")
    assert result.exit_code == 0 and "sent 0, pending 0, failed 0, blocked 0" in result.output
    assert len(m365.tenant.requests) == 1


# --- SMTP XOAUTH2 ----------------------------------------------------------------------------------


@pytest.mark.parametrize("credential", ["secret", "certificate", "certificate and key in one file"])
def test_xoauth2_signs_in_with_secret_or_certificate(
    engine: Engine, m365: M365, xoauth2_config: Callable[..., Config], credential: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    smtp: dict[str, Any] = {}
    if credential != "secret":
        monkeypatch.delenv("MONITOR_SMTP_CLIENT_SECRET")  # the certificate alone must do
        smtp = m365.certificate_keys(combined=credential != "certificate")
    a, b = queue(engine, "OM1"), queue(engine, "OM2")
    report = deliver_pending(engine, xoauth2_config(smtp))
    assert (report.sent, report.pending, report.failed, report.ok) == (2, 0, 0, True)
    (request,) = m365.tenant.requests
    assert (request.scope, request.method, request.error) == (f"{OUTLOOK}/.default", credential.split()[0], "")
    assert len({r.connection for r in m365.relay.received}) == 1  # one session for the batch
    assert [r.rcpt_tos for r in m365.relay.received] == [[rows(engine)[i].email] for i in (a, b)]
    assert [r.mail_from for r in m365.relay.received] == [MAILBOX, MAILBOX]
    assert [(d.transport, d.outcome) for d in disclosures(engine)] == [("smtp", "sent")] * 2


def test_token_is_reused_by_the_next_run(engine: Engine, m365: M365, xoauth2_config: Callable[..., Config]) -> None:
    queue(engine, "OM1")
    assert deliver_pending(engine, xoauth2_config()).sent == 1
    queue(engine, "OM2")
    assert deliver_pending(engine, xoauth2_config()).sent == 1
    assert len(m365.tenant.requests) == 1  # still good: no second token request
    assert len(m365.relay.xoauth2.logins) == 2 and len({login.token for login in m365.relay.xoauth2.logins}) == 1


@pytest.mark.parametrize("transport", ["smtp", "graph"])
def test_a_cached_token_that_is_refused_is_renewed_once(
    engine: Engine,
    m365: M365,
    xoauth2_config: Callable[..., Config],
    graph_config: Callable[..., Config],
    transport: str,
) -> None:
    config = xoauth2_config() if transport == "smtp" else graph_config()
    queue(engine, "OM1")
    assert deliver_pending(engine, config).sent == 1
    m365.tenant.revoke_tokens()  # the cached token is still "good" by its expiry, but refused
    queue(engine, "OM2")
    report = deliver_pending(engine, config)
    assert (report.sent, report.ok) == (1, True), report.summary_lines()
    assert len(m365.tenant.issued()) == 2
    if transport == "smtp":
        assert len(m365.relay.xoauth2.auth_failures) == 1 and len(m365.relay.xoauth2.logins) == 2
    else:
        assert [status for status, _ in m365.graph.answers] == [202, 401, 202]
    assert all(r.attempts == 1 for r in rows(engine).values())


def test_smtp_token_expiring_mid_batch_is_renewed(
    engine: Engine, m365: M365, xoauth2_config: Callable[..., Config]
) -> None:
    """2-second tokens, and a relay slow to take the first message: the rest go with a new one."""
    m365.tenant.token_lifetime = 2
    ids = [queue(engine, f"OM{i}") for i in range(3)]
    m365.relay.xoauth2.delay_data_next = 2.2
    report = deliver_pending(engine, xoauth2_config())
    assert (report.sent, report.pending, report.ok) == (3, 0, True), report.summary_lines()
    assert len(m365.tenant.issued(OUTLOOK)) == 2
    logins = m365.relay.xoauth2.logins
    assert len(logins) == 2 and logins[0].token != logins[1].token  # signed in again, new token
    assert m365.relay.xoauth2.auth_failures == []  # renewed before the relay had to refuse it
    assert all(rows(engine)[i].attempts == 1 for i in ids)


def test_smtp_app_without_send_permission_stops_the_batch(
    engine: Engine, m365: M365, xoauth2_config: Callable[..., Config]
) -> None:
    m365.tenant.roles[OUTLOOK] = set()  # SMTP.SendAsApp not granted
    queue(engine, "OM1")
    queue(engine, "OM2")
    report = deliver_pending(engine, xoauth2_config())
    assert report.stopped is not None and "refused our login: 535 5.7.3" in report.stopped
    assert (report.sent, report.failed, report.ok) == (0, 0, False)
    assert m365.relay.received == []
    assert_nothing_spent(engine)


def test_smtp_sender_other_than_the_mailbox_stops_the_batch(
    engine: Engine, m365: M365, xoauth2_config: Callable[..., Config]
) -> None:
    queue(engine, "OM1")
    report = deliver_pending(engine, xoauth2_config(**{"from": "someone-else@monitor.police.example"}))
    assert report.stopped is not None and "5.7.60" in report.stopped
    assert_nothing_spent(engine)


# --- Graph -------------------------------------------------------------------------------------------


def test_graph_sends_each_message_as_mime_to_one_recipient(
    engine: Engine, m365: M365, graph_config: Callable[..., Config]
) -> None:
    a, b = queue(engine, "OM1"), queue(engine, "OM2")
    report = deliver_pending(engine, graph_config())
    assert (report.sent, report.pending, report.failed, report.ok) == (2, 0, 0, True)
    stored = rows(engine)
    assert [g.mime for g in m365.graph.received] == [stored[a].content, stored[b].content]
    assert [str(g.message["Message-ID"]) for g in m365.graph.received] == [stored[a].message_id, stored[b].message_id]
    assert [g.mailbox for g in m365.graph.received] == [MAILBOX, MAILBOX]
    log = disclosures(engine)
    assert [(d.outbox_id, d.transport, d.outcome) for d in log] == [(a, "graph", "sent"), (b, "graph", "sent")]
    assert all((d.relay_reply or "").startswith("202 Accepted request-id ") for d in log)
    assert (m365.tenant.requests[0].scope, len(m365.tenant.requests)) == (f"{GRAPH}/.default", 1)


def test_graph_mailbox_defaults_and_can_be_set(
    make_config: Callable[..., Config], m365: M365, graph_config: Callable[..., Config]
) -> None:
    assert graph_config().graph.mailbox == MAILBOX  # [mail] from
    assert graph_config(smtp={"username": "sender@monitor.police.example"}).graph.mailbox == (
        "sender@monitor.police.example"
    )
    assert graph_config(graph={"mailbox": "digests@monitor.police.example"}).graph.mailbox == (
        "digests@monitor.police.example"
    )
    transport = make_transport(graph_config())  # constructed without any I/O
    assert isinstance(transport, GraphTransport)
    assert transport.url == f"{m365.graph.base_url}/users/{MAILBOX}/sendMail"
    assert m365.tenant.requests == []


def test_graph_token_expiring_mid_batch_is_renewed(
    engine: Engine, m365: M365, graph_config: Callable[..., Config]
) -> None:
    m365.tenant.token_lifetime = 2
    ids = [queue(engine, f"OM{i}") for i in range(3)]
    m365.graph.delay_next = 2.2
    report = deliver_pending(engine, graph_config())
    assert (report.sent, report.ok) == (3, True), report.summary_lines()
    assert len(m365.tenant.issued(GRAPH)) == 2
    assert [status for status, _ in m365.graph.answers] == [202, 202, 202]  # never sent an expired token
    assert len({token for _, token in m365.graph.answers}) == 2
    assert all(rows(engine)[i].attempts == 1 for i in ids)


def test_graph_401_renews_the_token_once_and_resends(
    engine: Engine, m365: M365, graph_config: Callable[..., Config]
) -> None:
    """A token Graph no longer takes (revoked, clock skew): one renewal, then the same message."""
    a, b = queue(engine, "OM1"), queue(engine, "OM2")
    config = graph_config()
    assert deliver_pending(engine, config).sent == 2
    c = queue(engine, "OM3")
    m365.graph.script.append(Answer(401, message="Lifetime validation failed, the token is expired."))
    report = deliver_pending(engine, config)
    assert (report.sent, report.ok) == (1, True)
    assert [s for s, _ in m365.graph.answers] == [202, 202, 401, 202]
    assert len(m365.tenant.issued(GRAPH)) == 2
    assert [rows(engine)[i].attempts for i in (a, b, c)] == [1, 1, 1]


@pytest.mark.parametrize("refusal", ["401 twice", "403 scripted", "Mail.Send not granted", "outside access policy"])
def test_graph_401_and_403_stop_the_batch_without_spending_attempts(
    engine: Engine, m365: M365, graph_config: Callable[..., Config], refusal: str
) -> None:
    if refusal == "401 twice":
        m365.graph.script += [Answer(401), Answer(401)]
    elif refusal == "403 scripted":
        m365.graph.script.append(Answer(403))
    elif refusal == "Mail.Send not granted":
        m365.tenant.roles[GRAPH] = set()
    else:
        m365.tenant.app_scope = {"other-mailbox@monitor.police.example"}
    queue(engine, "OM1")
    queue(engine, "OM2")
    report = deliver_pending(engine, graph_config())
    assert report.stopped is not None and not report.ok
    expected = "Graph refused our token: 401" if refusal.startswith("401") else "Graph refused permission"
    assert expected in report.stopped
    assert len(m365.graph.answers) == (2 if refusal == "401 twice" else 1)  # the second message never went
    assert m365.graph.received == []
    assert_nothing_spent(engine)


def test_graph_unknown_mailbox_stops_the_batch(engine: Engine, m365: M365, graph_config: Callable[..., Config]) -> None:
    queue(engine, "OM1")
    report = deliver_pending(engine, graph_config(graph={"mailbox": "nobody@monitor.police.example"}))
    assert report.stopped is not None and "graph.mailbox" in report.stopped and "404 ErrorInvalidUser" in report.stopped
    assert "nobody@" not in report.stopped  # Graph's message names the address: masked
    assert_nothing_spent(engine)


@pytest.mark.parametrize("form", ["seconds", "HTTP date"])
def test_graph_429_with_short_retry_after_waits_and_sends(
    engine: Engine, m365: M365, graph_config: Callable[..., Config], form: str
) -> None:
    oid = queue(engine, "OM1")
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=2), usegmt=True)
    m365.graph.script.append(Answer(429, retry_after="1" if form == "seconds" else later))
    started = time.monotonic()
    report = deliver_pending(engine, graph_config())
    assert (report.sent, report.ok) == (1, True)
    assert time.monotonic() - started >= 1.0  # Retry-After honoured
    assert [s for s, _ in m365.graph.answers] == [429, 202]
    assert rows(engine)[oid].attempts == 1
    assert [d.outcome for d in disclosures(engine)] == ["sent"]


def test_graph_429_with_long_retry_after_stops_offering_and_retries_later(
    engine: Engine, m365: M365, graph_config: Callable[..., Config]
) -> None:
    a, b = queue(engine, "OM1"), queue(engine, "OM2")
    m365.graph.script.append(Answer(429, retry_after="120"))
    report = deliver_pending(engine, graph_config())
    assert (report.sent, report.pending, report.failed, report.ok) == (
        0,
        2,
        0,
        False,
    )  # not delivered: deliver exits 1 and says why (issue 8)
    assert len(m365.graph.answers) == 1  # throttled: the second message is not even tried
    assert report.unreachable is not None  # no attempt spent (issue 8); the run says why
    assert "429 ApplicationThrottled" in report.unreachable and "Retry-After 120 s" in report.unreachable
    for oid in (a, b):
        row = rows(engine)[oid]
        assert row.status == "pending" and row.attempts == 0
    # Throttling over: the next run sends both with the same Message-IDs.
    report = deliver_pending(engine, graph_config(), respect_backoff=False)
    assert report.sent == 2
    assert [str(g.message["Message-ID"]) for g in m365.graph.received] == [rows(engine)[i].message_id for i in (a, b)]


def test_graph_503_is_retried_later(engine: Engine, m365: M365, graph_config: Callable[..., Config]) -> None:
    a, b = queue(engine, "OM1"), queue(engine, "OM2")
    m365.graph.script.append(Answer(503))
    report = deliver_pending(engine, graph_config())
    assert (report.sent, report.pending, report.failed, report.ok) == (1, 1, 0, False)  # exit 1: one is still waiting
    assert "503 ServiceUnavailable" in report.pending_details[0].reason
    assert (rows(engine)[a].status, rows(engine)[b].status) == ("pending", "sent")
    assert [d.outcome for d in disclosures(engine)] == ["retry", "sent"]
    assert deliver_pending(engine, graph_config(), respect_backoff=False).sent == 1


def test_graph_4xx_is_a_dead_letter(engine: Engine, m365: M365, graph_config: Callable[..., Config]) -> None:
    a, b = queue(engine, "OM1"), queue(engine, "OM2")
    m365.graph.script.append(
        Answer(400, code="ErrorInvalidRecipients", message="Recipient 'om1@police.example' is not valid. More.")
    )
    report = deliver_pending(engine, graph_config())
    assert (report.sent, report.failed, report.pending, report.ok) == (1, 1, 0, False)
    reason = report.failed_details[0].reason
    assert reason == "Graph refused the message: 400 ErrorInvalidRecipients: Recipient '<address>' is not valid"
    assert (rows(engine)[a].status, rows(engine)[a].attempts) == ("failed", 1)
    assert rows(engine)[b].status == "sent"
    assert [d.outcome for d in disclosures(engine)] == ["failed", "sent"]
    # Dead letters are never offered again.
    assert deliver_pending(engine, graph_config(), respect_backoff=False).sent == 0
    assert len(m365.graph.answers) == 2


def test_graph_down_is_retried_later(engine: Engine, m365: M365, graph_config: Callable[..., Config]) -> None:
    queue(engine, "OM1")
    queue(engine, "OM2")
    m365.graph.stop()
    report = deliver_pending(engine, graph_config())
    assert (report.sent, report.pending, report.failed, report.ok) == (0, 2, 0, False)
    assert report.unreachable is not None and "Graph unreachable" in report.unreachable


def test_graph_refuses_a_message_not_addressed_to_exactly_its_recipient(
    m365: M365, graph_config: Callable[..., Config]
) -> None:
    """Graph takes recipients from the MIME headers: the transport checks them itself too."""
    transport = GraphTransport(graph_config())
    cc = make_test_message("om1@police.example")
    cc["Cc"] = "someone@police.example"
    cases = [
        Outgoing(1, "om1@police.example", "<a@x>", cc.as_bytes()),
        Outgoing(2, "om2@police.example", "<b@x>", make_test_message("om1@police.example").as_bytes()),
    ]
    try:
        transport.open()
        for outgoing in cases:
            with pytest.raises(PermanentFailure):
                transport.send(outgoing)
    finally:
        transport.close()
    assert m365.graph.answers == []


# --- our fault: credentials, certificate, tenant --------------------------------------------------------


@pytest.mark.parametrize("transport", ["smtp", "graph"])
def test_wrong_secret_clear_error_nothing_spent_exit_1(
    engine: Engine, db_url: str, tmp_path: Path, m365: M365, transport: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = "not-the-secret~0123456789abcdef"
    monkeypatch.setenv("MONITOR_SMTP_CLIENT_SECRET", wrong)
    queue(engine, "OM1")
    queue(engine, "OM2")
    smtp = m365.smtp_section() if transport == "smtp" else m365.app_keys()
    mail = {"transport": transport, "from": MAILBOX}
    path = write_config(
        tmp_path / "monitor.toml",
        {"database": {"url": db_url}, "mail": mail, "smtp": smtp, "graph": m365.graph_section()},
    )
    result = run_cli(path, "deliver")
    assert result.exit_code == 1
    reason = "token request refused: invalid_client: AADSTS7000215: Invalid client secret provided"
    assert f"STOPPED: {reason}\n" in result.output
    assert f"delivery stopped: {reason}" in result.output
    assert wrong not in result.output and CLIENT_SECRET not in result.output
    assert "Traceback" not in result.output
    assert m365.relay.received == [] and m365.graph.answers == [] and m365.relay.xoauth2.logins == []
    assert_nothing_spent(engine)


def test_no_secret_and_no_certificate(
    engine: Engine, m365: M365, graph_config: Callable[..., Config], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MONITOR_SMTP_CLIENT_SECRET")
    queue(engine, "OM1")
    report = deliver_pending(engine, graph_config())
    assert report.stopped == (
        "no client credential for OAuth 2.0: set smtp.certificate_file or $MONITOR_SMTP_CLIENT_SECRET"
    )
    assert m365.tenant.requests == []
    assert_nothing_spent(engine)


@pytest.mark.parametrize("problem", ["unregistered certificate", "key of another certificate", "expired certificate"])
def test_certificate_problems_stop_the_batch(
    engine: Engine,
    m365: M365,
    graph_config: Callable[..., Config],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    problem: str,
) -> None:
    monkeypatch.delenv("MONITOR_SMTP_CLIENT_SECRET")
    other = AppCertificate.create()
    if problem == "unregistered certificate":
        cert, key = other.write(tmp_path / "other")
        expected = "invalid_client: AADSTS700027: The certificate with identifier used to sign"
    elif problem == "key of another certificate":
        cert, _ = m365.app_cert.write(tmp_path / "mine")
        _, key = other.write(tmp_path / "other")
        expected = "smtp.private_key_file: the private key does not belong to the certificate"
    else:
        cert, key = AppCertificate.create(days=10, not_before_days=-20).write(tmp_path / "old")
        expected = "the app certificate expired on "
    queue(engine, "OM1")
    report = deliver_pending(engine, graph_config(smtp={"certificate_file": str(cert), "private_key_file": str(key)}))
    assert report.stopped is not None and expected in report.stopped
    assert_nothing_spent(engine)


def test_unknown_tenant_stops_the_batch(engine: Engine, m365: M365, graph_config: Callable[..., Config]) -> None:
    queue(engine, "OM1")
    wrong = m365.login.authority.replace(m365.tenant.tenant_id, "99999999-2222-4333-8444-555555555555")
    report = deliver_pending(engine, graph_config(smtp={"authority": wrong}))
    assert report.stopped is not None and report.stopped.startswith("no token endpoint found for smtp.authority")
    assert_nothing_spent(engine)


def test_untrusted_identity_platform_certificate_stops_the_batch(
    engine: Engine, m365: M365, graph_config: Callable[..., Config]
) -> None:
    queue(engine, "OM1")
    report = deliver_pending(engine, graph_config(smtp={"ca_file": ""}))
    assert report.stopped is not None and "identity platform TLS certificate not trusted" in report.stopped
    assert_nothing_spent(engine)


@pytest.mark.parametrize("down", ["stopped", "503"])
def test_identity_platform_down_is_retried_later(
    engine: Engine, m365: M365, xoauth2_config: Callable[..., Config], down: str
) -> None:
    """Not our fault, not the message's: the run stops offering and every message waits."""
    if down == "stopped":
        m365.login.stop()
    queue(engine, "OM1")
    queue(engine, "OM2")
    config = xoauth2_config()
    if down == "503":
        m365.login.fail_next.append(503)  # discovery works; the token request meets a 503
    report = deliver_pending(engine, config)
    assert (report.sent, report.pending, report.failed, report.ok) == (0, 2, 0, False)
    assert report.unreachable is not None and "identity platform" in report.unreachable
    assert m365.relay.received == []


# --- configuration ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "key", "expected"),
    [
        ({"smtp": {"auth": "oauth"}}, "smtp.auth", '"password" or "oauth2"'),
        ({"smtp": {"client_id": "visit-monitor"}}, "smtp.client_id", "a GUID"),
        ({"smtp": {"tenant_id": "bad tenant"}}, "smtp.tenant_id", "tenant"),
        ({"smtp": {"authority": "http://login.example/tenant"}}, "smtp.authority", "https://"),
        ({"smtp": {"authority": "https://login.example"}}, "smtp.authority", "ending in the tenant"),
        ({"smtp": {"certificate_file": "/nonexistent.pem"}}, "smtp.certificate_file", "a readable PEM file"),
        ({"mail": {"transport": "graph"}}, "smtp.tenant_id", "tenant"),
        (
            {"mail": {"transport": "smtp"}, "smtp": {"auth": "oauth2", "tenant_id": "force.onmicrosoft.com"}},
            "smtp.client_id",
            "application (client) ID",
        ),
        (
            {
                "mail": {"transport": "smtp"},
                "smtp": {
                    "auth": "oauth2",
                    "tenant_id": "t.onmicrosoft.com",
                    "client_id": "a" * 8 + "-bbbb-4ccc-8ddd-" + "e" * 12,
                },
            },
            "smtp.username",
            "mailbox",
        ),
        ({"graph": {"base_url": "http://graph.example/v1.0"}}, "graph.base_url", "https://"),
        ({"graph": {"mailbox": "not-an-address"}}, "graph.mailbox", "address"),
        ({"graph": {"unknown": 1}}, "graph.unknown", "a known key"),
    ],
)
def test_bad_mail_auth_settings_name_key_value_and_expectation(
    values: dict[str, Any], key: str, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MONITOR_SMTP_CLIENT_SECRET", "top-secret-value-123")
    with pytest.raises(config_module.ConfigError) as info:
        config_module.load(overrides=values)
    assert info.value.key == key
    assert expected in str(info.value)
    assert "top-secret-value-123" not in str(info.value)


def test_oauth_defaults_and_secret_only_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = config_module.load()
    assert (cfg.smtp.auth, cfg.graph.base_url) == ("password", "https://graph.microsoft.com/v1.0")
    assert cfg.graph.mailbox == "visit-monitor@monitor.police.example"
    cfg = config_module.load(overrides={"smtp": {"tenant_id": "force.onmicrosoft.com"}})
    assert cfg.smtp.oauth.authority == "https://login.microsoftonline.com/force.onmicrosoft.com"
    path = tmp_path / "monitor.toml"
    path.write_text('[smtp]\nclient_secret = "in-the-file"\n')
    with pytest.raises(config_module.ConfigError) as info:
        config_module.load(path)
    assert info.value.key == "smtp.client_secret" and "in-the-file" not in str(info.value)
    monkeypatch.setenv("MONITOR_SMTP_CLIENT_SECRET", "from-env")
    assert config_module.load().smtp.oauth.client_secret == "from-env"
    assert "from-env" not in repr(config_module.load())


# --- nothing secret in logs or the disclosure log ------------------------------------------------------


@pytest.mark.parametrize("transport", ["smtp", "graph"])
def test_no_secret_token_body_or_address_in_logs_or_disclosures(
    engine: Engine,
    m365: M365,
    graph_config: Callable[..., Config],
    xoauth2_config: Callable[..., Config],
    caplog: pytest.LogCaptureFixture,
    transport: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    queue(engine, "OM1")
    queue(engine, "OM2")
    config = xoauth2_config() if transport == "smtp" else graph_config()
    m365.graph.script.append(Answer(503))
    assert deliver_pending(engine, config).sent >= 1
    assert deliver_pending(engine, config, respect_backoff=False).ok
    tokens = {login.token for login in m365.relay.xoauth2.logins} | {token for _, token in m365.graph.answers}
    tokens.discard("")
    assert tokens
    # Ours and the libraries' (MSAL, requests, urllib3); not the test relay's own wire log.
    ours = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("mail.log"))
    stored = "\n".join(f"{d.relay_reply} {d.message_id}" for d in disclosures(engine))
    stored += "\n".join(str(r.last_error) for r in rows(engine).values())
    for text in (ours, stored):
        assert CLIENT_SECRET not in text
        assert not any(token in text for token in tokens)
        assert "SYNTHETIC-BODY" not in text
    assert "@police.example" not in ours  # officer ids in our logs, never addresses
