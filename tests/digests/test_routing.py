"""Issue 8, finding 11: nothing is unroutable.

Before: a team, escalation or force digest with no mailable recipient (supervisor inactive,
a team code typed differently in officers.csv) vanished: job counts said ok, nothing was
logged, no outbox or disclosure row. Now it goes to the force lead(s) with a banner saying
why, is counted as ``unrouted`` (job counts, ``health``, metrics, the force digest), and
when there is no mailable lead either the run fails loudly with an ``unrouted`` disclosure.
"""

from __future__ import annotations

import email
import email.policy
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import test_digest as tdg
from builders import add_officer
from click.testing import CliRunner
from sqlalchemy import Engine, select

from monitor.core.config import Config
from monitor.daemon.failures import JobFailed
from monitor.daemon.health import check_health, render_text
from monitor.daemon.jobs import digest_job
from monitor.daemon.metrics import render_metrics
from monitor.digests.queue import queue_digests
from monitor.mail.delivery import deliver_pending
from monitor.register.db import reading, transaction
from monitor.register.models import Disclosure, JobRun, OutboxMessage

AS_OF = tdg.AS_OF


@pytest.fixture
def cfg(make_config: Callable[..., Config], db_url: str) -> Callable[..., Config]:
    def _make(**overrides: Any) -> Config:
        policy = {"intervals": {r: f"P{d}D" for r, d in tdg.DAYS.items()}, **overrides.pop("policy", {})}
        return make_config(db_url, policy=policy, **overrides)

    return _make


def text_of(row: OutboxMessage) -> tuple[str, str]:
    msg = email.message_from_bytes(row.content, policy=email.policy.default)
    assert isinstance(msg, email.message.EmailMessage)
    text, html = tdg.bodies(msg)
    return text.replace("\r\n", "\n"), html


def register(engine: Engine, *, supervisor: dict[str, Any] | None, lead: bool = True) -> None:
    """Team T1 with a very-high-risk case overdue (team and escalation digests are due)."""
    with transaction(engine) as s:
        add_officer(s, "OM1")
        if supervisor is not None:
            add_officer(s, "DS1", role="supervisor", **supervisor)
        if lead:
            add_officer(s, "LEAD1", role="lead", team="HQ")
        tdg.person(s, "R1", "very_high", 12)
        # Team T2 is fine: its own supervisor gets its digests.
        add_officer(s, "OM2", team="T2")
        add_officer(s, "DS2", role="supervisor", team="T2")
        tdg.person(s, "R2", "high", 40, om="OM2", team="T2")


@pytest.mark.parametrize(
    ("supervisor", "why"),
    [
        (None, "T1 has no active supervisor"),
        ({"active": False}, "T1 has no active supervisor"),
        ({"team": "t1"}, "T1 has no active supervisor"),  # team code typed differently
        ({"email": "ds1@evilpolice.example"}, "T1 has no mailable supervisor (DS1: domain not allowed"),
    ],
    ids=["none", "inactive", "team-typed-differently", "domain-not-allowed"],
)
def test_team_and_escalation_digests_without_a_supervisor_go_to_the_lead(
    engine: Engine, cfg: Callable[..., Config], supervisor: dict[str, Any] | None, why: str
) -> None:
    register(engine, supervisor=supervisor)
    run = queue_digests(engine, cfg(), "all", AS_OF)
    assert run.ok
    assert run.counts()["unrouted"] == 2 and run.counts()["unroutable"] == 0
    rows = {(r.kind, r.recipient): r for r in tdg.outbox_rows(engine)}
    for kind in ("team", "escalation"):
        row = rows[(kind, "LEAD1")]
        assert row.email == "lead1@police.example"
        assert row.routed_because is not None and why in row.routed_because
        text, html = text_of(row)
        banner = f"SENT TO YOU BECAUSE {why}".upper()
        assert banner in text.upper() and "R1" in text
        assert why in html
    # T2's digests go to T2's supervisor as usual, with no banner.
    assert rows[("team", "DS2")].routed_because is None
    assert "SENT TO YOU BECAUSE" not in text_of(rows[("team", "DS2")])[0].upper()

    # The force digest names the team and counts what was re-routed.
    force_text, force_html = text_of(rows[("force", "LEAD1")])
    section = force_text.split("TEAMS WITH NO MAILABLE SUPERVISOR")[1].split("\n\n")[0]
    assert "T1" in section and "T2" not in section
    assert "T1" in force_html.split("no mailable supervisor")[1]

    # Delivery sends the re-routed digests to the lead (the lead's role is checked, not the kind's).
    report = deliver_pending(engine, cfg())
    assert report.blocked == 0 and report.sent == len(rows)
    with reading(engine) as s:
        sent = {(d.kind, d.recipient) for d in s.scalars(select(Disclosure).where(Disclosure.outcome == "sent"))}
    assert {("team", "LEAD1"), ("escalation", "LEAD1")} <= sent


