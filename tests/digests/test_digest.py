"""Digests end to end: contexts from one scan, rendering, queueing, idempotency, the command.

Database tests run on SQLite and PostgreSQL (``engine``). Intervals are set in days
(very high 30, high 90, medium 180, low 360) so "N days overdue" is built exactly.
"""

from __future__ import annotations

import dataclasses
import email
import email.policy
import os
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from builders import add_offender, add_officer, add_visit
from click.testing import CliRunner
from freezegun import freeze_time
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

import monitor.rules.scan
from monitor.cli.app import resolve_as_of
from monitor.core.config import Config
from monitor.digests.build import build_plans
from monitor.digests.contexts import Backlog, OfficerDigest, Recipient, kinds_for, period_key
from monitor.digests.preview import preview_digests
from monitor.digests.queue import DigestRun, queue_digests
from monitor.digests.render import render_digest
from monitor.register.db import reading, transaction
from monitor.register.models import BacklogSnapshot, Disclosure, OutboxMessage
from monitor.rules.obligations import Item, Unlocated

AS_OF = date(2026, 11, 26)  # a Thursday in ISO week 2026-W48
DAYS = {"very_high": 30, "high": 90, "medium": 180, "low": 360}
SNAPSHOT = Path(__file__).resolve().parents[1] / "snapshots" / "officer_digest.txt"
MARKING = "OFFICIAL-SENSITIVE"


@pytest.fixture
def cfg(make_config: Callable[..., Config], db_url: str) -> Callable[..., Config]:
    """A config on this test's database with day-based intervals, plus overrides."""

    def _make(**overrides: Any) -> Config:
        policy = {"intervals": {r: f"P{d}D" for r, d in DAYS.items()}, **overrides.pop("policy", {})}
        return make_config(db_url, policy=policy, **overrides)

    return _make


def person(
    s: Session,
    ref: str,
    risk: str = "medium",
    overdue: int | None = None,
    *,
    om: str = "OM1",
    team: str = "T1",
    failed: int = 0,
    **kw: Any,
) -> None:
    """A community registrant whose home visit is ``overdue`` days overdue (negative: due
    in that many days; None: visited yesterday). Risk review and notification are recent."""
    kw.setdefault("risk_assessed_on", AS_OF - timedelta(days=30))
    kw.setdefault("last_notified_on", AS_OF - timedelta(days=30))
    add_offender(s, ref, risk_level=risk, team=team, offender_manager=om, **kw)
    last = AS_OF - timedelta(days=1) if overdue is None else AS_OF - timedelta(days=overdue + DAYS[risk])
    add_visit(s, f"V-{ref}", ref, last)
    for k in range(failed):
        add_visit(s, f"F{k}-{ref}", ref, last + timedelta(days=1 + k), outcome="no_access")


def staff(s: Session, *, team: str = "T1", oms: tuple[str, ...] = ("OM1",)) -> None:
    for om in oms:
        add_officer(s, om, team=team)
    add_officer(s, f"DS-{team}", team=team, role="supervisor")


def outbox_rows(engine: Engine) -> list[OutboxMessage]:
    with reading(engine) as s:
        return list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.kind, OutboxMessage.recipient)))


def parsed(row: OutboxMessage) -> email.message.EmailMessage:
    msg = email.message_from_bytes(row.content, policy=email.policy.default)
    assert isinstance(msg, email.message.EmailMessage)
    return msg


def bodies(msg: email.message.EmailMessage) -> tuple[str, str]:
    text = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert text is not None and html is not None
    return str(text.get_content()), str(html.get_content())


# --------------------------------------------------------------------------- periods


@pytest.mark.parametrize(
    ("kind", "day", "key"),
    [
        ("officer", date(2026, 11, 26), "2026-W48"),
        ("team", date(2026, 11, 23), "2026-W48"),  # Monday starts the week
        ("team", date(2026, 11, 22), "2026-W47"),  # Sunday ends the previous one
        ("officer", date(2026, 12, 28), "2026-W53"),
        ("officer", date(2027, 1, 3), "2026-W53"),  # ISO year differs from calendar year
        ("officer", date(2027, 1, 4), "2027-W01"),
        ("team", date(2025, 12, 29), "2026-W01"),  # and the other way round
        ("force", date(2026, 11, 1), "2026-11"),
        ("force", date(2026, 12, 31), "2026-12"),
        ("escalation", date(2026, 11, 26), "2026-11-26"),
    ],
)
def test_period_key(kind: str, day: date, key: str) -> None:
    assert period_key(kind, day) == key


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError):
        period_key("weekly", AS_OF)
    with pytest.raises(ValueError):
        kinds_for("everything")
    assert kinds_for("all") == ("officer", "team", "force", "escalation")


