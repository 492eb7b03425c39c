"""Previews written by worker processes: the same files, in the same order, or one clear line.

``digest --preview`` shares messages out among forked workers (``digests.preview``). What a
worker writes must be what the command writes alone: the same names, the same HTML, the
same messages but for the random tokens a message carries anyway (Message-ID, MIME
boundary). A worker that dies (``kill -9``, out of memory) must fail the command with one
line, never hang it or pass it off as done.
"""

from __future__ import annotations

import email
import email.policy
import os
import signal
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from builders import add_offender, add_officer, add_visit
from click.testing import CliRunner
from sqlalchemy import Engine

from monitor.core.config import Config
from monitor.digests import preview
from monitor.digests.build import build_plans
from monitor.digests.contexts import kinds_for
from monitor.digests.preview import PreviewWorkerLost, preview_digests
from monitor.register.db import reading, transaction

AS_OF = date(2026, 11, 26)
TEAMS = 3
OMS_PER_TEAM = 4


@pytest.fixture
def register(engine: Engine) -> Engine:
    """Three teams, four offender managers each, a supervisor each, a lead: 17 digests."""
    with transaction(engine) as s:
        add_officer(s, "LEAD1", team="HQ", role="lead")
        for t in range(TEAMS):
            team = f"T{t}"
            add_officer(s, f"DS-{team}", team=team, role="supervisor")
            for o in range(OMS_PER_TEAM):
                om = f"OM{t}{o}"
                add_officer(s, om, team=team)
                for n in range(3):
                    ref = f"RSO-{t}{o}{n}"
                    add_offender(
                        s,
                        ref,
                        risk_level=("very_high", "high", "medium")[n],
                        team=team,
                        offender_manager=om,
                        risk_assessed_on=AS_OF - timedelta(days=30 + 200 * n),
                        last_notified_on=AS_OF - timedelta(days=30 + 200 * n),
                    )
                    add_visit(s, f"V-{ref}", ref, AS_OF - timedelta(days=100 + 40 * n))
    return engine


def _without_random_tokens(path: Path) -> list[tuple[str, str]]:
    """An .eml's headers (Message-ID and Date aside) and decoded parts: what a reader sees."""
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    seen = [(k, str(v)) for k, v in message.items() if k.lower() not in ("message-id", "date", "content-type")]
    for part in message.walk():
        if not part.is_multipart():
            seen.append((part.get_content_type(), part.get_content()))
    return seen


@pytest.mark.parametrize("jobs", [2, 3])
def test_workers_write_what_one_process_writes(
    register: Engine, make_config: Callable[..., Config], db_url: str, tmp_path: Path, jobs: int
) -> None:
    config = make_config(db_url)
    alone = preview_digests(register, config, "all", AS_OF, tmp_path / "alone", jobs=1)
    shared = preview_digests(register, config, "all", AS_OF, tmp_path / "shared", jobs=jobs)
    assert len(alone) == 2 * (TEAMS * OMS_PER_TEAM + TEAMS * 2 + 1)  # officer, team, escalation, force
    assert [p.name for p in shared] == [p.name for p in alone]  # plan order, whoever wrote them
    assert sorted(p.name for p in (tmp_path / "shared").iterdir()) == sorted(p.name for p in alone)
    for one, other in zip(alone, shared, strict=True):
        if one.suffix == ".html":
            assert other.read_bytes() == one.read_bytes()
        else:
            assert _without_random_tokens(other) == _without_random_tokens(one)
        assert other.stat().st_mode & 0o777 == 0o600


def test_a_killed_worker_fails_the_preview(
    register: Engine,
    make_config: Callable[..., Config],
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    parent = os.getpid()
    real = preview.build_digest_message

    def killed_in_a_worker(*args: Any) -> Any:
        if os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)  # as the OOM killer or an operator would
        return real(*args)

    monkeypatch.setattr(preview, "build_digest_message", killed_in_a_worker)
    with pytest.raises(PreviewWorkerLost, match="preview worker process stopped"):
        preview_digests(register, make_config(db_url), "all", AS_OF, tmp_path / "out", jobs=2)

    monkeypatch.setenv("MONITOR_DATABASE_URL", db_url)
    from monitor.cli.app import cli

    args = ["digest", "--as-of", AS_OF.isoformat(), "--preview", str(tmp_path / "cli"), "--jobs", "2"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "visit-monitor: a preview worker process stopped before it finished (killed or out of memory);"
        " some files may be missing: run the preview again"
    ]


def test_jobs_is_for_previews_only(register: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONITOR_DATABASE_URL", db_url)
    from monitor.cli.app import cli

    result = CliRunner().invoke(cli, ["digest", "--as-of", AS_OF.isoformat(), "--jobs", "2"])
    assert result.exit_code == 2
    assert "--jobs applies to --preview only" in result.output


def test_default_is_one_process_for_a_few_messages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(range(16)))
    assert preview.default_jobs() == preview.MAX_JOBS
    assert preview.workers_for(None, 17) == 1  # a worker costs more than 17 messages do
    assert preview.workers_for(None, 100_000) == preview.MAX_JOBS
    assert preview.workers_for(3, 2) == 2  # never more workers than messages
    assert preview.workers_for(1, 100_000) == 1


def test_plans_of_one_template_stay_in_one_worker(
    register: Engine, make_config: Callable[..., Config], db_url: str
) -> None:
    """A team's digests for each of its supervisors go to the same worker (its tables are
    then written once), the work is shared evenly, and every plan goes once."""
    with transaction(register) as s:  # a second supervisor for every team
        for t in range(TEAMS):
            add_officer(s, f"DS2-T{t}", team=f"T{t}", role="supervisor")
    config = make_config(db_url)
    with reading(register) as session:
        plans = [p for p in build_plans(session, config, kinds_for("all"), AS_OF).plans if p.problem is None]
    shares = preview.shares_of(plans, 2)
    assert sorted(n for share in shares for n in share) == list(range(len(plans)))
    worker_of = {n: w for w, share in enumerate(shares) for n in share}
    for kind in ("team", "escalation"):
        for t in range(TEAMS):
            numbers = [
                n for n, p in enumerate(plans) if (p.context.kind, getattr(p.context, "team", None)) == (kind, f"T{t}")
            ]
            assert len(numbers) == 2 and len({worker_of[n] for n in numbers}) == 1
    # Largest first to the least loaded: the two loads differ by no more than one plan's worth.
    loads = [sum(preview._size(plans[n]) for n in share) for share in shares]
    assert abs(loads[0] - loads[1]) <= max(preview._size(p) for p in plans)


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_run_leaves_no_tables_behind(
    register: Engine, make_config: Callable[..., Config], db_url: str, tmp_path: Path, jobs: int
) -> None:
    """The tables kept for reuse within a run (``case_rows._RECENT``) are dropped when it ends,
    preview or queue, so a daemon does not hold the last run's lists until the next."""
    from monitor.digests.queue import queue_digests
    from monitor.reports import case_rows

    config = make_config(db_url)
    preview_digests(register, config, "all", AS_OF, tmp_path / "p", jobs=jobs)
    assert case_rows._RECENT == {}
    run = queue_digests(register, config, "all", AS_OF)
    assert run.queued > 0 and case_rows._RECENT == {}
