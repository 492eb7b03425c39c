"""``visit-monitor outbox list|requeue``: look at the outbox, and re-queue dead letters.

``list`` shows outbox rows (metadata only, never a body), dead letters by default.
``requeue`` puts chosen dead letters (``failed``, or with ``--status blocked`` messages
the allow-list refused) back to pending with their attempts reset, so the next
``deliver`` sends the same stored message with the same Message-ID. It needs an explicit
choice (``--id``, ``--kind``, ``--since`` or ``--all``) and records who did it, when and
what, in the log and in ``outbox_requeues`` (see :mod:`monitor.mail.dead_letters`).
Exit codes: 0 done, 1 a chosen message could not be re-queued (body erased), 2 bad usage.
"""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import TYPE_CHECKING

import click

from monitor.cli.app import EXIT_FAILURE, EXIT_USAGE, fail, get_app

if TYPE_CHECKING:
    from monitor.core.config import Config
    from monitor.mail.dead_letters import Selection

KINDS = ("officer", "team", "force", "escalation")
LIST_STATUSES = ("dead", "failed", "blocked", "pending", "sending", "sent", "all")


def _since(config: Config, text: str | None) -> datetime | None:
    """Midnight at the start of ``text`` (YYYY-MM-DD or DD/MM/YYYY) in the configured timezone."""
    if not text:
        return None
    from monitor.core.clock import parse_date

    try:
        day = parse_date(text, config.tz)
    except ValueError as exc:
        raise fail(f"--since: {exc}", EXIT_USAGE) from None
    return datetime.combine(day, time(0), tzinfo=config.tz).astimezone(UTC)


def _selection(config: Config, status: str, ids: tuple[int, ...], kind: str | None, since: str | None) -> Selection:
    from monitor.mail.dead_letters import STATUS_ALIASES, Selection

    return Selection(statuses=STATUS_ALIASES[status], ids=ids, kind=kind, since=_since(config, since))


@click.group("outbox")
def command() -> None:
    """List outbox messages; re-queue dead letters."""


@command.command("list")
@click.option(
    "--status",
    type=click.Choice(LIST_STATUSES),
    default="dead",
    show_default=True,
    help="Which messages: dead letters (failed), or by status, or all.",
)
@click.option("--id", "ids", type=int, multiple=True, metavar="N", help="Only this outbox id (repeatable).")
@click.option("--kind", type=click.Choice(KINDS), help="Only this kind of digest.")
@click.option("--since", metavar="DATE", help="Only messages queued on or after DATE.")
@click.option(
    "--limit",
    type=click.IntRange(1, 100_000),
    default=500,
    show_default=True,
    help="Show at most this many, in outbox id order.",
)
@click.pass_context
def list_(
    ctx: click.Context, status: str, ids: tuple[int, ...], kind: str | None, since: str | None, limit: int
) -> None:
    """Show outbox messages (dead letters unless --status says otherwise)."""
    from monitor.mail.dead_letters import list_messages

    app = get_app(ctx)
    rows, total = list_messages(app.engine(), _selection(app.config, status, ids, kind, since), limit)
    click.echo(
        f"{'id':>6}  {'kind':<10}  {'recipient':<12}  {'period':<12}  {'status':<8}  tries  queued (UTC)      why"
    )
    for r in rows:
        why = r.last_error or ""
        if r.routed_because:
            why = f"re-routed: {r.routed_because}" + (f"; {why}" if why else "")
        click.echo(
            f"{r.id:>6}  {r.kind:<10}  {r.recipient:<12}  {r.period:<12}  {r.status:<8}  {r.attempts:>5}  "
            f"{r.created_at:%Y-%m-%d %H:%M}  {why[:160]}"
        )
    more = f" (showing {len(rows)}: use --limit)" if total > len(rows) else ""
    click.echo(f"{total} message(s){more}.")


@command.command("requeue")
@click.option("--id", "ids", type=int, multiple=True, metavar="N", help="Re-queue this outbox id (repeatable).")
@click.option("--kind", type=click.Choice(KINDS), help="Re-queue dead letters of this kind.")
@click.option("--since", metavar="DATE", help="Re-queue dead letters queued on or after DATE.")
@click.option("--all", "everything", is_flag=True, help="Re-queue every dead letter.")
@click.option(
    "--status",
    type=click.Choice(("failed", "blocked")),
    default="failed",
    show_default=True,
    help="Dead letters (failed), or messages the allow-list blocked (checked again when sent).",
)
@click.option("--note", metavar="TEXT", help="Why, for the audit record (e.g. a ticket number).")
@click.pass_context
def requeue(
    ctx: click.Context,
    ids: tuple[int, ...],
    kind: str | None,
    since: str | None,
    everything: bool,
    status: str,
    note: str | None,
) -> None:
    """Put dead letters back in the queue; `deliver` then sends them (same Message-ID)."""
    if not (ids or kind or since or everything):
        raise fail("choose what to re-queue: --id N, --kind KIND, --since DATE, or --all", EXIT_USAGE)
    from monitor.core.clock import now_utc
    from monitor.mail.dead_letters import operator_name
    from monitor.mail.dead_letters import requeue as do_requeue

    app = get_app(ctx)
    selection = _selection(app.config, status, ids, kind, since)
    operator = operator_name()
    result = do_requeue(app.engine(), selection, operator=operator, now=now_utc(), note=note)
    click.echo(f"re-queued {len(result.requeued)} message(s) as {operator}; `visit-monitor deliver` sends them now.")
    for outbox_id in result.requeued:
        click.echo(f"  outbox {outbox_id}: pending")
    for outbox_id, why in result.refused:
        click.echo(f"  outbox {outbox_id}: not re-queued: {why}")
    if result.refused:
        raise fail(f"{len(result.refused)} message(s) could not be re-queued", EXIT_FAILURE)