@pytest.mark.parametrize(
    ("instant", "as_of", "week"),
    [
        # Sunday 23:30 UTC in summer is already Monday 00:30 in London: the next ISO week.
        ("2026-06-28 23:30:00", date(2026, 6, 29), "2026-W27"),
        # The same moment in winter (GMT) is still Sunday in London.
        ("2026-12-27 23:30:00", date(2026, 12, 27), "2026-W52"),
        # Sunday night of the clocks-change weekend (BST from 29 March).
        ("2026-03-29 23:30:00", date(2026, 3, 30), "2026-W14"),
        # New Year's week: 2027-01-03 still belongs to 2026-W53.
        ("2027-01-03 12:00:00", date(2027, 1, 3), "2026-W53"),
    ],
)
def test_default_as_of_is_the_london_date(
    make_config: Callable[..., Config], instant: str, as_of: date, week: str
) -> None:
    config = make_config()
    with freeze_time(instant):
        assert resolve_as_of(config, None) == as_of  # what `digest` uses without --as-of
        assert period_key("officer", resolve_as_of(config, None)) == week


# --------------------------------------------------------------------------- rendering without a database


def _item(ref: str, risk: str, days: int, *, kind: str = "visit", failed: int = 0, **kw: Any) -> Item:
    return Item(
        kind=kind,
        ref=ref,
        risk_level=risk,
        team=kw.pop("team", "T1"),
        offender_manager=kw.pop("om", "OM-0001"),
        due_date=AS_OF - timedelta(days=days),
        days_overdue=days,
        last_done=kw.pop("last_done", date(2026, 5, 1)),
        failed_attempts=failed,
        **kw,
    )


def golden_context() -> OfficerDigest:
    overdue = [
        _item("RSO-000017", "very_high", 12, failed=2, last_done=date(2026, 9, 15)),
        _item("RSO-000003", "high", 95, last_done=None),
        _item("RSO-000042", "medium", 3),
        _item("RSO-000108", "low", 40, failed=1),
    ]
    due_soon = [_item("RSO-000230", "high", -4), _item("RSO-000231", "low", 0)]
    reviews = [_item("RSO-000003", "high", 61, kind="risk_review", last_done=date(2025, 9, 26))]
    notifications = [
        _item("RSO-000077", "medium", 9, kind="notification", last_done=date(2026, 11, 10), no_fixed_abode=True)
    ]
    unknown = [
        Unlocated(
            ref="RSO-000501",
            risk_level="high",
            team="T1",
            offender_manager="OM-0001",
            missing_since=date(2026, 11, 2),
            days_missing=24,
            last_visit=date(2026, 8, 20),
        )
    ]
    return OfficerDigest(
        kind="officer",
        period="2026-W48",
        as_of=AS_OF,
        recipient=Recipient("OM-0001", "Officer Testname 0001", "om-0001@police.example"),
        marking=MARKING,
        include_names=False,
        failed_attempts_flag=2,
        due_soon_days=14,
        team="T1",
        backlog=Backlog.of(
            caseload=48,
            overdue=overdue,
            due_soon=due_soon,
            reviews=len(reviews),
            notifications=len(notifications),
            unlocated=unknown,
            flag=2,
        ),
        overdue_visits=overdue,
        due_soon=due_soon,
        overdue_risk_reviews=reviews,
        overdue_notifications=notifications,
        warrant_flags=[overdue[0]],
        whereabouts_unknown=unknown,
    )


def test_golden_officer_text_digest(make_config: Callable[..., Config]) -> None:
    """The rendered text digest, byte for byte. UPDATE_SNAPSHOTS=1 rewrites the file."""
    config = make_config(mail={"case_url": "https://cases.police.example/case/{ref}"})
    rendered = render_digest(golden_context(), config)
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
        SNAPSHOT.write_text(rendered.text, encoding="utf-8")
    assert rendered.text == SNAPSHOT.read_text(encoding="utf-8")
    assert rendered.subject == "[OFFICIAL-SENSITIVE] Your visits 2026-W48: 4 overdue (1 very high risk), 2 due soon"


