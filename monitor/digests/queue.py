"""Queueing digests: build, render and put each message in the outbox, exactly once.

The outbox key (kind, recipient, period) makes a run idempotent: messages already queued
for their period are skipped before rendering, and a re-run after a crash queues exactly
the rest. Recipients the allow-list refuses are not queued but logged as ``blocked``
disclosures. A digest with no mailable recipient of its own is queued to the force
lead(s) (``unrouted``); one that nobody may receive is logged as an ``unrouted``
disclosure and makes the run fail (``unroutable``). Sending is a separate step
(``monitor.mail.delivery``) that reads the outbox.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from email.message import EmailMessage
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.core.clock import now_utc
from monitor.core.gcpause import frozen_gc
from monitor.digests.build import build_plans
from monitor.digests.contexts import kinds_for
from monitor.digests.plans import Plan
from monitor.digests.render import build_digest_message
from monitor.digests.routing import Unroutable
from monitor.mail import outbox
from monitor.register.db import reading, transaction
from monitor.register.models import OutboxMessage
from monitor.reports import case_rows

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from monitor.core.config import Config

log = logging.getLogger("monitor.digests.queue")


@dataclass
class QueuedMessage:
    kind: str
    recipient: str
    period: str
    message_id: str
    case_count: int


@dataclass
class DigestRun:
    """What one ``queue_digests`` call did. ``ok`` is False when a message could not be
    built or a digest could be routed to nobody; blocked recipients are reported (and
    logged as disclosures) but are the allow-list doing its job, not a failure of the
    run, and re-routed digests (``unrouted``) reached a force lead."""

    as_of: date
    kinds: tuple[str, ...]
    queued: int = 0
    already_queued: int = 0
    skipped_empty: int = 0
    blocked: list[tuple[str, str]] = field(default_factory=list)  # (officer_id, reason)
    blocked_detail: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, officer_id, reason)
    no_recipient: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, scope, reason)
    unrouted: list[tuple[str, str, list[str], str]] = field(default_factory=list)  # (kind, scope, leads, reason)
    unroutable: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, scope, reason)
    errors: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, officer_id, reason)
    messages: list[QueuedMessage] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and not self.unroutable

    def counts(self) -> dict[str, int]:
        return {
            "queued": self.queued,
            "already_queued": self.already_queued,
            "skipped_empty": self.skipped_empty,
            "blocked": len(self.blocked_detail),
            "no_recipient": len(self.no_recipient),
            "unrouted": len(self.unrouted) + len(self.unroutable),
            "unroutable": len(self.unroutable),
            "errors": len(self.errors),
        }


def _existing_keys(session: Session, periods: Iterable[str]) -> set[tuple[str, str, str]]:
    """(kind, recipient, period) of what is already queued for ``periods`` (outbox periods)."""
    stmt = select(OutboxMessage.kind, OutboxMessage.recipient, OutboxMessage.period).where(
        OutboxMessage.period.in_(sorted(set(periods)))
    )
    return {(k, r, p) for k, r, p in session.execute(stmt)}


#: Messages rendered and queued per transaction by queue_digests.
QUEUE_CHUNK = 200


def _record_blocked(session: Session, run: DigestRun, plan: Plan, now: datetime) -> None:
    """A recipient the allow-list refuses: not queued, but logged as a disclosure attempt."""
    ctx = plan.context
    reason = plan.problem or "blocked"
    outbox.record_disclosure(
        session,
        kind=ctx.kind,
        recipient=ctx.recipient.officer_id,
        email=plan.officer.email if plan.officer is not None else "",
        case_refs=ctx.case_refs,
        message_id="",
        transport="none",
        outcome="blocked",
        relay_reply=reason,
        at=now,
    )
    run.blocked_detail.append((ctx.kind, ctx.recipient.officer_id, reason))
    if (ctx.recipient.officer_id, reason) not in run.blocked:
        run.blocked.append((ctx.recipient.officer_id, reason))


def _record_unroutable(session: Session, run: DigestRun, lost: Unroutable, now: datetime) -> None:
    """A digest nobody may receive: logged loudly, as an ``unrouted`` disclosure row."""
    outbox.record_disclosure(
        session,
        kind=lost.kind,
        recipient="",
        email="",
        case_refs=lost.case_refs,
        message_id="",
        transport="none",
        outcome="unrouted",
        relay_reply=f"unrouted: {lost.reason}",
        at=now,
    )
    run.unroutable.append((lost.kind, lost.scope, lost.reason))
    log.error("%s digest for %s could not be routed to anyone: %s", lost.kind, lost.scope, lost.reason)


def _enqueue(session: Session, run: DigestRun, plan: Plan, message: EmailMessage, now: datetime) -> None:
    ctx = plan.context
    row = outbox.enqueue(
        session,
        kind=ctx.kind,
        recipient=ctx.recipient.officer_id,
        email=ctx.recipient.email,
        period=plan.period,
        message=message,
        case_refs=ctx.case_refs,
        now=now,
        routed_because=ctx.routed_because or None,
    )
    if row is None:  # another process queued it since we looked
        run.already_queued += 1
        return
    run.queued += 1
    run.messages.append(
        QueuedMessage(ctx.kind, ctx.recipient.officer_id, plan.period, str(message["Message-ID"]), len(ctx.case_refs))
    )


def queue_digests(engine: Engine, config: Config, kind: str, as_of: date) -> DigestRun:
    """Compute, render and queue the ``kind`` digests (or ``all``) for ``as_of``.

    One scan for the whole force; messages already queued for their period are skipped
    before rendering; blocked recipients are not queued but logged as ``blocked``
    disclosures. Rendering happens outside any write transaction, QUEUE_CHUNK at a time.
    """
    kinds = kinds_for(kind)
    run = DigestRun(as_of=as_of, kinds=kinds)
    with reading(engine) as session:
        plans = build_plans(session, config, kinds, as_of)
        existing = _existing_keys(session, {plan.period for plan in plans.plans})
    run.skipped_empty = plans.skipped_empty
    run.no_recipient = list(plans.no_recipient)
    run.unrouted = list(plans.unrouted)
    for kind_name, scope, leads, reason in run.unrouted:
        log.warning("%s digest for %s re-routed to force lead(s) %s: %s", kind_name, scope, ", ".join(leads), reason)

    to_block = [p for p in plans.plans if p.key not in existing and p.problem is not None]
    to_render = [p for p in plans.plans if p.key not in existing and p.problem is None]
    run.already_queued += len(plans.plans) - len(to_block) - len(to_render)

    now = now_utc()
    if to_block or plans.unroutable:
        with transaction(engine) as session:
            for plan in to_block:
                _record_blocked(session, run, plan, now)
            for lost in plans.unroutable:
                _record_unroutable(session, run, lost, now)
    # Render and queue in chunks: memory stays bounded at national scale, and the write
    # lock (SQLite) is held only while a chunk is inserted, never while rendering. A crash
    # between chunks is harmless: the (kind, recipient, period) key makes a re-run queue
    # exactly the rest.
    with frozen_gc(), case_rows.reuse_for_the_run():  # the plans stay alive throughout: see core.gcpause
        for start in range(0, len(to_render), QUEUE_CHUNK):
            rendered: list[tuple[Plan, EmailMessage]] = []
            for plan in to_render[start : start + QUEUE_CHUNK]:
                try:
                    message, _ = build_digest_message(plan.context, config)
                except ValueError as exc:
                    run.errors.append((plan.context.kind, plan.context.recipient.officer_id, str(exc)))
                    continue
                rendered.append((plan, message))
            with transaction(engine) as session:
                for plan, message in rendered:
                    _enqueue(session, run, plan, message, now)
    return run