def test_two_teams_without_a_supervisor_each_reach_the_lead(engine: Engine, cfg: Callable[..., Config]) -> None:
    with transaction(engine) as s:
        add_officer(s, "LEAD1", role="lead", team="HQ")
        for team in ("T1", "T2"):
            add_officer(s, f"OM-{team}", team=team)
            tdg.person(s, f"R-{team}", "high", 40, om=f"OM-{team}", team=team)
    run = queue_digests(engine, cfg(), "team", AS_OF)
    assert run.counts()["unrouted"] == 2 and run.queued == 2
    rows = tdg.outbox_rows(engine)
    assert sorted((r.kind, r.recipient) for r in rows) == [("team", "LEAD1"), ("team", "LEAD1")]
    assert sorted(r.routed_because or "" for r in rows)[0].startswith("T1 ")
    again = queue_digests(engine, cfg(), "team", AS_OF)  # idempotent per team, not per lead
    assert (again.queued, again.already_queued) == (0, 2)


def test_nobody_to_send_to_is_loud(engine: Engine, cfg: Callable[..., Config], tmp_path: Path, db_url: str) -> None:
    register(engine, supervisor=None, lead=False)
    run = queue_digests(engine, cfg(), "all", AS_OF)
    assert not run.ok
    assert sorted((k, scope) for k, scope, _ in run.unroutable) == [
        ("escalation", "T1"),
        ("force", "force"),
        ("team", "T1"),
    ]
    with reading(engine) as s:
        logged = list(s.scalars(select(Disclosure).where(Disclosure.outcome == "unrouted")))
    assert sorted(d.kind for d in logged) == ["escalation", "force", "team"]
    team = next(d for d in logged if d.kind == "team")
    assert team.case_refs == ["R1"] and "no active supervisor" in (team.relay_reply or "")
    assert "no mailable force lead" in (team.relay_reply or "")

    # The command exits 1 with a clear line; the daemon's job fails with the count.
    from monitor.cli.app import cli

    result = CliRunner().invoke(
        cli, ["digest", "--kind", "team", "--as-of", AS_OF.isoformat()], env={"MONITOR_DATABASE_URL": db_url}
    )
    assert result.exit_code == 1, result.output
    assert "1 digest(s) could not be routed to anyone" in result.output
    assert "team digest for T1" in result.output
    with pytest.raises(JobFailed) as failed:
        digest_job("team")(engine, cfg(), datetime(2026, 11, 23, 7, tzinfo=UTC))
    assert failed.value.counts["unroutable"] == 1 and "could not be routed" in str(failed.value)


def test_unrouted_is_counted_in_job_counts_health_and_metrics(engine: Engine, cfg: Callable[..., Config]) -> None:
    from monitor.daemon.runs import Runner

    register(engine, supervisor={"active": False})
    config = cfg(schedule={"team_digest": "0 7 * * mon"})
    runner = Runner(engine, config, registry={"team_digest": digest_job("team")})
    now = datetime(2026, 11, 23, 7, 1, tzinfo=UTC)
    claim = runner.claim("team_digest", datetime(2026, 11, 23, 7, tzinfo=UTC), now)
    assert claim is not None
    result = runner.execute(claim)
    assert result.outcome == "ok" and result.counts["unrouted"] == 1
    with reading(engine) as s:
        (row,) = s.scalars(select(JobRun))
    assert row.counts["unrouted"] == 1

    report = check_health(engine, config, now, require_daemon=False)
    assert report.unrouted == {"team_digest": 1}
    assert "team_digest: 1 digest(s) had no mailable recipient and went to the force lead(s)" in render_text(
        report, config
    )
    metrics = render_metrics(engine, config, now)
    assert 'visit_monitor_messages_unrouted_total{kind="team"} 1.0' in metrics