def test_officer_digest_is_worst_first_and_shows_backlog(make_config: Callable[..., Config]) -> None:
    text = render_digest(golden_context(), make_config()).text
    assert "Overdue home visits (backlog): 4" in text
    assert "Risk mix of overdue visits: Very high 1, High 1, Medium 1, Low 1" in text
    assert "How overdue: 1-7 days: 1, 8-28 days: 1, 29-90 days: 1, 91+ days: 1" in text
    assert "Most overdue visit: RSO-000003, 95 days overdue (High risk)" in text
    section = text.split("OVERDUE HOME VISITS")[1].split("VISITS DUE")[0]
    order = [section.index(r) for r in ("RSO-000017", "RSO-000003", "RSO-000042", "RSO-000108")]
    assert order == sorted(order)
    assert "2 (warrant)" in section


def test_marking_in_subject_top_and_bottom(make_config: Callable[..., Config]) -> None:
    config = make_config(mail={"marking": "OFFICIAL-SENSITIVE PERSONAL"})
    ctx = dataclasses.replace(golden_context(), marking="OFFICIAL-SENSITIVE PERSONAL")
    rendered = render_digest(ctx, config)
    assert rendered.subject.startswith("[OFFICIAL-SENSITIVE PERSONAL] ")
    lines = [line for line in rendered.text.splitlines() if line.strip()]
    assert lines[0] == "OFFICIAL-SENSITIVE PERSONAL" and lines[-1] == "OFFICIAL-SENSITIVE PERSONAL"
    body = rendered.html.split("<body", 1)[1]
    first = body.index("OFFICIAL-SENSITIVE PERSONAL")
    assert first < body.index("Your caseload")
    assert body.rindex("OFFICIAL-SENSITIVE PERSONAL") > body.index("Whereabouts unknown")


def test_every_kind_is_marked(engine: Engine, cfg: Callable[..., Config]) -> None:
    marking = "OFFICIAL-SENSITIVE [PPU]"
    with transaction(engine) as s:
        staff(s)
        add_officer(s, "LEAD1", team="HQ", role="lead")
        person(s, "R1", "very_high", 3)
    run = queue_digests(engine, cfg(mail={"marking": marking}), "all", AS_OF)
    rows = outbox_rows(engine)
    assert run.queued == 4 and sorted(r.kind for r in rows) == ["escalation", "force", "officer", "team"]
    for row in rows:
        msg = parsed(row)
        assert msg["Subject"].startswith(f"[{marking}] ")
        assert msg["X-Protective-Marking"] == marking
        text, html = bodies(msg)
        lines = [line for line in text.splitlines() if line.strip()]
        assert (lines[0], lines[-1]) == (marking, marking), row.kind
        body = html.split("<body", 1)[1]
        assert body.count(marking) >= 2, row.kind
        assert body.index(marking) < body.index("R1") < body.rindex(marking), row.kind


def test_html_is_email_safe(make_config: Callable[..., Config]) -> None:
    html = render_digest(golden_context(), make_config(mail={"case_url": "https://cases.police.example/c/{ref}"})).html
    assert "<style" not in html  # CSS inlined
    assert "<img" not in html and "<link" not in html and "<script" not in html
    assert "max-width:640px;" in html
    assert 'href="https://cases.police.example/c/RSO-000017"' in html
    assert "2 (warrant)" in html and "Very high" in html  # status in words, not colour alone


# --------------------------------------------------------------------------- queueing (both backends)


def test_officer_digest_queued_once_per_week_then_again_next_week(engine: Engine, cfg: Callable[..., Config]) -> None:
    config = cfg()
    with transaction(engine) as s:
        staff(s, oms=("OM1", "OM2"))
        person(s, "R1", "high", 10, failed=2)
        person(s, "R2", "low", 100)
        person(s, "R3", "medium", None, om="OM2")  # OM2 has nothing due

    run = queue_digests(engine, config, "officer", AS_OF)
    assert (run.queued, run.already_queued, run.blocked) == (1, 0, [])
    rows = outbox_rows(engine)
    assert [(r.kind, r.recipient, r.period, r.email) for r in rows] == [
        ("officer", "OM1", "2026-W48", "om1@police.example")
    ]
    assert rows[0].case_refs == ["R1", "R2"]
    msg = parsed(rows[0])
    assert msg["To"] == "om1@police.example"
    assert msg["Subject"].startswith(f"[{MARKING}] Your visits 2026-W48: 2 overdue")
    text, _ = bodies(msg)
    assert "R1" in text and "R2" in text and "R3" not in text

    again = queue_digests(engine, config, "officer", AS_OF + timedelta(days=3))  # Sunday, same week
    assert (again.queued, again.already_queued) == (0, 1)
    assert len(outbox_rows(engine)) == 1

    next_week = queue_digests(engine, config, "officer", AS_OF + timedelta(days=4))  # Monday
    assert next_week.queued == 1
    assert [r.period for r in outbox_rows(engine)] == ["2026-W48", "2026-W49"]


def test_no_empty_digests_unless_all_clear(engine: Engine, cfg: Callable[..., Config]) -> None:
    with transaction(engine) as s:
        staff(s, oms=("OM1",))
        add_officer(s, "LEAD1", team="HQ", role="lead")
        person(s, "R1", "medium", None)

    run = queue_digests(engine, cfg(), "all", AS_OF)
    assert run.queued == 0 and run.skipped_empty >= 3
    assert outbox_rows(engine) == []

    run = queue_digests(engine, cfg(digest={"all_clear": True}), "all", AS_OF)
    rows = outbox_rows(engine)
    assert sorted((r.kind, r.recipient) for r in rows) == [
        ("force", "LEAD1"),
        ("officer", "OM1"),
        ("team", "DS-T1"),
    ]  # never an "all clear" escalation
    for row in rows:
        assert row.subject.startswith(f"[{MARKING}] All clear")
        text, html = bodies(parsed(row))
        assert "Nothing needs action" in text and "Nothing needs action" in html
        assert row.case_refs == []


@pytest.mark.parametrize(
    ("risk", "days", "escalated"),
    [
        ("very_high", 1, True),
        ("very_high", 0, False),  # due today is not overdue
        ("high", 29, True),
        ("low", 29, True),
        ("high", 28, False),  # the threshold itself is not "more than"
        ("medium", 5, False),
    ],
)
def test_escalation_triggers(engine: Engine, cfg: Callable[..., Config], risk: str, days: int, escalated: bool) -> None:
    with transaction(engine) as s:
        staff(s)
        person(s, "R1", risk, days)
        person(s, "R2", "medium", 3)  # never escalated on its own
    run = queue_digests(engine, cfg(digest={"all_clear": True}), "escalation", AS_OF)
    rows = outbox_rows(engine)
    if escalated:
        assert run.queued == 1
        assert [(r.kind, r.recipient, r.period) for r in rows] == [("escalation", "DS-T1", "2026-11-26")]
        assert rows[0].case_refs == ["R1"]  # lists just the escalated cases
        assert "ESCALATION" in rows[0].subject
    else:
        assert run.queued == 0 and rows == []


def test_blocked_recipients_are_logged_not_queued(engine: Engine, cfg: Callable[..., Config]) -> None:
    with transaction(engine) as s:
        staff(s, oms=("OM1",))
        add_officer(s, "OM3", email="om3@evilpolice.example")
        add_officer(s, "OM4", active=False)
        add_officer(s, "OM5", role="supervisor", team="T2")
        person(s, "R1", "high", 5)
        person(s, "R9", "high", 7, om="OM9")  # not in the directory
        person(s, "R3", "low", 50, om="OM3")
        person(s, "R4", "medium", 20, om="OM4")
        person(s, "R5", "medium", 20, om="OM5")
    run = queue_digests(engine, cfg(), "officer", AS_OF)
    assert run.queued == 1
    assert sorted(run.blocked) == [
        ("OM3", "domain not allowed (evilpolice.example)"),
        ("OM4", "inactive"),
        ("OM5", "role is supervisor not offender_manager"),
        ("OM9", "not in the officer directory"),
    ]
    assert [r.recipient for r in outbox_rows(engine)] == ["OM1"]
    with reading(engine) as s:
        logged = list(s.scalars(select(Disclosure).order_by(Disclosure.recipient)))
    assert [(d.recipient, d.outcome, d.transport, d.message_id) for d in logged] == [
        ("OM3", "blocked", "none", ""),
        ("OM4", "blocked", "none", ""),
        ("OM5", "blocked", "none", ""),
        ("OM9", "blocked", "none", ""),
    ]
    assert logged[0].case_refs == ["R3"] and logged[0].email == "om3@evilpolice.example"
    assert logged[0].relay_reply == "domain not allowed (evilpolice.example)"

    # The supervisor learns whose cases have no reachable offender manager.
    team_run = queue_digests(engine, cfg(), "team", AS_OF)
    assert team_run.queued == 1
    team_row = next(r for r in outbox_rows(engine) if r.kind == "team")
    text, html = bodies(parsed(team_row))
    unmailable = text.split("CANNOT BE MAILED")[1].split("OVERDUE HOME VISITS")[0]
    assert "OM9: not in the officer directory; holds 1 case; needing action: R9" in unmailable
    assert "OM3: domain not allowed (evilpolice.example)" in unmailable
    assert "OM4: inactive" in unmailable
    assert "OM1" not in unmailable
    assert "not in the officer directory" in html


def test_header_injection_from_data_never_reaches_a_header(engine: Engine, cfg: Callable[..., Config]) -> None:
    evil_team = "T1\r\nBcc: x@evil.example"
    with transaction(engine) as s:
        add_officer(s, "OM1", team=evil_team)
        add_officer(s, "DS1", team=evil_team, role="supervisor")
        person(s, "R1\r\nBcc: x@evil.example", "very_high", 40, team=evil_team)
    run = queue_digests(engine, cfg(), "all", AS_OF)
    # The team code is in the team and escalation subjects: refused, reported, not queued.
    assert sorted((k, o) for k, o, _ in run.errors) == [("escalation", "DS1"), ("team", "DS1")]
    assert all("line break" in reason for _, _, reason in run.errors)
    assert not run.ok
    # The ref is only ever in bodies: the officer digest goes, with exactly one recipient.
    rows = outbox_rows(engine)
    assert [(r.kind, r.recipient) for r in rows] == [("officer", "OM1")]
    msg = parsed(rows[0])
    assert msg["Bcc"] is None and msg.get_all("To") == ["om1@police.example"]
    assert b"\r\nBcc:" not in rows[0].content.split(b"\r\n\r\n", 1)[0]


def test_markup_from_data_is_escaped_in_html_only(engine: Engine, cfg: Callable[..., Config], tmp_path: Path) -> None:
    ref = "<script>alert(1)</script>"
    team = "<b>T</b>"
    with transaction(engine) as s:
        add_officer(s, "OM1", team=team)
        add_officer(s, "DS1", team=team, role="supervisor")
        add_officer(s, "LEAD1", team="HQ", role="lead")
        person(s, ref, "very_high", 3, team=team)
    paths = preview_digests(engine, cfg(), "all", AS_OF, tmp_path / "preview")
    htmls = [p for p in paths if p.suffix == ".html"]
    assert {p.name.split("-")[0] for p in htmls} == {"officer", "team", "force", "escalation"}
    for path in htmls:
        html = path.read_text(encoding="utf-8")
        assert "<script>" not in html and "<b>T</b>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    for path in (p for p in paths if p.suffix == ".eml"):
        msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(msg, email.message.EmailMessage)
        text, _ = bodies(msg)
        assert ref in text  # plain text is not HTML: no entities
    team_eml = next(p for p in paths if p.name.startswith("team-") and p.suffix == ".eml")
    subject = email.message_from_bytes(team_eml.read_bytes(), policy=email.policy.default)["Subject"]
    assert "Team <b>T</b> backlog" in subject


def test_preview_sends_and_logs_nothing(engine: Engine, cfg: Callable[..., Config], tmp_path: Path) -> None:
    with transaction(engine) as s:
        staff(s)
        add_officer(s, "OM3", email="om3@elsewhere.example")
        person(s, "R1", "high", 10)
        person(s, "R3", "high", 10, om="OM3")
    paths = preview_digests(engine, cfg(), "officer", AS_OF, tmp_path / "out")
    assert sorted(p.name for p in paths) == ["officer-OM1-2026-W48.eml", "officer-OM1-2026-W48.html"]
    with reading(engine) as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 0
        assert s.scalar(select(func.count()).select_from(Disclosure)) == 0
    assert not (tmp_path / "var").exists()


def _visible_text(path: Path) -> str:
    """Headers and decoded bodies of a preview file (.eml) or the file's text; no random tokens."""
    if path.suffix != ".eml":
        return path.read_text(encoding="utf-8")
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    # Message-ID and the MIME boundary (in Content-Type) are random digits: "1970" turns up.
    parts = [f"{k}: {v}" for k, v in message.items() if k.lower() not in ("message-id", "content-type")]
    for part in message.walk():
        if not part.is_multipart():
            parts.append(part.get_content() if part.get_content_maintype() == "text" else "")
    return "\n".join(parts)


def test_no_names_unless_policy_allows(engine: Engine, cfg: Callable[..., Config], tmp_path: Path) -> None:
    with transaction(engine) as s:
        staff(s)
        add_officer(s, "LEAD1", team="HQ", role="lead")
        person(s, "R1", "very_high", 5, surname="Fakename", forenames="Testy", date_of_birth=date(1970, 1, 2))
    hidden = preview_digests(engine, cfg(), "all", AS_OF, tmp_path / "hidden")
    for path in hidden:
        # Parsed, not raw: a MIME boundary is random digits and may well contain "1970".
        content = _visible_text(path)
        assert "Fakename" not in content and "Testy" not in content and "1970" not in content
    shown = preview_digests(engine, cfg(policy={"include_names": True}), "officer", AS_OF, tmp_path / "shown")
    html = next(p for p in shown if p.suffix == ".html").read_text(encoding="utf-8")
    assert "Fakename, Testy; born 02 Jan 1970" in html


def test_one_scan_for_all_kinds(engine: Engine, cfg: Callable[..., Config], monkeypatch: pytest.MonkeyPatch) -> None:
    with transaction(engine) as s:
        staff(s, oms=("OM1", "OM2"))
        staff(s, team="T2", oms=("OM3",))
        add_officer(s, "LEAD1", team="HQ", role="lead")
        person(s, "R1", "very_high", 5)
        person(s, "R2", "high", 50, om="OM2")
        person(s, "R3", "low", 3, om="OM3", team="T2")
    calls: list[Any] = []
    real = monitor.rules.scan.scan

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append((args[2:], kwargs))
        return real(*args, **kwargs)

    monkeypatch.setattr(monitor.rules.scan, "scan", counting)
    run = queue_digests(engine, cfg(), "all", AS_OF)
    assert len(calls) == 1 and calls[0][1].keys() == {"keep"}  # whole force, no team/officer filter
    # officer x3, team x2, force x1, escalation x1 (T1: very high; T2 has nothing over 28 days)
    assert run.queued == 7
    assert sorted((r.kind, r.recipient) for r in outbox_rows(engine)) == [
        ("escalation", "DS-T1"),
        ("force", "LEAD1"),
        ("officer", "OM1"),
        ("officer", "OM2"),
        ("officer", "OM3"),
        ("team", "DS-T1"),
        ("team", "DS-T2"),
    ]


def test_team_digest_change_since_last_week(engine: Engine, cfg: Callable[..., Config]) -> None:
    with transaction(engine) as s:
        staff(s)
        person(s, "R1", "high", 10)
        person(s, "R2", "low", 3)
    config = cfg()
    with reading(engine) as s:
        plans = build_plans(s, config, ["team"], AS_OF)
    ctx = plans.plans[0].context
    assert ctx.kind == "team" and ctx.change is None  # type: ignore[union-attr]
    assert "Change since last week: no snapshot yet" in render_digest(ctx, config).text

    with transaction(engine) as s:
        for risk, n in (("high", 4), ("low", 1), ("medium", 0), ("very_high", 0)):
            s.add(
                BacklogSnapshot(
                    taken_on=AS_OF - timedelta(days=7),
                    team="T1",
                    risk_level=risk,
                    overdue_visits=n,
                    created_at=datetime(2026, 11, 19, 6, tzinfo=UTC),
                )
            )
    with reading(engine) as s:
        ctx = build_plans(s, config, ["team"], AS_OF).plans[0].context
    text = render_digest(ctx, config).text
    assert "Change since last week: 2 overdue visits now, 5 on 19 Nov 2026 (-3)" in text
    assert "Most overdue visit: R1, 10 days overdue (High risk)" in text


def test_force_digest_teams_side_by_side(engine: Engine, cfg: Callable[..., Config]) -> None:
    with transaction(engine) as s:
        staff(s, team="T1", oms=("OM1",))
        staff(s, team="T2", oms=("OM2",))
        add_officer(s, "LEAD1", team="HQ", role="lead")
        for n in range(3):
            person(s, f"A{n}", "high", 5 + n)
        person(s, "B1", "low", 200, om="OM2", team="T2")
        person(s, "B2", "low", None, om="OM2", team="T2")
    config = cfg()
    with reading(engine) as s:
        plans = build_plans(s, config, ["force"], AS_OF)
    [plan] = plans.plans
    ctx: Any = plan.context
    assert [(t.team, t.caseload, t.overdue_visits, t.most_overdue_days) for t in ctx.teams] == [
        ("T1", 3, 3, 7),
        ("T2", 2, 1, 200),
    ]
    assert (ctx.totals.caseload, ctx.totals.overdue_visits) == (5, 4)
    assert [t.team for t in ctx.worst_by_count] == ["T1", "T2"]
    assert [t.team for t in ctx.worst_by_age] == ["T2", "T1"]
    text = render_digest(ctx, config).text
    assert "By most overdue visit: T2 (200 days, B1), T1 (7 days, A2)" in text
    assert "Weekly:  7 weeks ago: no snapshot;" in text and "now: 4" in text


def test_force_digest_lists_the_worst_cases_and_counts_the_rest(engine: Engine, cfg: Callable[..., Config]) -> None:
    """National size: listing every overdue visit made the force digest 9 MB at 100,000
    people (27 MB at 300,000), which Graph (4 MB) and Exchange Online (25 MB) refuse. The
    force digest lists the worst ``digest.force_list_limit`` of each list, says how many
    more there are and where; the summary, the team tables and each team's digest keep all."""
    with transaction(engine) as s:
        staff(s, team="T1", oms=("OM1",))
        add_officer(s, "LEAD1", team="HQ", role="lead")
        person(s, "VH", "very_high", 2)
        for n in range(4):
            person(s, f"L{n}", "low", 10 + n)
        for n in range(3):
            add_offender(s, f"M{n}", risk_level="medium", status="missing", status_since=AS_OF - timedelta(days=5 + n))
    capped = cfg(digest={"force_list_limit": 2})
    with reading(engine) as s:
        [plan] = build_plans(s, capped, ["force"], AS_OF).plans
        [team] = build_plans(s, capped, ["team"], AS_OF).plans
    ctx: Any = plan.context
    assert [i.ref for i in ctx.overdue_visits] == ["VH", "L3"]  # contract order: risk, then most overdue
    assert [u.ref for u in ctx.whereabouts_unknown] == ["M2", "M1"]
    assert (ctx.overdue_visits_total, ctx.whereabouts_unknown_total) == (5, 3)
    assert sorted(ctx.case_refs) == ["L3", "M1", "M2", "VH"]  # the disclosure log: what was listed
    rendered = render_digest(ctx, capped)
    assert "OVERDUE HOME VISITS: the worst 2 of 5" in rendered.text
    assert "Not listed here: 3 more overdue visits, each in their team's digest" in rendered.text
    assert "WHEREABOUTS UNKNOWN (the first 2 of 3, highest risk first)" in rendered.text
    assert "Not listed here: 1 more person, each in their team's digest" in rendered.text
    assert "L0" not in rendered.text and "L0" not in rendered.html
    assert "Overdue home visits: the worst 2 of 5" in rendered.html
    assert "Overdue home visits (backlog): 5" in rendered.text  # the summary counts them all
    team_ctx: Any = team.context
    assert {i.ref for i in team_ctx.overdue_visits} == {"VH", "L0", "L1", "L2", "L3"}  # nothing lost

    with reading(engine) as s:
        [plan] = build_plans(s, cfg(), ["force"], AS_OF).plans
    full = render_digest(plan.context, cfg())
    assert "ALL OVERDUE HOME VISITS, worst first (5)" in full.text and "WHEREABOUTS UNKNOWN (3)" in full.text
    assert "Not listed here" not in full.text and "Not listed here" not in full.html
    assert all(ref in full.text for ref in ("L0", "L1", "M0"))


def test_missing_supervisor_or_lead_is_reported(engine: Engine, cfg: Callable[..., Config]) -> None:
    with transaction(engine) as s:
        add_officer(s, "OM1")
        add_officer(s, "DS-old", role="supervisor", active=False)
        person(s, "R1", "very_high", 2)
    run = queue_digests(engine, cfg(), "all", AS_OF)
    assert sorted(run.no_recipient) == [
        ("escalation", "T1", "T1 has no active supervisor in the directory"),
        ("force", "force", "no mailable force lead in the directory"),
        ("team", "T1", "T1 has no active supervisor in the directory"),
    ]
    # No lead to re-route to either: all three are unroutable, and the run says so (issue 8).
    assert len(run.unroutable) == 3 and not run.ok
    assert run.queued == 1  # the officer digest still goes


def test_digest_run_counts_shape() -> None:
    run = DigestRun(as_of=AS_OF, kinds=("officer",))
    assert run.ok and run.counts()["queued"] == 0


# --------------------------------------------------------------------------- the command


def _invoke(args: list[str], db_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    from monitor.cli.app import cli

    monkeypatch.setenv("MONITOR_DATABASE_URL", db_url)
    return CliRunner().invoke(cli, args, catch_exceptions=False)


def test_digest_command_queues_delivers_and_reports(
    engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with transaction(engine) as s:
        staff(s)
        add_officer(s, "OM3", email="om3@evilpolice.example")
        person(s, "R1", "high", 400)
        person(s, "R3", "high", 10, om="OM3")
    result = _invoke(["digest", "--as-of", "2026-11-26", "--kind", "officer"], db_url, monkeypatch)
    assert result.exit_code == 0, result.output
    assert "queued 1, already queued 0" in result.output
    assert "blocked: officer digest for OM3: domain not allowed (evilpolice.example)" in result.output
    assert "Delivery: sent 1, pending 0, failed 0, blocked 0" in result.output
    assert len(list((tmp_path / "var" / "outbox").rglob("*.eml"))) == 1

    again = _invoke(["digest", "--as-of", "26/11/2026", "--kind", "officer"], db_url, monkeypatch)
    assert again.exit_code == 0 and "queued 0, already queued 1" in again.output


def test_digest_command_preview_sends_nothing(
    engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with transaction(engine) as s:
        staff(s)
        person(s, "R1", "high", 10)
    result = _invoke(["digest", "--as-of", "2026-11-26", "--preview", str(tmp_path / "pv")], db_url, monkeypatch)
    assert result.exit_code == 0, result.output
    assert "nothing sent" in result.output
    assert sorted(p.name for p in (tmp_path / "pv").iterdir()) == [
        "officer-OM1-2026-W48.eml",
        "officer-OM1-2026-W48.html",
        "team-DS-T1-2026-W48.eml",
        "team-DS-T1-2026-W48.html",
    ]
    assert outbox_rows(engine) == []


def test_digest_command_exit_codes(engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    bad_date = _invoke(["digest", "--as-of", "2026-13-01"], db_url, monkeypatch)
    assert bad_date.exit_code == 2
    with transaction(engine) as s:
        add_officer(s, "DS1", team="T1\nBcc: x@evil.example", role="supervisor")
        person(s, "R1", "high", 10, team="T1\nBcc: x@evil.example")
    failed = _invoke(["digest", "--as-of", "2026-11-26", "--kind", "team"], db_url, monkeypatch)
    assert failed.exit_code == 1
    assert "could not be built" in failed.output


@freeze_time("2026-06-28 23:30:00")
def test_digest_command_default_as_of_is_london_today(
    engine: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with transaction(engine) as s:
        staff(s)
        add_offender(s, "R1", risk_level="high", risk_assessed_on=date(2026, 6, 1), last_notified_on=date(2026, 6, 1))
        add_visit(s, "V1", "R1", date(2026, 3, 1))
    result = _invoke(["digest", "--kind", "officer"], db_url, monkeypatch)
    assert result.exit_code == 0, result.output
    assert "Digests for 2026-06-29" in result.output
    assert [r.period for r in outbox_rows(engine)] == ["2026-W27"]


def test_queueing_in_chunks_survives_a_failure_between_chunks(
    engine: Engine, cfg: Callable[..., Config], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Messages are rendered and queued a chunk at a time; a crash midway loses nothing."""
    import monitor.digests.queue as digest_module

    config = cfg()
    oms = tuple(f"OM{i}" for i in range(1, 6))
    with transaction(engine) as s:
        staff(s, oms=oms)
        for i, om in enumerate(oms):
            person(s, f"R{i}", "high", 5 + i, om=om)
    monkeypatch.setattr(digest_module, "QUEUE_CHUNK", 2)

    real_build = digest_module.build_digest_message
    built: list[str] = []

    def failing_build(context: Any, config: Config) -> Any:
        if len(built) == 3:  # the second chunk's second message
            raise RuntimeError("renderer crashed")
        built.append(context.recipient.officer_id)
        return real_build(context, config)

    monkeypatch.setattr(digest_module, "build_digest_message", failing_build)
    with pytest.raises(RuntimeError):
        queue_digests(engine, config, "officer", AS_OF)
    assert len(outbox_rows(engine)) == 2  # the first chunk was committed, the second not

    monkeypatch.setattr(digest_module, "build_digest_message", real_build)
    run = queue_digests(engine, config, "officer", AS_OF)
    assert (run.queued, run.already_queued) == (3, 2)
    assert sorted(r.recipient for r in outbox_rows(engine)) == sorted(oms)


def test_kept_templates_come_back_and_extra_globals_still_apply() -> None:
    """The environments keep each template they load in a dictionary
    (monitor.reports.render._Environment): the same object comes back for a name or for
    itself, in both environments, and a lookup with extra globals still gives a template
    that sees them, without adding them to the environment (it goes Jinja's own way)."""
    from monitor.reports.render import html_environment, text_environment

    for env in (html_environment(), text_environment()):
        first = env.get_template("email/officer.txt")
        assert env.get_template("email/officer.txt") is first
        assert env.get_template(first) is first
    probe = html_environment().get_template("partials/email_footer.html", globals={"probe_global": 1})
    assert probe.globals["probe_global"] == 1
    assert "probe_global" not in html_environment().globals
